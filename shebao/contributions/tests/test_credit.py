"""Credit: money paid ahead settles later bills; payments recorded out of date
order; a paid bill lowered by a correction (DOMAIN.md §3–4), worked examples first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db.models import F, Sum
from django.test import Client
from django.urls import reverse
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
    BillLine,
    DeclarationLine,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.contributions.rules import late_fee
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES, contribution_world, hire
from shebao.core.dates import add_months
from shebao.core.errors import Forbidden
from shebao.web import employer_contrib_views

pytestmark = pytest.mark.django_db
JUNE, SEPTEMBER, OCTOBER = dt.date(2026, 6, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)


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


def pay(actor, employer, reference, amount, paid_on):
    return payments.payment_record(
        actor=actor,
        employer=employer,
        bank_reference=reference,
        amount=Decimal(amount),
        paid_on=paid_on,
    )


def allocations(payment):
    return [
        (a.bill.period, a.principal_cents, a.late_fee_cents)
        for a in PaymentAllocation.objects.filter(payment=payment).order_by("pk")
    ]


def declare_and_bill(officer, area, employer, person, period, wage):
    """Declare a wage (or correct the one declared) and run the month's billing."""
    line = DeclarationLine.objects.filter(
        person=person, period=period, kind="declared", reversal__isnull=True
    ).first()
    if line is None:
        declarations.declaration_declare(
            actor=officer, employer=employer, person=person, period=period, wage=Decimal(wage)
        )
    elif line.wage != Decimal(wage):
        declarations.declaration_correct(
            actor=officer, line=line, wage=Decimal(wage), reason="wage corrected"
        )
    billing.bill_run(actor=officer, area=area, period=period)
    return Bill.objects.get(employer=employer, period=period)


def ledger(person):
    return list(
        AccountEntry.objects.filter(account__person=person)
        .order_by("pk")
        .values_list("kind", "period", "amount_cents")
    )


# --- leftover credit settles later bills ------------------------------------------------


def test_it_settles_the_next_months_bill_with_the_money_left_over(
    officer, cashier, policy, area, employer, employment
):
    person = employment.person
    september = declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    assert september.employer_cents + september.individual_cents == 306_000
    first = pay(cashier, employer, "C001", "5000", dt.date(2026, 10, 10))
    assert allocations(first) == [(SEPTEMBER, 306_000, 0)]
    assert payments.employer_arrears(officer, employer, dt.date(2026, 10, 31)).credit_cents == (
        194_000
    )

    # October's bill (due 11-15) comes after: the 1,940.00 there since 10-10
    # settles part of it, without a fee.
    declare_and_bill(officer, area, employer, person, OCTOBER, "9000")

    assert allocations(first) == [(SEPTEMBER, 306_000, 0), (OCTOBER, 194_000, 0)]
    arrears = payments.employer_arrears(officer, employer, dt.date(2026, 11, 20))
    [october] = arrears.bills
    assert (october.principal_due_cents, arrears.credit_cents) == (112_000, 0)
    # The rest, paid on 11-20, carries 4 days' fee on 1,120.00 only: 2.24.
    assert october.late_fee_due_cents == 224
    last = pay(cashier, employer, "C002", "1122.24", dt.date(2026, 11, 20))
    assert allocations(last) == [(OCTOBER, 112_000, 224)]
    assert ledger(person) == [
        ("contribution", SEPTEMBER, 72_000),
        ("contribution", OCTOBER, 72_000),
    ]
    assert PersonalAccount.objects.get(person=person).balance_cents == 144_000
    after = AuditEvent.objects.filter(action="credit.apply").get().after or {}
    assert after["allocations"][0]["payment_id"] == first.pk
    assert audit_verify()[1] == []


def test_it_spends_the_oldest_credit_first_with_the_fee_as_of_its_day(
    officer, cashier, policy, employer
):
    later = pay(cashier, employer, "C003", "1000", dt.date(2026, 7, 20))  # recorded first
    earlier = pay(cashier, employer, "C004", "1000", dt.date(2026, 7, 5))
    june = make_bill(employer, JUNE, 150_000)  # due 07-15, overdue from 07-16

    applied = payments.credit_apply(actor=cashier, employer=employer)

    # The money of 07-05 was there before the due day: no fee. That of 07-20
    # comes 4 days late for the 500.00 left: 500 × 0.05% × 4 = 1.00.
    assert allocations(earlier) == [(JUNE, 100_000, 0)]
    assert allocations(later) == [(JUNE, 50_000, 100)]
    assert len(applied.allocations) == 2
    assert payments.bill_balance(june, dt.date(2026, 12, 31)).total_due_cents == 0
    assert payments.employer_credit(officer, employer, dt.date(2026, 8, 1)) == 49_900
    # Nothing left to do: a second application changes and records nothing.
    assert payments.credit_apply(actor=cashier, employer=employer).allocations == []
    assert AuditEvent.objects.filter(action="credit.apply").count() == 1


def test_a_new_payment_comes_after_older_credit(officer, cashier, policy, employer):
    old = pay(cashier, employer, "C005", "300", dt.date(2026, 7, 1))
    make_bill(employer, JUNE, 100_000)  # billed without the credit being applied yet

    new = pay(cashier, employer, "C006", "1000", dt.date(2026, 7, 10))

    assert allocations(old) == [(JUNE, 30_000, 0)]
    assert allocations(new) == [(JUNE, 70_000, 0)]
    assert payments.employer_credit(officer, employer, dt.date(2026, 7, 31)) == 30_000


def test_only_collecting_staff_apply_credit(owner, employer_user, policy, employer):
    for user in (owner, employer_user):
        with pytest.raises(Forbidden):
            payments.credit_apply(actor=user, employer=employer)


# --- payments recorded out of date order ----------------------------------------------


def test_a_payment_recorded_late_pays_the_fee_run_until_its_own_day(cashier, policy, employer):
    june = make_bill(employer, JUNE, 1_000_000)  # due 07-15, overdue from 07-16
    # 100.00 paid on 09-14 is recorded first: 60 days have run 300.00; it pays 100.00.
    september = pay(cashier, employer, "C007", "100", dt.date(2026, 9, 14))
    assert allocations(september) == [(JUNE, 0, 10_000)]

    # 10,050.00 paid on 08-15, recorded after: until 08-15, 30 days ran 150.00,
    # of which 100.00 is paid; it pays the 50.00 and then the 10,000.
    august = pay(cashier, employer, "C008", "10050", dt.date(2026, 8, 15))

    assert allocations(august) == [(JUNE, 1_000_000, 5_000)]
    balance = payments.bill_balance(june, dt.date(2026, 12, 31))
    assert (balance.principal_due_cents, balance.late_fee_due_cents) == (0, 0)
    assert balance.late_fee_paid_cents == 15_000  # not the 300.00 run until 09-14
    assert payments.employer_credit(cashier, employer, dt.date(2026, 12, 31)) == 0
    # As of 08-31 only the August money counts: the bill is paid, fee and all.
    assert payments.bill_balance(june, dt.date(2026, 8, 31)).principal_due_cents == 0


def test_a_payment_recorded_late_leaves_its_credit_ahead_of_later_dated_credit(
    cashier, policy, employer
):
    september = pay(cashier, employer, "C009", "500", dt.date(2026, 9, 1))
    august = pay(cashier, employer, "C010", "500", dt.date(2026, 8, 1))
    make_bill(employer, JUNE, 60_000)

    payments.credit_apply(actor=cashier, employer=employer)

    # June is due 07-15. The August money, though recorded second, goes first:
    # 16 days on 600.00 ran 4.80; it pays 4.80 + 495.20. September's pays the
    # fee on the 104.80 left for 47 days (2.46) less the 16 days of it paid
    # in the 4.80 (0.84): 1.62, and the 104.80.
    assert allocations(august) == [(JUNE, 49_520, 480)]
    assert allocations(september) == [(JUNE, 10_480, 162)]


# --- a paid bill lowered by a correction --------------------------------------------------


def test_a_lowered_paid_bill_gives_credit_and_takes_back_the_pension_share(
    officer, cashier, policy, area, employer, employment
):
    person = employment.person
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    pay(cashier, employer, "C011", "3060", dt.date(2026, 10, 10))
    [credited] = AccountEntry.objects.filter(account__person=person)
    assert credited.amount_cents == 72_000  # base 9,000 × 8%

    # The wage was 5,000: base 5,000, individual pension 400.00; the bill
    # falls from 3,060.00 to 1,700.00.
    bill = declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")

    assert bill.employer_cents + bill.individual_cents == 170_000
    assert ledger(person) == [
        ("contribution", SEPTEMBER, 72_000),
        ("reversal", SEPTEMBER, -32_000),
    ]
    reversal = AccountEntry.objects.get(kind="reversal")
    assert reversal.reverses == credited
    account = PersonalAccount.objects.get(person=person)
    assert (account.balance_cents, account.entries_count) == (40_000, 2)
    arrears = payments.employer_arrears(officer, employer, dt.date(2026, 11, 1))
    assert (arrears.bills, arrears.credit_cents) == ([], 136_000)
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 1)) == 136_000
    assert audit_verify()[1] == []

    # Corrected back to 9,000: the money the bill gave back, the employer's
    # credit, pays the raise, and the 320.00 is credited again.
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")

    assert ledger(person)[-1] == ("contribution", SEPTEMBER, 32_000)
    assert PersonalAccount.objects.get(person=person).balance_cents == 72_000
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 1)) == 0


def test_a_person_month_lowered_twice_is_taken_back_twice(
    officer, cashier, policy, area, employer, employment
):
    person = employment.person
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    pay(cashier, employer, "C012", "3060", dt.date(2026, 10, 10))
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")

    # 4,000 is below the floor (60% of 8,000): base 4,800, pension 384.00.
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "4000")

    assert [amount for _kind, _period, amount in ledger(person)] == [72_000, -32_000, -1_600]
    # Both reversals point to the entry they correct, and together stay within it.
    first, second = AccountEntry.objects.filter(kind="reversal").order_by("pk")
    assert first.reverses_id == second.reverses_id
    assert first.reverses is not None and first.reverses.amount_cents == 72_000
    assert PersonalAccount.objects.get(person=person).balance_cents == 38_400


def test_a_part_paid_bill_lowered_below_what_was_paid_is_paid(
    officer, cashier, policy, area, employer, employment
):
    person = employment.person
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    pay(cashier, employer, "C013", "2000", dt.date(2026, 10, 10))
    assert not AccountEntry.objects.exists()

    declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")  # 1,700.00

    assert ledger(person) == [("contribution", SEPTEMBER, 40_000)]
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 1)) == 30_000


def test_the_employer_sees_the_credit_of_a_lowered_bill(
    officer, cashier, employer_user, policy, area, employer, employment, monkeypatch
):
    declare_and_bill(officer, area, employer, employment.person, SEPTEMBER, "9000")
    pay(cashier, employer, "C014", "3060", dt.date(2026, 10, 10))
    declare_and_bill(officer, area, employer, employment.person, SEPTEMBER, "5000")
    monkeypatch.setattr(employer_contrib_views, "_today", lambda: dt.date(2026, 11, 1))
    client = Client()
    client.force_login(employer_user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"

    with translation.override("en"):
        page = client.get(reverse("web:contrib_payments")).content.decode()
        arrears = client.get(reverse("web:contrib_arrears")).content.decode()

    assert "1,360.00" in page and "credit: received and not owed" in page
    assert "Credit (received and not owed): 1,360.00 yuan." in arrears


# --- properties ----------------------------------------------------------------------------

MONTHS = [dt.date(2026, month, 1) for month in (1, 2, 3)]
TODAY = dt.date(2026, 11, 1)

operations = st.lists(
    st.one_of(
        # Declare a wage, or correct the one declared, and bill the month.
        st.tuples(
            st.just("declare"),
            st.sampled_from(MONTHS),
            st.integers(0, 1),  # which person
            st.sampled_from([3_000, 5_000, 9_000, 12_345, 30_000]),
        ),
        st.tuples(
            st.just("pay"),
            st.integers(1, 300_000) | st.integers(300_000, 2_500_000),  # cents
            st.integers(0, 290),  # days after 2026-01-01
            st.just(0),
        ),
    ),
    min_size=4,
    max_size=12,
)


class CreditNeverLosesACent(TestCase):
    """Whatever the bills, payments (any amount, any day, recorded in any order) and
    corrections: the money paid is what the bills took plus the credit; no
    allocation takes more than was open; credit waits only while no bill is
    open; and each person's account holds the individual pension of the months
    paid."""

    @settings(max_examples=30, deadline=None)
    @given(operations)
    def test_it(self, ops):
        area, officer, employer = contribution_world(average_monthly_wage="8000")
        people = [hire(employer, "x", 11 + 2 * n, division="110105") for n in range(2)]
        largest: dict[int, int] = {}  # the largest total each bill ever had
        seen = 0
        for n, (kind, first, second, third) in enumerate(ops):
            if kind == "declare":
                declare_and_bill(officer, area, employer, people[second], first, third)
            else:
                payments.payment_record(
                    actor=officer,
                    employer=employer,
                    bank_reference=f"P{n}",
                    amount=Decimal(first) / 100,
                    paid_on=dt.date(2026, 1, 1) + dt.timedelta(days=second),
                )
            bills = {bill.pk: bill for bill in Bill.objects.all()}
            for bill in bills.values():
                total = bill.employer_cents + bill.individual_cents
                largest[bill.pk] = max(largest.get(bill.pk, 0), total)
            # What this step allocated stays within what was open.
            for a in PaymentAllocation.objects.filter(pk__gt=seen).select_related("payment"):
                bill = bills[a.bill_id]
                ever = largest[bill.pk]
                assert a.principal_cents <= ever
                most_fee = late_fee(
                    overdue_amount=Decimal(ever) / 100,
                    overdue_from=payments.overdue_from(bill),
                    paid_on=a.payment.paid_on,
                )
                assert a.late_fee_cents <= most_fee * 100
                seen = max(seen, a.pk)
            self.check_money(officer, employer, largest)
        self.check_accounts()

    def check_money(self, officer, employer, largest):
        listed = payments.payments_for(officer).values_list("amount_cents", "allocated_cents")
        paid = sum(amount for amount, _ in listed)
        unallocated = sum(amount - allocated for amount, allocated in listed)
        assert all(amount >= allocated for amount, allocated in listed)
        taken = PaymentAllocation.objects.aggregate(
            cents=Sum(F("principal_cents") + F("late_fee_cents"))
        )["cents"]
        assert paid == (taken or 0) + unallocated
        excess = 0
        open_bills = 0
        for bill in Bill.objects.all():
            principal = bill.allocations.aggregate(p=Sum("principal_cents"))["p"] or 0
            total = bill.employer_cents + bill.individual_cents
            assert principal <= largest[bill.pk]
            excess += max(principal - total, 0)
            open_bills += principal < total
        # Credit is the money no bill took plus what lowered bills no longer need.
        assert payments.employer_credit(officer, employer, TODAY) == unallocated + excess
        if unallocated:
            assert open_bills == 0

    def check_accounts(self):
        for account in PersonalAccount.objects.all():
            entries = AccountEntry.objects.filter(account=account)
            assert account.balance_cents == sum(e.amount_cents for e in entries)
            assert account.entries_count == entries.count()
        for bill in Bill.objects.all():
            principal = bill.allocations.aggregate(p=Sum("principal_cents"))["p"] or 0
            is_paid = principal >= bill.employer_cents + bill.individual_cents
            shares = {
                person: cents
                for person, cents in BillLine.objects.filter(bill=bill, insurance="pension")
                .values("person_id")
                .annotate(cents=Sum("individual_cents"))
                .values_list("person_id", "cents")
            }
            credited = dict(
                AccountEntry.objects.filter(allocation__bill=bill)
                .values("account__person_id")
                .annotate(cents=Sum("amount_cents"))
                .values_list("account__person_id", "cents")
            )
            for person in shares.keys() | credited.keys():
                share, got = shares.get(person, 0), credited.get(person, 0)
                if is_paid and bill.allocations.exists():
                    assert got == share, (bill.period, person, got, share)
                else:
                    assert 0 <= got <= share, (bill.period, person, got, share)
        assert not Payment.objects.filter(amount_cents__lte=0).exists()
