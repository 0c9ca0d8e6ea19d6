"""Personal pension accounts: yearly interest, statements, contribution records,
gaps and back payments, and pension estimates — worked examples first
(DOMAIN.md §4). Accounts and paid bills are set up directly, not through the
payment service."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent, AuditEvent
from shebao.audit.services import audit_verify
from shebao.contributions import personal
from shebao.contributions.models import (
    AccountEntry,
    Bill,
    BillingRun,
    BillLine,
    CreditingRate,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.contributions.services import policy_set
from shebao.core.dates import add_months
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db

RATES: dict[str, tuple[D | str, D | str]] = {
    "pension": ("0.16", "0.08"),
    "medical": ("0.06", "0.02"),
    "unemployment": ("0.005", "0.005"),
    "maternity": ("0.008", "0"),
}
INJURY: dict[int, D | str] = dict.fromkeys(range(1, 9), "0.002")
_references = itertools.count(1)


# --- helpers (also used by the API tests) ----------------------------------


def account_with(person, *entries, created_at=None):
    """A personal account holding `entries`: (kind, period, year, cents) each."""
    account, _ = PersonalAccount.objects.get_or_create(area_id=person.area_id, person=person)
    for kind, period, year, cents in entries:
        AccountEntry.objects.create(
            area_id=person.area_id,
            account=account,
            kind=kind,
            period=period,
            year=year,
            amount_cents=cents,
            created_at=created_at or timezone.now(),
        )
        account.balance_cents += cents
        account.entries_count += 1
    account.save()
    return account


def bill_month(
    person,
    employer,
    month,
    *,
    base_cents=900_000,
    paid=True,
    insurances=("pension", "unemployment"),
    user=None,
):
    """A bill of `employer` for `month` with the person's lines (pension 16% + 8%,
    unemployment 0.5% + 0.5% of the base), paid in full unless `paid` is false."""
    shares = {"pension": (16_000, 8_000), "unemployment": (500, 500), "medical": (6_000, 2_000)}
    run = BillingRun.objects.create(area_id=person.area_id, period=month, started_at=timezone.now())
    bill, _ = Bill.objects.get_or_create(
        area_id=person.area_id,
        employer=employer,
        period=month,
        defaults={
            "kind": "declared",
            "due_on": add_months(month, 1).replace(day=15),
            "created_at": timezone.now(),
        },
    )
    for insurance in insurances:
        employer_units, individual_units = shares[insurance]
        line = BillLine.objects.create(
            area_id=person.area_id,
            bill=bill,
            employer=employer,
            person=person,
            period=month,
            insurance=insurance,
            kind="declared",
            base_cents=base_cents,
            employer_cents=(base_cents * employer_units + 50_000) // 100_000,
            individual_cents=(base_cents * individual_units + 50_000) // 100_000,
            run=run,
        )
        bill.employer_cents += line.employer_cents
        bill.individual_cents += line.individual_cents
    bill.save()
    if paid:
        pay_bill(bill, user or make_cashier(person))
    return bill


def make_cashier(person):
    from shebao.accounts.models import User

    found = User.objects.filter(username="paycashier").first()
    return found or make_user("paycashier", Role.CASHIER, person.area)


def pay_bill(bill, user):
    payment = Payment.objects.create(
        area_id=bill.area_id,
        employer_id=bill.employer_id,
        bank_reference=f"REF{next(_references)}",
        amount_cents=bill.employer_cents + bill.individual_cents,
        paid_on=bill.due_on,
        source="counter",
        created_by=user,
        created_at=timezone.now(),
    )
    PaymentAllocation.objects.create(
        area_id=bill.area_id,
        payment=payment,
        bill=bill,
        principal_cents=bill.employer_cents + bill.individual_cents,
    )


def months(first, count):
    return [add_months(first, n) for n in range(count)]


def new_person(area, birth, sex="M", sequence=None):
    return Person.objects.create(
        area=area,
        id_number=make_identity_number(
            "320106", birth, sequence or (11 if sex == "M" else 22) + birth.month * 2
        ),
        name="王芳" if sex == "F" else "李强",
        birth_date=birth,
        sex=sex,
        registered_on=dt.date(2000, 1, 1),
    )


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def stranger_officer(other_area):
    return make_user("contrib2", Role.CONTRIBUTIONS_OFFICER, other_area)


@pytest.fixture
def policy(officer, area):
    return policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(1990, 1, 1),
        average_monthly_wage="10000",
        rates=RATES,
        work_injury_rates=INJURY,
    )


# --- 1. yearly interest ------------------------------------------------------


def test_it_credits_the_worked_example_of_the_docstring(officer, area, person):
    """100,000 at the end of 2023, 1,000 for 2024-01 and 1,000 for 2024-10, at
    2.62%: 2,620.00 + 26.20 + 6.55 = 2,652.75."""
    account = account_with(
        person,
        ("contribution", dt.date(2023, 6, 1), None, 10_000_000),
        ("contribution", dt.date(2024, 1, 1), None, 100_000),
        ("contribution", dt.date(2024, 10, 1), None, 100_000),
    )
    result = personal.interest_credit(actor=officer, area=area, year=2024)
    assert (result.rate, result.credited, result.total) == (D("0.0262"), 1, D("2652.75"))
    entry = AccountEntry.objects.get(kind="interest")
    assert (entry.year, entry.amount_cents) == (2024, 265_275)
    account.refresh_from_db()
    assert account.balance_cents == 10_465_275
    assert account.entries_count == 4


def test_it_credits_interest_once_a_year(officer, area, person):
    account_with(person, ("contribution", dt.date(2023, 6, 1), None, 10_000_000))
    first = personal.interest_credit(actor=officer, area=area, year=2024)
    second = personal.interest_credit(actor=officer, area=area, year=2024)
    assert first.credited == 1
    assert (second.credited, second.already_credited, second.total_cents) == (0, 1, 0)
    assert second.message  # says that nothing was credited
    assert AccountEntry.objects.filter(kind="interest").count() == 1
    assert PersonalAccount.objects.get().balance_cents == 10_000_000 + 262_000


def test_it_counts_earlier_interest_in_the_opening_balance(officer, area, person):
    """2023 at 3.97%: 100,000 → 3,970.00; 2024 at 2.62% on 103,970 → 2,724.01."""
    account_with(person, ("contribution", dt.date(2022, 12, 1), None, 10_000_000))
    personal.interest_credit(actor=officer, area=area, year=2023)
    personal.interest_credit(actor=officer, area=area, year=2024)
    interest = dict(
        AccountEntry.objects.filter(kind="interest").values_list("year", "amount_cents")
    )
    assert interest == {2023: 397_000, 2024: 272_401}


def test_it_keeps_the_balance_equal_to_the_sum_of_the_entries(officer, area):
    people = [new_person(area, dt.date(1980, 1, 1), sequence=n) for n in range(11, 31, 2)]
    for n, someone in enumerate(people):
        account_with(
            someone,
            *[
                ("contribution", month, None, 72_000 + n)
                for month in months(dt.date(2023, 1, 1), 12 + n)
            ],
        )
    account_with(new_person(area, dt.date(1981, 1, 1), sequence=99))  # empty: earns nothing
    result = personal.interest_credit(actor=officer, area=area, year=2024, chunk_size=3)
    assert (result.accounts, result.credited, result.without_interest) == (11, 10, 1)
    assert result.chunks == 4
    for account in PersonalAccount.objects.all():
        total = sum(account.entries.values_list("amount_cents", flat=True))
        assert account.balance_cents == total
        assert account.entries_count == account.entries.count()
    # One audit event per chunk that credited anything, and the chain holds.
    assert AuditEvent.objects.filter(action="account.credit_interest").count() == 4
    assert audit_verify()[1] == []


def test_it_refuses_a_year_without_a_rate(officer, area, person):
    CreditingRate.objects.filter(year=2024).delete()
    with pytest.raises(NotFound) as caught:
        personal.interest_credit(actor=officer, area=area, year=2024)
    assert caught.value.code == "crediting_rate_unknown"


def test_it_refuses_a_year_not_yet_over(officer, area):
    with pytest.raises(InvalidInput) as caught:
        personal.interest_credit(actor=officer, area=area, year=timezone.localdate().year)
    assert caught.value.code == "year_not_over"


def test_it_lets_only_the_areas_contribution_staff_credit_interest(
    owner, stranger_officer, area, person
):
    account_with(person, ("contribution", dt.date(2023, 6, 1), None, 100_000))
    for user in (owner, stranger_officer):
        with pytest.raises(Forbidden):
            personal.interest_credit(actor=user, area=area, year=2024)
    assert not AccountEntry.objects.filter(kind="interest").exists()


def test_it_credits_interest_from_the_command_line(officer, area, person):
    account_with(person, ("contribution", dt.date(2023, 6, 1), None, 10_000_000))
    out = StringIO()
    call_command("credit_interest", "--year", "2024", "--as", "contrib", stdout=out, stderr=out)
    assert "2024" in out.getvalue()
    assert PersonalAccount.objects.get().balance_cents == 10_262_000


# --- 2. statement ------------------------------------------------------------


def test_it_states_the_account_to_the_person_and_logs_staff_reads(
    officer, individual, area, person
):
    account_with(
        person,
        ("contribution", dt.date(2023, 12, 1), None, 72_000),
        ("interest", None, 2023, 1_000),
        ("contribution", dt.date(2024, 1, 1), None, 72_000),
        ("contribution", dt.date(2024, 2, 1), None, 72_000),
        ("reversal", dt.date(2024, 2, 1), None, -72_000),
    )
    mine = personal.account_statement(individual, person.pk, year=2024)
    assert mine.balance == D("1450.00")
    assert mine.credited_this_year == D("720.00")
    assert (mine.cumulative_contributions, mine.cumulative_interest) == (D("1440.00"), D("10.00"))
    assert [(e.kind, e.period, e.year) for e in mine.entries][:2] == [
        ("contribution", dt.date(2023, 12, 1), None),
        ("interest", None, 2023),
    ]
    assert not AccessEvent.objects.exists()  # one's own records: no third party
    personal.account_statement(officer, person, year=2024)
    assert AccessEvent.objects.get().action == "account.statement"


def test_it_states_an_empty_account_for_someone_without_one(officer, person):
    statement = personal.account_statement(officer, person)
    assert (statement.balance, statement.entries) == (D("0.00"), [])


def test_it_refuses_everyone_else(owner, stranger_officer, employer_user, area, person):
    other = new_person(area, dt.date(1990, 2, 1), sequence=31)
    someone_else = make_user("other", Role.INDIVIDUAL, area, person_id=other.pk)
    with pytest.raises(Forbidden):
        personal.account_statement(owner, person)  # a registrar has no account.read
    with pytest.raises(Forbidden):
        personal.contribution_record(employer_user, person)
    for user in (stranger_officer, someone_else):
        with pytest.raises(NotFound):
            personal.account_statement(user, person)
        with pytest.raises(NotFound):
            personal.pension_estimate(user, person)


# --- 3. contribution record, gaps, back payment --------------------------------


def test_it_counts_only_months_of_fully_paid_bills(officer, person, employer):
    for month in months(dt.date(2024, 1, 1), 4):
        bill_month(person, employer, month)
    bill_month(person, employer, dt.date(2024, 5, 1), paid=False)
    partly = bill_month(person, employer, dt.date(2024, 6, 1), paid=False)
    PaymentAllocation.objects.create(
        area_id=partly.area_id,
        payment=Payment.objects.earliest("pk"),
        bill=partly,
        principal_cents=100,
    )
    # A month billed and reversed nets to zero: it is no contribution month.
    reversed_bill = bill_month(person, employer, dt.date(2024, 7, 1), paid=False)
    for line in list(BillLine.objects.filter(bill=reversed_bill)):
        BillLine.objects.create(
            area_id=line.area_id,
            bill=reversed_bill,
            employer=employer,
            person=person,
            period=line.period,
            insurance=line.insurance,
            kind="declared",
            base_cents=0,
            employer_cents=-line.employer_cents,
            individual_cents=-line.individual_cents,
            run=line.run,
        )
    Bill.objects.filter(pk=reversed_bill.pk).update(employer_cents=0, individual_cents=0)
    record = personal.contribution_record(officer, person)
    pension = next(r for r in record.insurances if r.insurance == "pension")
    assert pension.months == months(dt.date(2024, 1, 1), 4)
    assert (pension.count, pension.years) == (4, D("0.33"))
    assert record.months_of("unemployment") == 4
    assert record.months_of("medical") == 0


def test_it_finds_a_gap_month_and_quotes_it_with_its_late_fee(officer, policy, person, employer):
    """2024-03 billed 2,250.00 (pension 720 + 1,440, unemployment 45 + 45), due
    2024-04-15; paid on 2024-05-16, 30 days late at 0.05%: late fee 33.75."""
    for month in months(dt.date(2024, 1, 1), 6):
        if month == dt.date(2024, 3, 1):
            bill_month(person, employer, month, paid=False)
        elif month != dt.date(2024, 5, 1):
            bill_month(person, employer, month)
    gaps = personal.contribution_gaps(officer, person, dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    assert [(g.month, g.billed) for g in gaps] == [
        (dt.date(2024, 3, 1), True),
        (dt.date(2024, 5, 1), False),
    ]
    quote = personal.back_payment_quote(officer, person, dt.date(2024, 3, 1), dt.date(2024, 5, 16))
    assert quote.billed
    assert (quote.principal, quote.late_fee, quote.total) == (
        D("2250.00"),
        D("33.75"),
        D("2283.75"),
    )
    assert quote.bills[0].overdue_days == 30
    assert [(ln.insurance, ln.employer, ln.individual) for ln in quote.bills[0].lines] == [
        ("pension", D("1440.00"), D("720.00")),
        ("unemployment", D("45.00"), D("45.00")),
    ]


def test_it_says_a_month_never_billed_must_be_declared_first(officer, policy, person):
    quote = personal.back_payment_quote(officer, person, dt.date(2024, 5, 1), dt.date(2024, 8, 1))
    assert not quote.billed
    assert quote.total == 0 and quote.bills == []
    assert "2024-05" in quote.note


def test_it_refuses_to_quote_a_paid_month(officer, policy, person, employer):
    bill_month(person, employer, dt.date(2024, 1, 1))
    with pytest.raises(Conflict) as caught:
        personal.back_payment_quote(officer, person, dt.date(2024, 1, 1), dt.date(2024, 8, 1))
    assert caught.value.code == "month_paid"


def test_it_refuses_gaps_over_a_reversed_period(officer, person):
    with pytest.raises(InvalidInput):
        personal.contribution_gaps(officer, person, dt.date(2024, 6, 1), dt.date(2024, 1, 1))


# --- 4. pension estimate -------------------------------------------------------


def test_it_estimates_a_man_born_1965_05_retires_in_2025_07(officer, policy, area, employer):
    man = new_person(area, dt.date(1965, 5, 20))
    estimate = personal.pension_estimate(officer, man, on=dt.date(2025, 1, 10))
    assert estimate.scheme == "man"
    assert estimate.retirement_month == dt.date(2025, 7, 1)
    assert (estimate.retirement_age_years, estimate.retirement_age_months) == (60, 2)
    assert estimate.minimum_years == 15


def test_it_tells_a_person_below_the_minimum_there_is_no_monthly_pension(
    officer, policy, area, employer
):
    man = new_person(area, dt.date(1965, 5, 20))
    for month in months(dt.date(2020, 1, 1), 60):
        bill_month(man, employer, month)
    estimate = personal.pension_estimate(officer, man, on=dt.date(2025, 1, 10))
    assert (estimate.months_contributed, estimate.months_projected) == (60, 6)  # 2025-01..06
    assert estimate.years_at_retirement == D("5.50")
    assert not estimate.eligible
    assert estimate.basic_pension is None and estimate.monthly_pension is None
    assert "15" in estimate.message
    assert estimate.assumptions


def test_it_estimates_the_domain_examples(officer, policy, area, employer):
    """A man born 1964-12 retires in 2024-12 at 60 with 30 years paid: average
    10,000, index 1.0 → basic pension 3,000.00; balance 200,000 / 139 months →
    1,438.85."""
    man = new_person(area, dt.date(1964, 12, 3))
    for month in months(dt.date(1994, 12, 1), 360):
        bill_month(man, employer, month, insurances=("pension",))
    account_with(man, ("contribution", dt.date(2024, 11, 1), None, 20_000_000))
    estimate = personal.pension_estimate(officer, man, on=dt.date(2024, 12, 2))
    assert estimate.retirement_month == dt.date(2024, 12, 1)
    assert (estimate.months_contributed, estimate.months_projected) == (360, 0)
    assert estimate.eligible
    assert estimate.basic_pension == D("3000.00")
    assert estimate.projected_balance == D("200000.00")
    assert estimate.personal_account_pension == D("1438.85")
    assert estimate.monthly_pension == D("4438.85")


def test_it_grants_18_months_of_unemployment_benefit_for_7_years(officer, policy, area, employer):
    man = new_person(area, dt.date(1990, 1, 1))
    for month in months(dt.date(2017, 1, 1), 84):
        bill_month(man, employer, month, insurances=("unemployment",))
    estimate = personal.pension_estimate(officer, man, on=dt.date(2024, 1, 10))
    assert estimate.unemployment_benefit_months == 18


def test_it_projects_contributions_at_the_current_base_until_retirement(
    officer, policy, area, employer
):
    """A man born 1976-09 retires in 2039-09 at 63. Paid 2025; from 2026-01 to
    2039-08 (164 months) 720.00 a month at base 9,000 — at 0% interest the
    balance grows by 164 × 720 = 118,080.00."""
    man = new_person(area, dt.date(1976, 9, 1))
    for month in months(dt.date(2025, 1, 1), 12):
        bill_month(man, employer, month, insurances=("pension",))
    account_with(man, ("contribution", dt.date(2025, 6, 1), None, 864_000))
    estimate = personal.pension_estimate(officer, man, on=dt.date(2026, 1, 5), interest_rate=D("0"))
    assert estimate.retirement_month == dt.date(2039, 9, 1)
    assert estimate.retirement_age_years == 63
    assert estimate.months_projected == 164
    assert estimate.monthly_individual_pension == D("720.00")
    assert estimate.projected_balance == D("8640.00") + 164 * D("720.00")
    assert estimate.minimum_years == 20
    assert not estimate.eligible  # 176 months is below 20 years
    stopped = personal.pension_estimate(
        officer, man, on=dt.date(2026, 1, 5), continue_contributing=False, interest_rate=D("0")
    )
    assert (stopped.months_projected, stopped.projected_balance) == (0, D("8640.00"))
    higher = personal.pension_estimate(
        officer, man, on=dt.date(2026, 1, 5), monthly_base=D("20000"), interest_rate=D("0")
    )
    assert higher.monthly_individual_pension == D("1600.00")


def test_it_defaults_women_to_the_55_scheme(officer, policy, area):
    woman = new_person(area, dt.date(1971, 4, 9), sex="F")
    estimate = personal.pension_estimate(officer, woman, on=dt.date(2025, 1, 10))
    assert (estimate.scheme, estimate.retirement_month) == ("woman_55", dt.date(2026, 8, 1))
    worker = personal.pension_estimate(
        officer, new_person(area, dt.date(1984, 11, 2), sex="F"), scheme="woman_50"
    )
    assert (worker.retirement_month, worker.retirement_age_years) == (dt.date(2039, 11, 1), 55)
