"""A person's contribution history month by month — worked examples first
(DOMAIN.md §3–5): billed, paid, assessed, partly paid; flexible months; who
may read it; and that reading it takes the same few queries for 12 months as
for 120."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.contributions import billing, declarations, flexible, payments, personal
from shebao.contributions.models import Bill
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.core.errors import Forbidden, NotFound
from shebao.inquiry.bench import build_history
from shebao.inquiry.history import Status, person_history, person_history_year
from shebao.registry.identifiers import make_credit_code, make_identity_number
from shebao.registry.models import Employer, Employment, Person

pytestmark = pytest.mark.django_db

AUGUST, SEPTEMBER, OCTOBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)
ON = dt.date(2026, 11, 28)


# --- helpers (also used by the page and API tests) ------------------------------------


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


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


def declare_and_bill(officer, employer, person, month, wage="9000"):
    """The employer declares the wage and the month is billed (DOMAIN §3)."""
    declarations.declaration_declare(
        actor=officer, employer=employer, person=person, period=month, wage=wage
    )
    billing.bill_run(actor=officer, area=employer.area, period=month)
    return Bill.objects.get(employer=employer, period=month)


def pay_bill(cashier, bill, paid_on, amount=None, reference=None):
    """The employer pays the bill (in full unless `amount` is given)."""
    total = Decimal(bill.employer_cents + bill.individual_cents) / 100
    return payments.payment_record(
        actor=cashier,
        employer=bill.employer,
        bank_reference=reference or f"B{bill.pk}-{paid_on:%m%d}",
        amount=Decimal(amount) if amount is not None else total,
        paid_on=paid_on,
    )


def second_person(area, name="李娜"):
    return Person.objects.create(
        area=area,
        id_number=make_identity_number("320106", dt.date(1990, 6, 1), 24),
        name=name,
        birth_date=dt.date(1990, 6, 1),
        sex="F",
        registered_on=dt.date(2010, 1, 1),
    )


def second_employer(area):
    return Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京玄武商贸有限公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )


def amounts(month, insurance="pension"):
    """The month's amounts of one insurance (which must be billed)."""
    item = month.of(insurance)
    assert item is not None, f"{insurance} is not billed in {month.period:%Y-%m}"
    return item


# --- worked examples ---------------------------------------------------------------------


def test_it_shows_a_declared_month_unpaid_then_paid_and_credited(
    officer, cashier, individual, policy, employer, employment
):
    """9,000 declared for October: billed and not paid, the month is unpaid (the
    individual 8% withheld and not passed on); paid, it is paid and the personal
    account holds 720.00."""
    person = employment.person
    bill = declare_and_bill(officer, employer, person, OCTOBER)

    history = person_history(individual, person, on=ON)

    [month] = history.months
    assert (month.period, month.status, month.assessed) == (OCTOBER, Status.UNPAID, False)
    assert month.employer_names == [employer.name]
    pension = amounts(month)
    assert pension is not None
    assert (pension.base_cents, pension.employer_cents, pension.individual_cents) == (
        900_000,
        144_000,
        72_000,
    )
    assert [i.insurance for i in month.insurances] == [
        "pension",
        "medical",
        "unemployment",
        "work_injury",
        "maternity",
    ]
    assert month.individual_cents == bill.individual_cents == 72_000 + 18_000 + 4_500
    assert month.withheld_unpaid and month.overdue  # due 2026-11-15
    assert history.paid_months("pension") == 0

    pay_bill(cashier, bill, dt.date(2026, 11, 10))
    history = person_history(individual, person, on=ON)

    [month] = history.months
    assert (month.status, month.withheld_unpaid, month.overdue) == (Status.PAID, False, False)
    assert history.paid_months("pension") == 1
    statement = personal.account_statement(individual, person, year=2026)
    assert statement.balance == Decimal("720.00")


def test_it_shows_a_month_without_a_declaration_as_assessed(
    officer, individual, policy, employer, employment
):
    """September declared at 9,000, October not: October is assessed at 110% of
    September (SIL art. 62) until the declaration arrives."""
    person = employment.person
    declare_and_bill(officer, employer, person, SEPTEMBER)
    billing.bill_run(actor=officer, area=employer.area, period=OCTOBER)

    history = person_history(individual, person, on=ON)

    october, september = history.months
    assert (october.period, october.status, october.assessed) == (OCTOBER, Status.ASSESSED, True)
    assert amounts(october).individual_cents == 79_200  # 720.00 × 110%
    assert (september.status, september.assessed) == (Status.UNPAID, False)
    assert [m.period for m in history.attention] == [OCTOBER, SEPTEMBER]
    [totals] = person_history(individual, person, year=2026, on=ON).totals  # grouped in SQL
    assert totals == history.totals[0]
    assert (totals.months, totals.paid, totals.unpaid) == (2, 0, 2)
    assert totals.individual_cents == 2 * (72_000 + 18_000 + 4_500) * 21 // 20

    declare_and_bill(officer, employer, person, OCTOBER)
    october = person_history(individual, person, on=ON).months[0]
    assert (october.status, october.assessed) == (Status.UNPAID, False)
    assert amounts(october).individual_cents == 72_000
    assert amounts(october).base_cents == 900_000


def test_it_shows_a_bill_paid_in_part_as_partly_paid(
    officer, cashier, individual, policy, employer, employment
):
    bill = declare_and_bill(officer, employer, employment.person, OCTOBER)
    pay_bill(cashier, bill, dt.date(2026, 11, 10), amount="100")

    [month] = person_history(individual, employment.person, on=ON).months

    assert month.status == Status.PART
    assert month.withheld_unpaid
    assert person_history_year(individual, employment.person, page=1).totals[0].paid == 0


def test_it_lists_two_employers_of_one_month_and_counts_the_month_once(
    officer, cashier, individual, policy, area, employer, employment
):
    other = second_employer(area)
    Employment.objects.create(
        area=area,
        person=employment.person,
        employer=other,
        start_date=dt.date(2026, 1, 1),
        registered_on=dt.date(2026, 1, 5),
    )
    first = declare_and_bill(officer, employer, employment.person, OCTOBER, wage="9000")
    declarations.declaration_declare(
        actor=officer, employer=other, person=employment.person, period=OCTOBER, wage="5000"
    )
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    second = Bill.objects.get(employer=other, period=OCTOBER)
    pay_bill(cashier, first, dt.date(2026, 11, 10))

    history = person_history(individual, employment.person, on=ON)
    [month] = history.months
    assert sorted(month.employer_names) == sorted([employer.name, other.name])
    assert month.status == Status.PART  # one paid, one not
    assert amounts(month).individual_cents == 72_000 + 40_000
    assert history.paid_months("pension") == 1

    pay_bill(cashier, second, dt.date(2026, 11, 11))
    history = person_history(individual, employment.person, on=ON)
    assert history.months[0].status == Status.PAID
    assert history.paid_months("pension") == 1  # a month paid twice counts once
    record = personal.contribution_record(individual, employment.person)
    assert record.months_of("pension") == history.paid_months("pension")
    assert person_history(individual, employment.person, year=2026).totals == history.totals


def test_it_includes_the_months_a_flexible_worker_paid_themself(
    owner, officer, cashier, policy, area, person
):
    """Enrolled from August at 60% of 8,000: pension 960.00 a month, all paid by the
    person; August paid, September not."""
    user = make_user("flexible", Role.INDIVIDUAL, area, person_id=person.pk)
    flexible.flexible_enrol(actor=owner, person=person, valid_from=AUGUST, base_ratio="0.6")
    for month in (AUGUST, SEPTEMBER):
        billing.bill_run(actor=officer, area=area, period=month)
    flexible.flexible_payment_record(
        actor=cashier,
        person=person,
        bank_reference="F1",
        amount=Decimal("960"),
        paid_on=dt.date(2026, 9, 10),
    )

    history = person_history(user, person, on=ON)

    september, august = history.months
    assert [p.is_self for p in august.payers] == [True]
    assert (august.status, september.status) == (Status.PAID, Status.UNPAID)
    pension = amounts(august)
    assert (pension.base_cents, pension.employer_cents, pension.individual_cents) == (
        480_000,
        0,
        96_000,
    )
    assert not september.withheld_unpaid  # nobody withheld it: the person pays themself
    assert history.paid_months("pension") == personal.contribution_record(user, person).months_of(
        "pension"
    )


def test_it_filters_one_year_and_still_knows_every_year(individual, area, employer, person):
    build_history(
        area=area,
        employer=employer,
        persons=[person.pk],
        first=dt.date(2023, 7, 1),
        months=24,
    )

    everything = person_history(individual, person)
    one = person_history(individual, person, year=2024)

    assert everything.years == one.years == [2025, 2024, 2023]
    assert everything.totals == one.totals  # from the months, and from one grouped query
    assert [(t.year, t.months, t.paid) for t in one.totals] == [
        (2025, 6, 6),
        (2024, 12, 12),
        (2023, 6, 6),
    ]
    assert len(everything.months) == 24 and everything.paid_months("pension") == 24
    assert [m.period for m in one.months] == [dt.date(2024, m, 1) for m in range(12, 0, -1)]
    assert everything.months[0].period == dt.date(2025, 6, 1)  # newest first


# --- who may read ------------------------------------------------------------------


def test_it_shows_a_person_only_their_own_history(officer, individual, policy, area, employer):
    other = second_person(area)
    other_user = make_user("other", Role.INDIVIDUAL, area, person_id=other.pk)
    build_history(area=area, employer=employer, persons=[other.pk], first=OCTOBER, months=1)

    with pytest.raises(NotFound):
        person_history(individual, other)
    assert len(person_history(other_user, other).months) == 1
    assert person_history(individual, individual.person_id).months == []


def test_it_refuses_staff_of_another_area_and_logs_staff_reads(
    officer, stranger, other_area, area, employer, person
):
    build_history(area=area, employer=employer, persons=[person.pk], first=OCTOBER, months=1)
    with pytest.raises(Forbidden):  # a registrar reads no accounts
        person_history(stranger, person)
    with pytest.raises(NotFound):
        person_history(make_user("contrib2", Role.CONTRIBUTIONS_OFFICER, other_area), person)

    assert len(person_history(officer, person).months) == 1
    assert AccessEvent.objects.filter(actor=officer, action="account.history").count() == 1


# --- a few queries, whatever the length of the history ----------------------------------


@pytest.mark.parametrize("months", [12, 120])
def test_it_reads_any_length_of_history_in_the_same_few_queries(
    individual, area, employer, person, months, django_assert_max_num_queries
):
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2010, 1, 1), months=months
    )
    # The person, their lines, their bills with what was paid, their flexible months.
    with django_assert_max_num_queries(4):
        history = person_history(individual, person)
        assert len(history.months) == months
        assert history.paid_months("pension") == months
    # One year of it, and every year's totals: one query more.
    with django_assert_max_num_queries(5):
        one = person_history(individual, person, year=2010)
        assert len(one.months) == 12 and sum(t.months for t in one.totals) == months
