"""Flexible workers: enrolment, monthly bills, their own payments — worked
examples first (DOMAIN.md §3–4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.audit.services import audit_verify
from shebao.contributions import billing, flexible, personal
from shebao.contributions.models import (
    AccountEntry,
    FlexibleAllocation,
    FlexibleBill,
    FlexibleEnrolment,
    FlexiblePayment,
    PersonalAccount,
)
from shebao.contributions.rules import contribution_amount, contribution_base
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES, contribution_world
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Employment, Person

pytestmark = pytest.mark.django_db
JUNE, JULY, AUGUST = dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)


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


def enrol(owner, person, ratio="0.6", valid_from=JUNE, medical=False):
    return flexible.flexible_enrol(
        actor=owner, person=person, valid_from=valid_from, base_ratio=ratio, medical=medical
    )


def run(officer, area, *months):
    for month in months:
        billing.bill_run(actor=officer, area=area, period=month)


def bill_of(person, month):
    return FlexibleBill.objects.get(person=person, period=month)


def pay(cashier, person, reference, amount, paid_on):
    return flexible.flexible_payment_record(
        actor=cashier,
        person=person,
        bank_reference=reference,
        amount=Decimal(amount),
        paid_on=paid_on,
    )


def split(payment):
    return [
        (a.bill.period, a.principal_cents, a.late_fee_cents)
        for a in payment.allocations.select_related("bill").order_by("bill__period")
    ]


# --- worked examples -----------------------------------------------------------------


def test_it_bills_average_8000_at_0_6_as_960_of_which_384_to_the_account(
    owner, officer, policy, area, person
):
    enrol(owner, person, "0.6")

    run(officer, area, JUNE)

    june = bill_of(person, JUNE)
    assert (june.base_cents, june.pension_cents, june.account_cents, june.medical_cents) == (
        480_000,
        96_000,
        38_400,
        0,
    )
    assert june.due_on == dt.date(2026, 7, 15)  # the policy's due day of the next month
    assert AuditEvent.objects.filter(action="flexible.bill").count() == 1


def test_it_rounds_half_up_and_clamps_to_the_policy_of_each_month(owner, officer, area, person):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8123.45",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    policy_set(  # from July the floor rises to 70% of a higher average
        actor=officer,
        area=area,
        valid_from=JULY,
        average_monthly_wage="9000",
        rates=RATES,
        work_injury_rates=INJURY,
        base_floor_ratio="0.7",
    )
    enrol(owner, person, "0.61235")

    run(officer, area, JUNE, JULY)

    base = contribution_base(
        own_average_wage=Decimal("8123.45") * Decimal("0.61235"),
        area_average_wage=Decimal("8123.45"),
    )
    june = bill_of(person, JUNE)
    assert june.base_cents == int(base * 100) == 497_439  # 4,974.3946… → 4,974.39
    assert june.pension_cents == int(contribution_amount(base=base, rate=Decimal("0.2")) * 100)
    assert june.account_cents == int(contribution_amount(base=base, rate=Decimal("0.08")) * 100)
    assert bill_of(person, JULY).base_cents == 630_000  # 0.61235 × 9,000 is below 70%


def test_it_bills_medical_where_the_area_offers_it(owner, officer, area, person):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
        flexible_medical_rate="0.1",
    )
    enrol(owner, person, "1", medical=True)

    run(officer, area, JUNE)

    june = bill_of(person, JUNE)
    assert (june.base_cents, june.pension_cents, june.medical_cents) == (800_000, 160_000, 80_000)


def test_a_second_run_adds_nothing(owner, officer, policy, area, person):
    enrol(owner, person)
    run(officer, area, JUNE)
    first = list(FlexibleBill.objects.values_list("pk", "pension_cents"))

    run(officer, area, JUNE)

    assert list(FlexibleBill.objects.values_list("pk", "pension_cents")) == first
    assert AuditEvent.objects.filter(action="flexible.bill").count() == 1


def test_a_month_an_employment_covers_is_not_billed(owner, officer, policy, area, person, employer):
    enrol(owner, person)
    Employment.objects.create(
        area=area,
        person=person,
        employer=employer,
        start_date=dt.date(2026, 7, 20),
        end_date=dt.date(2026, 7, 31),
        registered_on=dt.date(2026, 7, 20),
    )

    run(officer, area, JUNE, JULY, AUGUST)

    assert sorted(FlexibleBill.objects.values_list("period", flat=True)) == [JUNE, AUGUST]


# --- enrolment ------------------------------------------------------------------------


def test_it_refuses_someone_employed_in_the_month(owner, policy, person, employment):
    with pytest.raises(Conflict) as refused:
        enrol(owner, person)
    assert refused.value.code == "employed"
    assert "南京钟山科技有限公司" in refused.value.message


def test_it_enrols_from_the_month_after_the_employment_ended(owner, policy, person, employment):
    employment.end_date = dt.date(2026, 5, 31)
    employment.save()

    enrolment = enrol(owner, person, valid_from=JUNE)

    assert (enrolment.area_id, enrolment.base_ratio, enrolment.valid_to) == (
        person.area_id,
        Decimal("0.6"),
        None,
    )
    assert AuditEvent.objects.filter(action="flexible.enrol").count() == 1


def test_it_refuses_a_second_open_enrolment(owner, policy, person):
    enrol(owner, person)
    with pytest.raises(Conflict) as refused:
        enrol(owner, person, valid_from=JULY)
    assert refused.value.code == "already_enrolled"


@pytest.mark.parametrize("ratio", ["0.59999", "3.00001", "0", "-1"])
def test_it_refuses_a_base_outside_the_floor_and_ceiling(owner, policy, person, ratio):
    with pytest.raises(InvalidInput) as refused:
        enrol(owner, person, ratio)
    assert (refused.value.code, refused.value.field) == ("base_ratio_range", "base_ratio")


@pytest.mark.parametrize("ratio", ["0.6", "3", "1.5"])
def test_it_accepts_the_floor_the_ceiling_and_between(owner, policy, person, ratio):
    assert enrol(owner, person, ratio).base_ratio == Decimal(ratio)


def test_it_refuses_bad_input(owner, policy, person):
    with pytest.raises(InvalidInput) as refused:
        enrol(owner, person, valid_from=dt.date(2026, 6, 2))
    assert refused.value.code == "period_day"
    with pytest.raises(InvalidInput) as refused:
        enrol(owner, person, "abc")
    assert refused.value.code == "base_ratio_format"
    with pytest.raises(InvalidInput) as refused:
        enrol(owner, person, medical=True)  # the policy offers no flexible medical insurance
    assert refused.value.code == "medical_not_offered"
    with pytest.raises(NotFound) as missing:
        enrol(owner, person, valid_from=dt.date(2025, 6, 1))
    assert missing.value.code == "no_policy"
    assert not FlexibleEnrolment.objects.exists()


def test_only_those_who_register_persons_enrol(policy, person, cashier, stranger, officer):
    for user in (cashier, stranger, officer):
        with pytest.raises(Forbidden):
            enrol(user, person)


def test_the_database_holds_one_open_enrolment_per_person(owner, policy, person):
    from django.db import IntegrityError, transaction

    enrolment = enrol(owner, person)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlexibleEnrolment.objects.create(
            area_id=person.area_id,
            person=person,
            valid_from=JULY,
            base_ratio=Decimal(1),
            created_by=owner,
            created_at=enrolment.created_at,
        )


def test_it_ends_an_enrolment_but_not_before_a_billed_month(owner, officer, policy, area, person):
    enrolment = enrol(owner, person)
    run(officer, area, JUNE, JULY)

    with pytest.raises(Conflict) as refused:
        flexible.flexible_end(actor=owner, enrolment=enrolment, valid_to=JULY)
    assert refused.value.code == "month_billed"
    assert "2026-08" in refused.value.message
    flexible.flexible_end(actor=owner, enrolment=enrolment, valid_to=AUGUST)
    run(officer, area, AUGUST)

    assert sorted(FlexibleBill.objects.values_list("period", flat=True)) == [JUNE, JULY]
    with pytest.raises(Conflict):
        flexible.flexible_end(actor=owner, enrolment=enrolment, valid_to=dt.date(2026, 9, 1))
    with pytest.raises(Conflict) as overlap:
        enrol(owner, person, valid_from=JULY)
    assert overlap.value.code == "enrolment_overlap"
    assert enrol(owner, person, "1", valid_from=AUGUST).base_ratio == 1


# --- payments -------------------------------------------------------------------------------


def test_it_pays_the_oldest_month_first_late_fee_before_contributions(
    owner, officer, cashier, policy, area, person
):
    enrol(owner, person)
    run(officer, area, JUNE, JULY)
    # On 2026-09-14 June (overdue from 07-16) is 60 days late: 960 × 0.05% × 60 = 28.80;
    # July (overdue from 08-16) 29 days: 960 × 0.05% × 29 = 13.92.
    statement = flexible.flexible_statement(cashier, person, dt.date(2026, 9, 14))
    assert [(m.days_overdue, m.late_fee_due_cents) for m in statement.months] == [
        (60, 2_880),
        (29, 1_392),
    ]

    payment = pay(cashier, person, "F001", "1488.80", dt.date(2026, 9, 14))

    assert split(payment) == [(JUNE, 96_000, 2_880), (JULY, 48_608, 1_392)]
    after = flexible.flexible_statement(cashier, person, dt.date(2026, 9, 14))
    assert [m.status for m in after.months] == ["paid", "part"]
    assert (after.principal_due_cents, after.late_fee_due_cents) == (47_392, 0)


def test_it_credits_the_account_only_when_the_months_pension_is_paid(
    owner, officer, cashier, policy, area, person
):
    enrol(owner, person)
    run(officer, area, JUNE, JULY)

    pay(cashier, person, "F001", "500", dt.date(2026, 7, 15))  # June in part, on its due day
    assert not AccountEntry.objects.exists()

    second = pay(cashier, person, "F002", "460", dt.date(2026, 7, 15))  # June complete

    entry = AccountEntry.objects.get()
    assert (entry.kind, entry.period, entry.amount_cents) == ("contribution", JUNE, 38_400)
    assert entry.flexible_allocation is not None
    assert entry.flexible_allocation.payment == second
    account = PersonalAccount.objects.get(person=person)
    assert (account.balance_cents, account.entries_count) == (38_400, 1)

    pay(cashier, person, "F003", "2000", dt.date(2026, 8, 15))  # July, and 1,040 left over

    assert sorted(AccountEntry.objects.values_list("period", "amount_cents")) == [
        (JUNE, 38_400),
        (JULY, 38_400),
    ]
    account.refresh_from_db()
    assert account.balance_cents == 76_800 == account.entries.aggregate(s=Sum("amount_cents"))["s"]
    statement = flexible.flexible_statement(cashier, person, dt.date(2026, 8, 15))
    assert statement.credit_cents == 104_000


def test_a_bank_reference_records_once(owner, officer, cashier, policy, area, person):
    enrol(owner, person)
    run(officer, area, JUNE)
    first = pay(cashier, person, "F001", "960", dt.date(2026, 7, 10))

    again = flexible.flexible_payment_record_outcome(
        actor=cashier,
        person=person,
        bank_reference=" F001 ",
        amount=Decimal("960.00"),
        paid_on=dt.date(2026, 7, 10),
    )

    assert (again.payment, again.created) == (first, False)
    assert FlexibleAllocation.objects.count() == 1
    with pytest.raises(Conflict) as clash:
        pay(cashier, person, "F001", "961", dt.date(2026, 7, 10))
    assert clash.value.code == "bank_reference_used"
    assert FlexiblePayment.objects.count() == 1
    assert AccountEntry.objects.count() == 1


def test_it_refuses_payments_it_cannot_take(owner, policy, person, cashier, stranger):
    with pytest.raises(Forbidden):
        pay(stranger, person, "F001", "1", dt.date(2026, 7, 10))
    with pytest.raises(InvalidInput) as refused:
        pay(cashier, person, "F001", "1", dt.date(2099, 1, 1))
    assert refused.value.code == "paid_on_future"
    with pytest.raises(InvalidInput) as refused:
        pay(cashier, person, "F001", "0", dt.date(2026, 7, 10))
    assert refused.value.code == "amount_range"
    assert not FlexiblePayment.objects.exists()


# --- contribution months ---------------------------------------------------------------


def test_a_paid_month_counts_and_is_no_longer_a_gap(
    owner, officer, cashier, auditor, policy, area, person
):
    enrol(owner, person)
    run(officer, area, JUNE, JULY)
    pay(cashier, person, "F001", "960", dt.date(2026, 7, 15))

    record = personal.contribution_record(auditor, person)
    assert record.months_of("pension") == 1
    assert record.months_of("medical") == 0
    gaps = personal.contribution_gaps(auditor, person, JUNE, AUGUST)
    assert [(g.month, g.billed) for g in gaps] == [(JULY, True), (AUGUST, False)]

    estimate = personal.pension_estimate(auditor, person, on=dt.date(2026, 8, 15))
    assert estimate.months_contributed == 1
    assert (estimate.monthly_base, estimate.monthly_individual_pension) == (
        Decimal("4800.00"),
        Decimal("384.00"),
    )
    assert estimate.current_balance == Decimal("384.00")


def test_a_medical_month_counts_once_medical_is_paid_too(owner, officer, cashier, area, person):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
        flexible_medical_rate="0.1",
    )
    enrol(owner, person, medical=True)  # pension 960 + medical 480
    run(officer, area, JUNE)

    pay(cashier, person, "F001", "960", dt.date(2026, 7, 15))
    assert flexible.flexible_paid_months(person) == {"pension": [JUNE]}
    pay(cashier, person, "F002", "480", dt.date(2026, 7, 15))
    assert flexible.flexible_paid_months(person) == {"pension": [JUNE], "medical": [JUNE]}


# --- who sees what ------------------------------------------------------------------------


def test_the_person_and_the_areas_staff_see_the_months_a_stranger_does_not(
    owner, officer, policy, area, person, individual, stranger, employer_user
):
    enrolment = enrol(owner, person)
    run(officer, area, JUNE)
    on = dt.date(2026, 8, 1)

    for user in (owner, officer, individual):
        assert [m.bill.period for m in flexible.flexible_statement(user, person, on).months] == [
            JUNE
        ]
        assert flexible.enrolment_get(user, enrolment.pk) == enrolment
    for user in (stranger, employer_user):
        assert flexible.flexible_statement(user, person, on).months == []
        assert flexible.person_enrolments(user, person) == []
        with pytest.raises(NotFound):
            flexible.enrolment_get(user, enrolment.pk)


def test_every_write_is_in_the_audit_chain(owner, officer, cashier, policy, area, person):
    enrolment = enrol(owner, person)
    run(officer, area, JUNE)
    pay(cashier, person, "F001", "960", dt.date(2026, 7, 15))
    flexible.flexible_end(actor=owner, enrolment=enrolment, valid_to=JULY)

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"flexible.enrol", "flexible.bill", "flexible.payment", "flexible.end"} <= actions
    assert audit_verify()[1] == []


# --- properties ------------------------------------------------------------------------------


class PaymentsNeverLoseACent(TestCase):
    """Whatever the months and payments: each payment is its allocations plus what
    is left over; an allocation is principal plus late fee; no month is paid more
    than it owes; money is left over only when every month is paid; and the account
    holds the account share of exactly the months whose pension is paid."""

    @settings(max_examples=25, deadline=None)
    @given(
        st.sampled_from(["0.6", "0.75", "1", "2.33333", "3"]),
        st.integers(min_value=1, max_value=4),
        st.lists(
            st.tuples(st.integers(min_value=1, max_value=600_000), st.integers(0, 250)),
            min_size=1,
            max_size=5,
        ),
    )
    def test_it(self, ratio, months, paid):
        area, officer, _employer = contribution_world(average_monthly_wage="8000")
        registrar = make_user("registrar", Role.REGISTRAR, area)
        person = Person.objects.create(
            area=area,
            id_number=make_identity_number("110105", dt.date(1980, 1, 1), 11),
            name="王芳",
            birth_date=dt.date(1980, 1, 1),
            sex="F",
            registered_on=dt.date(2000, 1, 1),
        )
        enrol(registrar, person, ratio, valid_from=dt.date(2026, 1, 1))
        run(officer, area, *[dt.date(2026, m, 1) for m in range(1, months + 1)])
        for n, (cents, day) in enumerate(paid):
            pay(
                officer,
                person,
                f"P{n}",
                Decimal(cents) / 100,
                dt.date(2026, 2, 1) + dt.timedelta(days=day),
            )

        leftover = 0
        for payment in FlexiblePayment.objects.all():
            allocated = payment.allocations.aggregate(
                principal=Sum("principal_cents"), fee=Sum("late_fee_cents")
            )
            principal, fee = allocated["principal"] or 0, allocated["fee"] or 0
            assert principal + fee <= payment.amount_cents
            leftover += payment.amount_cents - principal - fee
        received = sum(cents for cents, _day in paid)
        allocated_all = (
            FlexibleAllocation.objects.aggregate(
                total=Sum("principal_cents") + Sum("late_fee_cents")
            )["total"]
            or 0
        )
        assert allocated_all + leftover == received
        credited = 0
        for bill in FlexibleBill.objects.all():
            paid_principal = bill.allocations.aggregate(p=Sum("principal_cents"))["p"] or 0
            assert paid_principal <= bill.principal_cents
            if leftover:
                assert paid_principal == bill.principal_cents
            if paid_principal >= bill.pension_cents:
                credited += bill.account_cents
        account = PersonalAccount.objects.filter(person=person).first()
        assert (account.balance_cents if account else 0) == credited
        assert (AccountEntry.objects.aggregate(s=Sum("amount_cents"))["s"] or 0) == credited
