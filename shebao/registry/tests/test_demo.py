"""The demo area: realistic, valid by the same validators, loaded once."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.audit.services import audit_verify
from shebao.registry.demo import demo_build
from shebao.registry.identifiers import normalize_credit_code, parse_identity_number
from shebao.registry.models import Employer, Employment, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(capsys):
    call_command("demo", "--persons", "300", "--employers", "20", "--seed", "5")
    return capsys.readouterr().out


def test_it_builds_valid_people_employers_and_employments(demo):
    assert "300 persons" in demo
    persons = list(Person.objects.all())
    assert len(persons) == 300
    for person in persons:
        identity = parse_identity_number(person.id_number)
        assert (identity.birth_date, identity.sex) == (person.birth_date, person.sex)
        assert 2 <= len(person.name) <= 3
    for employer in Employer.objects.all():
        assert normalize_credit_code(employer.credit_code) == employer.credit_code
    employments = Employment.objects.all()
    assert employments.count() >= 300
    assert all(e.end_date is None or e.end_date >= e.start_date for e in employments)
    assert employments.filter(end_date__isnull=True).exists()


def test_it_creates_one_user_per_role(demo):
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.get(username="employer").employer_id is not None
    assert User.objects.get(username="person").person_id is not None


def test_the_load_is_audited_and_the_chain_holds(demo):
    event = AuditEvent.objects.get(action="demo.load")
    assert event.after == {
        "persons": 300,
        "employers": 20,
        "employments": Employment.objects.count(),
        "seed": 5,
    }
    assert audit_verify()[1] == []


def test_it_loads_once(demo, capsys):
    call_command("demo", "--if-empty")
    assert "already loaded" in capsys.readouterr().out
    assert Person.objects.count() == 300
    with pytest.raises(CommandError):
        call_command("demo")


def test_the_same_seed_gives_the_same_area():
    def build():
        with transaction.atomic():
            demo_build(persons=200, employers=10, seed=9, progress=False)
            numbers = sorted(Person.objects.values_list("id_number", flat=True))
            transaction.set_rollback(True)
        return numbers

    assert build() == build()


def test_it_prints_the_logins(demo, capsys):
    call_command("demo", "--logins")
    out = capsys.readouterr().out
    assert "registrar" in out and "shebao-demo-2026" in out


def test_the_demo_area_is_approved_and_its_people_hold_cards(demo):
    from shebao.cards.models import Card, CardState
    from shebao.registry.models import Area

    area = Area.objects.get()
    assert area.status == "approved" and area.issuer_id
    holder = User.objects.get(username="person")
    assert holder.person_id is not None
    assert Card.objects.filter(person_id=holder.person_id, state=CardState.ACTIVE).exists()
    assert Card.objects.filter(state=CardState.ACTIVE).count() > 150
    numbers = Card.objects.exclude(card_number=None).values_list("card_number", flat=True)
    assert all(len(n or "") == 9 for n in numbers)


def test_the_demo_area_has_bills_with_some_assessed(demo):
    from shebao.contributions.models import Bill, BillKind, BillLine, Policy

    assert Policy.objects.filter(area_id="320100").exists()
    assert Bill.objects.filter(area_id="320100", kind=BillKind.DECLARED).exists()
    assert Bill.objects.filter(area_id="320100", kind=BillKind.ASSESSED).exists()
    employer = User.objects.get(username="employer").employer_id or 0
    assert Bill.objects.filter(employer_id=employer).count() == 3  # the last three months
    assert BillLine.objects.filter(area_id="320100", employer_cents__gt=0).exists()
