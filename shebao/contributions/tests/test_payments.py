"""Payments, arrears and late fees, worked examples first (DOMAIN.md §3–4)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.models import AuditEvent
from shebao.audit.services import audit_verify
from shebao.contributions import billing, declarations, payments
from shebao.contributions.models import (
    AccountEntry,
    Bill,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES, contribution_world, hire
from shebao.core.dates import add_months
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer

pytestmark = pytest.mark.django_db
JUNE, JULY, SEPTEMBER = dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 9, 1)


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


def make_bill(employer, period, cents):
    """A bill of `cents`, due on the 15th of the next month (the policy's due day)."""
    return Bill.objects.create(
        area_id=employer.area_id,
        employer=employer,
        period=period,
        kind="declared",
        employer_cents=cents,
        individual_cents=0,
        due_on=add_months(period, 1).replace(day=15),
        created_at=timezone.now(),
    )


def pay(actor, employer, reference, amount, paid_on, **options):
    return payments.payment_record(
        actor=actor,
        employer=employer,
        bank_reference=reference,
        amount=Decimal(amount),
        paid_on=paid_on,
        **options,
    )


def split(payment):
    return [
        (a.bill.period, a.principal_cents, a.late_fee_cents)
        for a in payments.payment_allocations(payment)
    ]


# --- worked examples ---------------------------------------------------------------


def test_it_charges_150_on_10000_overdue_30_days(cashier, policy, employer):
    june = make_bill(employer, JUNE, 1_000_000)  # due 2026-07-15, overdue from 07-16
    assert payments.overdue_from(june) == dt.date(2026, 7, 16)
    assert payments.bill_balance(june, dt.date(2026, 7, 16)).late_fee_due_cents == 0
    balance = payments.bill_balance(june, dt.date(2026, 8, 15))
    assert (balance.days_overdue, balance.late_fee_due_cents) == (30, 15_000)

    payment = pay(cashier, employer, "B001", "10150.00", dt.date(2026, 8, 15))

    assert split(payment) == [(JUNE, 1_000_000, 15_000)]
    after = payments.bill_balance(june, dt.date(2026, 12, 31))
    assert (after.principal_due_cents, after.late_fee_due_cents) == (0, 0)


def test_it_allocates_a_payment_to_the_older_bill_first(cashier, policy, employer):
    make_bill(employer, JULY, 100_000)
    make_bill(employer, JUNE, 100_000)

    payment = pay(cashier, employer, "B002", "1500", dt.date(2026, 7, 15))  # June's due day

    assert split(payment) == [(JUNE, 100_000, 0), (JULY, 50_000, 0)]


def test_it_leaves_the_rest_due_with_the_late_fee_running(cashier, policy, employer):
    june = make_bill(employer, JUNE, 1_000_000)
    pay(cashier, employer, "B003", "6150", dt.date(2026, 8, 15))  # 150 fee, then 6,000

    # 60 days overdue on 09-14: 6,000 for 30 days (paid) + 4,000 for 60 days
    # = 90 + 120 = 210 run in all; 150 paid, so 60 due (4,000 × 0.05% × 30).
    balance = payments.bill_balance(june, dt.date(2026, 9, 14))
    assert (balance.principal_due_cents, balance.late_fee_due_cents) == (400_000, 6_000)
    # As of before the payment, it did not happen yet.
    assert payments.bill_balance(june, dt.date(2026, 8, 14)).principal_due_cents == 1_000_000

    second = pay(cashier, employer, "B004", "4060", dt.date(2026, 9, 14))
    assert split(second) == [(JUNE, 400_000, 6_000)]
    assert payments.bill_balance(june, dt.date(2026, 11, 1)).total_due_cents == 0


def test_it_takes_the_late_fee_first_when_the_money_runs_short(cashier, policy, employer):
    june = make_bill(employer, JUNE, 1_000_000)
    payment = pay(cashier, employer, "B005", "100", dt.date(2026, 8, 15))
    assert split(payment) == [(JUNE, 0, 10_000)]
    balance = payments.bill_balance(june, dt.date(2026, 8, 15))
    assert (balance.principal_due_cents, balance.late_fee_due_cents) == (1_000_000, 5_000)


def test_it_records_the_same_bank_reference_once(cashier, policy, employer):
    make_bill(employer, JUNE, 100_000)
    first = pay(cashier, employer, "B006", "600", dt.date(2026, 7, 10))
    again = pay(cashier, employer, "B006", "600.00", dt.date(2026, 7, 10))

    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    assert PaymentAllocation.objects.count() == 1
    assert AuditEvent.objects.filter(action="payment.record").count() == 1
    with pytest.raises(Conflict) as caught:
        pay(cashier, employer, "B006", "700", dt.date(2026, 7, 10))
    assert caught.value.code == "bank_reference_used"


def test_it_keeps_the_good_rows_of_a_bank_file_with_one_bad_row(cashier, policy, employer):
    make_bill(employer, JUNE, 100_000)
    code = employer.credit_code
    file = (
        "银行流水号 bank_reference,统一社会信用代码 credit_code,金额 amount,缴费日期 paid_on\n"
        f"F001,{code},300.00,2026-07-10\n"
        f"F002,{code[:-1]}0,300.00,2026-07-10\n"
        f'F003,{code},"1,000.00",20260711\n'
        f"F004,{code},zero,2026-07-11\n"
    ).encode()

    report = payments.payments_import(actor=cashier, stream=io.BytesIO(file), filename="b.csv")

    assert (report.read, report.recorded, report.unchanged, report.rejected) == (4, 2, 0, 2)
    assert [(e.line, e.field) for e in report.errors] == [(3, "credit_code"), (5, "amount")]
    assert set(Payment.objects.values_list("bank_reference", "source")) == {
        ("F001", "bank_file"),
        ("F003", "bank_file"),
    }
    again = payments.payments_import(actor=cashier, stream=io.BytesIO(file), filename="b.csv")
    assert (again.recorded, again.unchanged, again.rejected) == (0, 2, 2)
    assert Payment.objects.count() == 2
    assert audit_verify()[1] == []


def test_it_refuses_a_bank_file_without_the_columns(cashier):
    with pytest.raises(InvalidInput) as caught:
        payments.payments_import(
            actor=cashier, stream=io.BytesIO(b"ref,amount\nx,1\n"), filename="b.csv"
        )
    assert caught.value.code == "bank_file_header"


def test_it_rounds_amounts_half_up_to_the_cent(cashier, policy, employer):
    payment = pay(cashier, employer, "B007", "0.005", dt.date(2026, 7, 10))
    assert payment.amount_cents == 1
    with pytest.raises(InvalidInput):
        pay(cashier, employer, "B008", "0.004", dt.date(2026, 7, 10))


def test_it_refuses_a_payment_dated_in_the_future(cashier, policy, employer):
    with pytest.raises(InvalidInput) as caught:
        pay(cashier, employer, "B009", "1", timezone.localdate() + dt.timedelta(days=1))
    assert caught.value.code == "paid_on_future"


def test_it_keeps_an_overpayment_as_credit(cashier, officer, policy, employer):
    make_bill(employer, JUNE, 100_000)
    payment = pay(cashier, employer, "B010", "1200", dt.date(2026, 7, 10))

    listed = payments.payments_for(officer).filter(pk=payment.pk)
    assert listed.values_list("amount_cents", "allocated_cents").get() == (120_000, 100_000)
    arrears = payments.employer_arrears(officer, employer, dt.date(2026, 8, 1))
    assert (arrears.bills, arrears.total_due_cents, arrears.credit_cents) == ([], 0, 20_000)


# --- personal accounts ----------------------------------------------------------------


def test_it_credits_the_individual_pension_share_when_the_bill_is_paid(
    officer, cashier, policy, area, employer, employment
):
    declarations.declaration_declare(
        actor=officer, employer=employer, person=employment.person, period=SEPTEMBER, wage="9000"
    )
    billing.bill_run(actor=officer, area=area, period=SEPTEMBER)
    bill = Bill.objects.get()
    total = bill.employer_cents + bill.individual_cents
    assert not PersonalAccount.objects.exists()  # billed, not paid: nothing credited

    pay(cashier, employer, "B011", "100", dt.date(2026, 10, 10))
    assert not PersonalAccount.objects.exists()  # partly paid: still nothing

    last = pay(cashier, employer, "B012", str(Decimal(total - 10_000) / 100), dt.date(2026, 10, 12))

    account = PersonalAccount.objects.get(person=employment.person)
    entry = account.entries.get()
    assert (entry.kind, entry.period, entry.amount_cents) == ("contribution", SEPTEMBER, 72_000)
    assert entry.allocation == last.allocations.get()
    assert account.balance_cents == 72_000 == sum(e.amount_cents for e in account.entries.all())
    assert account.entries_count == 1
    assert payments.person_arrears(officer, employment.person, dt.date(2026, 11, 1)).months == []


def test_it_credits_every_person_of_a_bill_paid_in_chunks(
    monkeypatch, officer, cashier, policy, area, employer, employment
):
    """Accounts are locked and written a chunk of persons at a time: with chunks of
    two, five persons (one with an account already) are each credited exactly
    their share, and every balance is the sum of its entries."""
    monkeypatch.setattr(payments, "SETTLE_CHUNK", 2)
    people = [employment.person, *(hire(employer, f"职工{n}", 11 + 2 * n) for n in range(4))]
    PersonalAccount.objects.create(area=area, person=people[0])  # opened, still empty
    wages = ["9000", "8000", "7000", "12000", "9500"]
    for month in (JULY, SEPTEMBER):
        for person, wage in zip(people, wages, strict=True):
            declarations.declaration_declare(
                actor=officer, employer=employer, person=person, period=month, wage=wage
            )
        billing.bill_run(actor=officer, area=area, period=month)
        bill = Bill.objects.get(period=month)
        pay(
            cashier,
            employer,
            f"C{month:%m}",
            str(Decimal(bill.employer_cents + bill.individual_cents) / 100),
            bill.due_on,  # on time: no late fee, the whole bill paid
        )
    for person, wage in zip(people, wages, strict=True):
        account = PersonalAccount.objects.get(person=person)
        share = int(Decimal(wage) * 8)  # 8% of the wage, in cents
        assert account.balance_cents == 2 * share
        assert account.entries_count == 2 == account.entries.count()
        assert account.balance_cents == sum(e.amount_cents for e in account.entries.all())
    # The audit record of the last payment names its five entries, and their sum.
    september = AccountEntry.objects.filter(period=SEPTEMBER).order_by("pk")
    logged = AuditEvent.objects.filter(action="payment.record").latest("pk").after or {}
    assert logged["account_entries"] == {
        "count": 5,
        "cents": sum(int(Decimal(wage) * 8) for wage in wages),
        "ids": [entry.pk for entry in september],
    }


def test_an_audit_record_counts_many_account_entries_without_naming_each(monkeypatch):
    monkeypatch.setattr(payments, "AUDIT_ENTRY_IDS", 2)
    entries = [AccountEntry(pk=n, amount_cents=100) for n in range(3)]
    assert payments.entries_log(entries) == {"count": 3, "cents": 300, "ids": None}
    assert payments.entries_log(entries[:2])["ids"] == [0, 1]


# --- arrears and scoping ---------------------------------------------------------------


def test_it_shows_a_person_which_insurances_are_billed_and_unpaid(
    officer, cashier, individual, policy, area, employer, employment
):
    declarations.declaration_declare(
        actor=officer, employer=employer, person=employment.person, period=SEPTEMBER, wage="9000"
    )
    billing.bill_run(actor=officer, area=area, period=SEPTEMBER)
    pay(cashier, employer, "B013", "100", dt.date(2026, 10, 10))  # a part pays no one's month

    arrears = payments.person_arrears(individual, employment.person, dt.date(2026, 11, 1))

    [month] = arrears.months
    assert month.period == SEPTEMBER
    pension = next(i for i in month.insurances if i.insurance == "pension")
    assert (pension.employer_cents, pension.individual_cents) == (144_000, 72_000)
    assert arrears.individual_cents == Bill.objects.get().individual_cents


def test_it_lists_the_areas_arrears_most_owed_first(officer, employer_user, policy, area, employer):
    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京玄武商贸有限公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )
    make_bill(employer, JUNE, 100_000)
    make_bill(other, JUNE, 500_000)
    make_bill(other, JULY, 500_000)

    rows = payments.arrears_for(officer, dt.date(2026, 8, 15))

    assert [(r.employer.pk, len(r.bills)) for r in rows] == [(other.pk, 2), (employer.pk, 1)]
    assert rows[0].late_fee_due_cents == 7_500  # 5,000 × 0.05% × 30; July not yet overdue
    own = payments.arrears_for(employer_user, dt.date(2026, 8, 15))
    assert [r.employer.pk for r in own] == [employer.pk]


def test_it_refuses_arrears_to_those_who_may_not_see_them(
    owner, stranger, individual, employer_user, policy, area, employer, person
):
    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="x",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )
    on = dt.date(2026, 8, 1)
    for user in (owner, stranger, individual):
        with pytest.raises(Forbidden):
            payments.employer_arrears(user, employer, on)
    with pytest.raises(Forbidden):
        payments.employer_arrears(employer_user, other, on)
    with pytest.raises(Forbidden):
        payments.arrears_for(stranger, on, area_code=area.code)
    with pytest.raises(Forbidden):
        payments.person_arrears(stranger, person, on)
    assert payments.employer_arrears(employer_user, employer, on).bills == []
    assert not payments.payments_for(owner).exists()


def test_only_collecting_staff_record_payments(owner, employer_user, policy, employer):
    for user in (owner, employer_user):
        with pytest.raises(Forbidden):
            pay(user, employer, "B014", "1", dt.date(2026, 7, 10))


def test_it_writes_a_notice_of_arrears(officer, policy, employer):
    make_bill(employer, JUNE, 1_000_000)
    with translation.override("en"):
        notice = payments.arrears_notice(officer, employer, dt.date(2026, 8, 15))
    assert notice.deadline == dt.date(2026, 8, 30)
    assert notice.arrears.total_due_cents == 1_015_000
    assert "2026-06 | 2026-07-15 | 30 | 10,000.00 | 150.00 | 10,150.00" in notice.text
    assert "grows by 5.00 yuan a day" in notice.text
    assert employer.credit_code in notice.text


# --- properties ------------------------------------------------------------------------


class AllocationNeverLosesACent(TestCase):
    """Whatever the bills and payments, allocations never exceed a payment; what a
    payment allocates plus what it leaves over is its amount; no bill is paid more
    than it owes; and money is left over only when every bill is paid."""

    @settings(max_examples=30, deadline=None)
    @given(
        st.lists(st.integers(min_value=1, max_value=2_000_000), min_size=1, max_size=4),
        st.lists(
            st.tuples(st.integers(min_value=1, max_value=3_000_000), st.integers(0, 300)),
            min_size=1,
            max_size=5,
        ),
    )
    def test_it(self, bills, paid):
        _area, officer, employer = contribution_world(average_monthly_wage="8000")
        for month, cents in enumerate(bills, start=1):
            make_bill(employer, dt.date(2026, month, 1), cents)
        for n, (cents, day) in enumerate(paid):
            payments.payment_record(
                actor=officer,
                employer=employer,
                bank_reference=f"P{n}",
                amount=Decimal(cents) / 100,
                paid_on=dt.date(2026, 2, 1) + dt.timedelta(days=day),
            )
        leftover = 0
        listed = payments.payments_for(officer).values_list("pk", "amount_cents", "allocated_cents")
        for pk, amount, allocated_cents in listed:
            allocated = PaymentAllocation.objects.filter(payment_id=pk).aggregate(
                principal=Sum("principal_cents"), fee=Sum("late_fee_cents")
            )
            principal, fee = allocated["principal"] or 0, allocated["fee"] or 0
            unallocated = amount - allocated_cents
            assert principal + fee == allocated_cents <= amount
            assert principal + fee + unallocated == amount
            leftover += unallocated
        for bill in Bill.objects.all():
            paid_principal = bill.allocations.aggregate(p=Sum("principal_cents"))["p"] or 0
            assert paid_principal <= bill.employer_cents
            if leftover:
                assert paid_principal == bill.employer_cents
        assert not AccountEntry.objects.exists()  # these bills have no pension lines
