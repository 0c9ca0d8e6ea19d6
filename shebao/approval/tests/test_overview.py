"""The ministry's overview: every area's approval status and figures, and the
national totals summed from the per-area figures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shebao.approval import selectors, services
from shebao.approval.testing import prepared_application
from shebao.cards.models import CardState
from shebao.cards.testing import make_card
from shebao.contributions.models import Bill, Payment, PaymentAllocation
from shebao.core.errors import Forbidden
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


def persons(area, count, *, division, first=1):
    return [
        Person.objects.create(
            area=area,
            id_number=make_identity_number(division, dt.date(1980, 1, 1), sequence),
            name=f"参保人{sequence}",
            birth_date=dt.date(1980, 1, 1),
            sex="M" if sequence % 2 else "F",
            registered_on=dt.date(2020, 1, 1),
        )
        for sequence in range(first, first + count)
    ]


def bill(area, employer, *, cents, due_days_ago, paid_cents=0, actor):
    today = timezone.localdate()
    row = Bill.objects.create(
        area=area,
        employer=employer,
        period=today.replace(day=1) - dt.timedelta(days=31 * due_days_ago // 30 + 1),
        kind="declared",
        employer_cents=cents * 2 // 3,
        individual_cents=cents - cents * 2 // 3,
        due_on=today - dt.timedelta(days=due_days_ago),
        created_at=timezone.now(),
    )
    if paid_cents:
        payment = Payment.objects.create(
            area=area,
            employer=employer,
            bank_reference=f"REF{row.pk}",
            amount_cents=paid_cents,
            paid_on=row.due_on - dt.timedelta(days=1),
            source="counter",
            created_by=actor,
            created_at=timezone.now(),
        )
        PaymentAllocation.objects.create(
            area=area, payment=payment, bill=row, principal_cents=paid_cents
        )
    return row


@pytest.fixture
def two_areas(ready_area, other_area, area_admin, owner, employer, ministry):
    """Nanjing: approved through the workflow, 3 insured persons (one deceased
    besides), 2 cards held, 1 card in production; an employer owing 10,000.00 of a
    15,000.00 bill overdue and 900.00 not yet due. Beijing: 1 person, nothing else."""
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    services.application_approve(actor=ministry, application=application, issuer_id="320100A1")
    people = persons(ready_area, 4, division="320106")
    Person.objects.filter(pk=people[3].pk).update(status="deceased")
    make_card(people[0], CardState.ACTIVE, submitted_by=owner)
    make_card(people[1], CardState.ISSUED, submitted_by=owner)
    make_card(people[2], CardState.IN_PRODUCTION, submitted_by=owner)
    make_card(
        people[3],
        CardState.ACTIVE,
        submitted_by=owner,
        valid_to=timezone.localdate() - dt.timedelta(days=1),
    )  # expired: no longer held
    bill(ready_area, employer, cents=1_500_000, due_days_ago=20, paid_cents=500_000, actor=owner)
    bill(ready_area, employer, cents=90_000, due_days_ago=-5, actor=owner)
    persons(other_area, 1, division="110105")
    return ready_area, other_area


def test_it_shows_each_area_and_the_national_totals(two_areas, ministry):
    overview = selectors.ministry_overview(ministry)
    rows = {row.area.code: row for row in overview.areas}
    assert rows["320100"].area.status == "approved" and not rows["320100"].reapproval_required
    assert rows["320100"].conditions_met == rows["320100"].conditions_total > 0
    assert rows["320100"].cards_held == 2
    assert rows["320100"].persons == 3
    assert rows["320100"].arrears_cents == 1_000_000
    assert rows["320100"].arrears_employers == 1
    assert rows["110100"].application is None
    assert (rows["110100"].conditions_met, rows["110100"].conditions_total) == (0, 0)
    assert rows["110100"].persons == 1 and rows["110100"].arrears_cents == 0
    assert overview.totals == {
        "cards_held": 2,
        "persons": 4,
        "arrears_cents": 1_000_000,
        "arrears_employers": 1,
        "areas": 2,
        "approved": 1,
    }


def test_re_approval_required_shows(two_areas, ministry, area_admin):
    nanjing, _ = two_areas
    services.area_change_card_face(actor=area_admin, area=nanjing, name="f.pdf", data=b"v2")
    row = selectors.area_figures(nanjing, timezone.localdate())
    assert row.reapproval_required
    assert selectors.ministry_overview(ministry).totals["approved"] == 0


def test_each_query_reads_one_area(two_areas, ministry):
    """As if each area lived on its own shard: no query spans areas."""
    with CaptureQueriesContext(connection) as queries:
        selectors.ministry_overview(ministry)
    figures = [
        q["sql"]
        for q in queries.captured_queries
        if any(
            table in q["sql"]
            for table in ('"cards_card"', '"registry_person"', '"contributions_bill"')
        )
    ]
    assert figures
    for sql in figures:
        assert ("'320100'" in sql) != ("'110100'" in sql), sql


def test_only_the_ministry_sees_the_overview(area_admin):
    with pytest.raises(Forbidden):
        selectors.ministry_overview(area_admin)
