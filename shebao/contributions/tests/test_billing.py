"""The monthly billing run, worked examples first (DOMAIN.md §3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.services import audit_verify
from shebao.contributions import billing, declarations
from shebao.contributions.models import Bill, BillLine, DeclarationLine
from shebao.contributions.rules import contribution_amount, contribution_base
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES, contribution_world
from shebao.core.errors import Forbidden, NotFound
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Employer, Employment, Person

pytestmark = pytest.mark.django_db
OCTOBER, NOVEMBER = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture
def officer(area):
    return user_create(
        actor=None,
        username="contrib",
        password="x",
        role=Role.CONTRIBUTIONS_OFFICER,
        area_code=area.code,
        check_password=False,
    )


@pytest.fixture
def policy(officer, area):
    return policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )


def declare(officer, employer, person, period, wage):
    return declarations.declaration_declare(
        actor=officer, employer=employer, person=person, period=period, wage=Decimal(wage)
    )


def owed(person, insurance, period=OCTOBER):
    lines = BillLine.objects.filter(person=person, insurance=insurance, period=period)
    return (sum(ln.employer_cents for ln in lines), sum(ln.individual_cents for ln in lines))


def test_a_base_of_9000_owes_720_and_1440_for_pension(officer, policy, area, employer, employment):
    declare(officer, employer, employment.person, OCTOBER, "9000")
    run = billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert owed(employment.person, "pension") == (144000, 72000)
    assert run.bills_created == 1 and run.lines_added == 5
    bill = Bill.objects.get()
    assert bill.due_on == dt.date(2026, 11, 15)
    assert bill.total == sum(
        Decimal(ln.employer_cents + ln.individual_cents) / 100 for ln in BillLine.objects.all()
    )


@pytest.mark.parametrize(("wage", "base"), [("3000", 480000), ("30000", 2400000), ("9000", 900000)])
def test_the_base_is_clamped_to_60_and_300_percent_of_8000(
    officer, policy, area, employer, employment, wage, base
):
    declare(officer, employer, employment.person, OCTOBER, wage)
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert {ln.base_cents for ln in BillLine.objects.all()} == {base}


def test_work_injury_follows_the_employers_risk_class(officer, policy, area, employer, employment):
    Employer.objects.filter(pk=employer.pk).update(industry_risk_class=8)
    declare(officer, employer, employment.person, OCTOBER, "10000")
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert owed(employment.person, "work_injury") == (19000, 0)  # 1.9% of 10,000


def test_a_second_run_adds_nothing(officer, policy, area, employer, employment):
    declare(officer, employer, employment.person, OCTOBER, "9000")
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    again = billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert (again.bills_created, again.lines_added) == (0, 0)
    assert BillLine.objects.count() == 5


def test_a_correction_is_billed_as_the_difference(officer, policy, area, employer, employment):
    line = declare(officer, employer, employment.person, OCTOBER, "9000")
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    declarations.declaration_correct(actor=officer, line=line, wage="10000", reason="补报")
    run = billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert run.lines_added == 5
    assert owed(employment.person, "pension") == (160000, 80000)
    assert Bill.objects.get().employer_cents == sum(
        ln.employer_cents for ln in BillLine.objects.all()
    )


def test_no_declaration_is_assessed_at_110_percent_then_settled(
    officer, policy, area, employer, employment
):
    declare(officer, employer, employment.person, OCTOBER, "20000")  # pension 3,200 + 1,600
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    billing.bill_run(actor=officer, area=area, period=NOVEMBER)
    november = Bill.objects.get(period=NOVEMBER)
    assert november.kind == "assessed"
    assert owed(employment.person, "pension", NOVEMBER) == (352000, 176000)  # 110%
    declare(officer, employer, employment.person, NOVEMBER, "20000")
    billing.bill_run(actor=officer, area=area, period=NOVEMBER)
    november.refresh_from_db()
    assert november.kind == "declared"
    assert owed(employment.person, "pension", NOVEMBER) == (320000, 160000)


def test_a_month_without_a_policy_is_refused(officer, area, employer):
    with pytest.raises(NotFound) as caught:
        billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert caught.value.code == "no_policy"


def test_only_contribution_staff_run_billing(owner, policy, area):
    with pytest.raises(Forbidden):
        billing.bill_run(actor=owner, area=area, period=OCTOBER)


def test_the_run_is_audited(officer, policy, area, employer, employment):
    declare(officer, employer, employment.person, OCTOBER, "9000")
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    assert audit_verify()[1] == []


class BillingNeverLosesACent(TestCase):
    """Whatever the wages and corrections, the lines of each person-insurance sum
    to what the rules give for the wage declared last, and bills equal their lines."""

    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=4),
        st.lists(st.integers(min_value=0, max_value=5_000_000), max_size=4),
    )
    def test_it(self, first, corrected):
        area, officer, employer = contribution_world(average_monthly_wage="8123.45")
        people = []
        for n, cents in enumerate(first):
            person = Person.objects.create(
                area=area,
                id_number=make_identity_number("110105", dt.date(1980, 1, 1), 11 + 2 * n),
                name="x",
                birth_date=dt.date(1980, 1, 1),
                sex="M",
                registered_on=dt.date(2000, 1, 1),
            )
            Employment.objects.create(
                area=area,
                person=person,
                employer=employer,
                start_date=dt.date(2020, 1, 1),
                registered_on=dt.date(2020, 1, 1),
            )
            declare(officer, employer, person, OCTOBER, Decimal(cents) / 100)
            people.append(person)
        billing.bill_run(actor=officer, area=area, period=OCTOBER)
        for person, cents in zip(people, corrected, strict=False):
            line = DeclarationLine.objects.get(
                person=person, kind="declared", reversal__isnull=True
            )
            if line.wage != Decimal(cents) / 100:
                declarations.declaration_correct(
                    actor=officer, line=line, wage=Decimal(cents) / 100, reason="x"
                )
        billing.bill_run(actor=officer, area=area, period=OCTOBER)
        for person in people:
            wage = DeclarationLine.objects.get(
                person=person, kind="declared", reversal__isnull=True
            ).wage
            base = contribution_base(own_average_wage=wage, area_average_wage=Decimal("8123.45"))
            expected = contribution_amount(base=base, rate=Decimal("0.08"))
            assert Decimal(owed(person, "pension")[1]) / 100 == expected
        bill = Bill.objects.get(employer=employer)
        lines = BillLine.objects.filter(bill=bill)
        assert bill.employer_cents == sum(ln.employer_cents for ln in lines)
        assert bill.individual_cents == sum(ln.individual_cents for ln in lines)


def test_the_command_bills_a_month(officer, policy, area, employer, employment, capsys):
    from django.core.management import CommandError, call_command

    declare(officer, employer, employment.person, OCTOBER, "9000")
    call_command("bill", "--area", area.code, "--period", "2026-10", "--as", "contrib")
    assert "1 new bills, 5 lines added" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("bill", "--area", area.code, "--period", "October", "--as", "contrib")


def test_the_back_office_shows_policies_to_contribution_staff(officer, policy, owner):
    from django.test import Client

    client = Client()
    client.force_login(officer)
    page = client.get(f"/admin/contributions/policy/{policy.pk}/change/")
    assert page.status_code == 200
    assert "基本养老保险" in page.content.decode()  # the rates are listed


def test_a_policy_is_loaded_from_a_file(officer, policy, area, tmp_path, capsys):
    import json

    from django.core.management import CommandError, call_command

    from shebao.contributions.management.commands.policy import EXAMPLE
    from shebao.contributions.services import policy_for

    path = tmp_path / "policy.json"
    path.write_text(EXAMPLE, encoding="utf-8")
    call_command("policy", "load", str(path), "--as", "contrib")
    assert policy_for(area.code, dt.date(2027, 3, 1)).average_monthly_wage == Decimal("11000")
    policy.refresh_from_db()
    assert policy.valid_to == dt.date(2027, 1, 1)
    broken = json.loads(EXAMPLE)
    del broken["rates"]["pension"]
    broken["valid_from"] = "2028-01-01"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(CommandError, match="pension"):
        call_command("policy", "load", str(path), "--as", "contrib")
