"""Flexible workers (灵活就业人员): enrolment, monthly bills and their own payments.

Design notes
- DOMAIN §3: a flexible worker pays the pension insurance themselves, at the
  policy's `flexible_pension_rate` (20%) of a base they choose, of which
  `flexible_account_rate` (8% of the base) goes to their personal account and
  the rest to the pooled fund. Where the area offers it
  (`flexible_medical_rate` > 0) and the worker chose it, medical insurance too;
  never maternity, unemployment or work injury.
- The base is a share of the area's average monthly wage, between the policy's
  floor and ceiling (60%–300% by default), checked against the policy in force
  in the first month. Each month's base is that month's average × the share,
  rounded half up to the cent and clamped to that month's floor and ceiling,
  so the base follows the average wage. Average 8,000 at 0.6 → base 4,800.00,
  pension 960.00 of which 384.00 to the personal account.
- Someone employed in the area in a month is insured through the employer for
  it: they cannot enrol from such a month, and a month an employment covers is
  not billed to them.
- Bills: the billing run of a month (`billing.bill_run`) adds in one
  INSERT … SELECT one bill for every enrolment in force that month and not yet
  billed, so a second run adds nothing. An enrolment made later for a past
  month is billed by running that month again. Due like employers' bills: on
  the policy's due day of the next month.
- Payments are recorded like employers' (`payments`): idempotent by (area,
  bank reference); allocated when recorded to the person's unpaid months,
  oldest first, each month's late fee (SIL art. 86, run until the day paid)
  before its contributions, and within the contributions the pension before
  the medical insurance. Money left over stays on the payment (a credit).
- A month counts as a pension month once its pension is paid, and as a
  medical month once its medical insurance is paid too. The personal-account
  share is credited when the pension is paid, not when billed (DOMAIN §4),
  by the allocation that completed it.
- Money is integer cents throughout, as in `payments`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can, require
from shebao.audit.services import audit_record, snapshot
from shebao.contributions.models import (
    AccountEntry,
    AccountEntryKind,
    BillingRun,
    FlexibleAllocation,
    FlexibleBill,
    FlexibleEnrolment,
    FlexiblePayment,
    Insurance,
    PaymentSource,
    PersonalAccount,
    Policy,
)
from shebao.contributions.payments import (
    _reference,
    amount_cents,
    check_paid_on_and_source,
    entries_log,
    money_of,
)
from shebao.contributions.rules import late_fee, late_fee_days
from shebao.contributions.services import policy_for
from shebao.core.dates import add_months
from shebao.core.errors import Conflict, InvalidInput, NotFound
from shebao.inquiry.cache import history_changed
from shebao.registry.models import Employment, Person, PersonStatus

_ZERO = Value(0)
RATE_UNITS = 100_000  # rates are stored with five decimals


def _cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _month_end(period: dt.date) -> dt.date:
    return add_months(period, 1) - dt.timedelta(days=1)


def _first_day(day: dt.date, field: str) -> dt.date:
    if day.day != 1:
        raise InvalidInput(
            _("A month is given by its first day, e.g. 2026-10-01."), code="period_day", field=field
        )
    return day


def _employments_in(person: Person, period: dt.date) -> QuerySet[Employment]:
    """The person's employments in the area covering any day of the month."""
    return Employment.objects.filter(
        area_id=person.area_id, person=person, start_date__lte=_month_end(period)
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=period))


def _base_ratio(value: Any) -> Decimal:
    try:
        ratio = Decimal(str(value))
    except InvalidOperation:
        ratio = Decimal("NaN")
    if not ratio.is_finite() or ratio != ratio.quantize(Decimal("0.00001")):
        raise InvalidInput(
            _("The base is a share of the average wage like 0.6 or 1.5, got %(value)s."),
            code="base_ratio_format",
            field="base_ratio",
            params={"value": value},
        )
    return ratio


# --- enrolment -------------------------------------------------------------------


@transaction.atomic
def flexible_enrol(
    *,
    actor: User,
    person: Person,
    valid_from: dt.date,
    base_ratio: Decimal | str,
    medical: bool = False,
) -> FlexibleEnrolment:
    """Enrol a person as a flexible worker from the month `valid_from`.

    `base_ratio` is the base they chose as a share of the area's average wage
    (0.6 to 3 under the default policy). Refused when the person is employed
    in the area in that month (the employer insures them), already enrolled,
    not insured any more (deceased, moved away), when the share is outside the
    policy's floor and ceiling, or when medical insurance is asked for in an
    area that does not offer it to flexible workers.
    """
    require(actor, "person.register", area_code=person.area_id)
    _first_day(valid_from, "valid_from")
    ratio = _base_ratio(base_ratio)
    # One person's enrolments change one at a time.
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(
            _("%(name)s is recorded as %(status)s and cannot be enrolled."),
            code="person_not_active",
            params={"name": person.name, "status": person.get_status_display()},
        )
    enrolments = FlexibleEnrolment.objects.filter(area_id=person.area_id, person=person)
    current = enrolments.filter(valid_to__isnull=True).first()
    if current is not None:
        raise Conflict(
            _(
                "%(name)s is already enrolled as a flexible worker since %(month)s; end that "
                "enrolment first to change the base."
            ),
            code="already_enrolled",
            params={"name": person.name, "month": f"{current.valid_from:%Y-%m}"},
        )
    earlier = enrolments.filter(valid_to__gt=valid_from).order_by("-valid_to").first()
    if earlier is not None and earlier.valid_to is not None:
        raise Conflict(
            _("%(name)s was enrolled until %(month)s; a new enrolment starts then or later."),
            code="enrolment_overlap",
            field="valid_from",
            params={"name": person.name, "month": f"{earlier.valid_to:%Y-%m}"},
        )
    employment = _employments_in(person, valid_from).select_related("employer").first()
    if employment is not None:
        raise Conflict(
            _(
                "%(name)s is employed by %(employer)s in %(month)s and insured through the "
                "employer; a flexible enrolment starts after the employment ends."
            ),
            code="employed",
            field="valid_from",
            params={
                "name": person.name,
                "employer": employment.employer.name,
                "month": f"{valid_from:%Y-%m}",
            },
        )
    policy = policy_for(person.area_id, valid_from)
    if not policy.base_floor_ratio <= ratio <= policy.base_ceiling_ratio:
        raise InvalidInput(
            _(
                "The base must be between %(floor)s and %(ceiling)s times the average wage "
                "(%(wage)s in %(month)s), got %(ratio)s."
            ),
            code="base_ratio_range",
            field="base_ratio",
            params={
                "floor": policy.base_floor_ratio.normalize(),
                "ceiling": policy.base_ceiling_ratio.normalize(),
                "wage": policy.average_monthly_wage,
                "month": f"{valid_from:%Y-%m}",
                "ratio": ratio.normalize(),
            },
        )
    if medical and not policy.flexible_medical_rate:
        raise InvalidInput(
            _("The area offers flexible workers no medical insurance of their own."),
            code="medical_not_offered",
            field="medical",
        )
    enrolment = FlexibleEnrolment.objects.create(
        area_id=person.area_id,
        person=person,
        valid_from=valid_from,
        base_ratio=ratio,
        medical=medical,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="flexible.enrol",
        subject=enrolment,
        area_code=person.area_id,
        after=snapshot(enrolment),
    )
    return enrolment


@transaction.atomic
def flexible_end(
    *, actor: User, enrolment: FlexibleEnrolment, valid_to: dt.date
) -> FlexibleEnrolment:
    """End an enrolment: `valid_to` is the first month no longer paid.

    Bills are never withdrawn, so the end cannot come before a month already
    billed.
    """
    require(actor, "person.register", area_code=enrolment.area_id)
    _first_day(valid_to, "valid_to")
    enrolment = FlexibleEnrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.valid_to is not None:
        raise Conflict(
            _("The enrolment already ended in %(month)s."),
            code="enrolment_ended",
            params={"month": f"{enrolment.valid_to:%Y-%m}"},
        )
    if valid_to <= enrolment.valid_from:
        raise InvalidInput(
            _("The enrolment began in %(month)s; it can end from the month after at the earliest."),
            code="period_order",
            field="valid_to",
            params={"month": f"{enrolment.valid_from:%Y-%m}"},
        )
    last_billed = (
        FlexibleBill.objects.filter(
            area_id=enrolment.area_id, enrolment=enrolment, period__gte=valid_to
        )
        .order_by("-period")
        .first()
    )
    if last_billed is not None:
        raise Conflict(
            _("%(month)s is billed already; end the enrolment from %(next)s or later."),
            code="month_billed",
            field="valid_to",
            params={
                "month": f"{last_billed.period:%Y-%m}",
                "next": f"{add_months(last_billed.period, 1):%Y-%m}",
            },
        )
    before = snapshot(enrolment)
    enrolment.valid_to = valid_to
    enrolment.save(update_fields=["valid_to"])
    audit_record(
        actor=actor,
        action="flexible.end",
        subject=enrolment,
        area_code=enrolment.area_id,
        before=before,
        after=snapshot(enrolment),
    )
    return enrolment


# --- billing ------------------------------------------------------------------------

T_ENROLMENT = FlexibleEnrolment._meta.db_table
T_BILL = FlexibleBill._meta.db_table
T_EMPLOYMENT = Employment._meta.db_table

# Every enrolment in force in the month, not billed yet, whose person no
# employment covers that month: the chosen base (average × share, half up)
# clamped to [floor, ceiling], each amount base × rate half up, in cents.
_BILLS = f"""
    INSERT INTO {T_BILL} (area_id, person_id, enrolment_id, period, base_cents, pension_cents,
                          account_cents, medical_cents, due_on, run_id, created_at)
    SELECT %(area)s, b.person_id, b.id, %(period)s, b.base_cents,
           (b.base_cents * %(pension_units)s + 50000) / 100000,
           (b.base_cents * %(account_units)s + 50000) / 100000,
           CASE WHEN b.medical THEN (b.base_cents * %(medical_units)s + 50000) / 100000
                ELSE 0 END,
           %(due_on)s, %(run)s, %(now)s
    FROM (SELECT c.id, c.person_id, c.medical,
                 CASE WHEN c.chosen_cents < %(floor)s THEN %(floor)s
                      WHEN c.chosen_cents > %(ceiling)s THEN %(ceiling)s
                      ELSE c.chosen_cents END AS base_cents
          FROM (SELECT id, person_id, medical,
                       (%(average)s * CAST(ROUND(base_ratio * 100000) AS BIGINT) + 50000)
                       / 100000 AS chosen_cents
                FROM {T_ENROLMENT}
                WHERE area_id = %(area)s AND valid_from <= %(period)s
                  AND (valid_to IS NULL OR valid_to > %(period)s)) c) b
    WHERE NOT EXISTS (SELECT 1 FROM {T_BILL} f WHERE f.area_id = %(area)s
                      AND f.person_id = b.person_id AND f.period = %(period)s)
      AND NOT EXISTS (SELECT 1 FROM {T_EMPLOYMENT} w WHERE w.area_id = %(area)s
                      AND w.person_id = b.person_id AND w.start_date <= %(month_end)s
                      AND (w.end_date IS NULL OR w.end_date >= %(period)s))
"""  # noqa: S608 - table names are constants; every value is a parameter


def _units(rate: Decimal) -> int:
    return _cents(rate * RATE_UNITS)


def flexible_bill_run(
    *, actor: User | None, run: BillingRun, policy: Policy, due_on: dt.date, now: dt.datetime
) -> int:
    """Bill the flexible workers of the run's area and month; returns the bills added.

    Called by `billing.bill_run` inside its transaction, with the month's
    policy and due day; re-runnable like it (an enrolment billed for the
    month is not billed again).
    """
    average = policy.average_monthly_wage * 100
    params: dict[str, Any] = {
        "area": run.area_id,
        "period": run.period,
        "month_end": _month_end(run.period),
        "average": _cents(average),
        "floor": _cents(average * policy.base_floor_ratio),
        "ceiling": _cents(average * policy.base_ceiling_ratio),
        "pension_units": _units(policy.flexible_pension_rate),
        "account_units": _units(policy.flexible_account_rate),
        "medical_units": _units(policy.flexible_medical_rate),
        "due_on": due_on,
        "run": run.pk,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(_BILLS, params)
        created = max(cursor.rowcount, 0)
    if created:
        audit_record(
            actor=actor,
            action="flexible.bill",
            subject=run,
            area_code=run.area_id,
            after={"period": run.period, "policy": policy.pk, "bills_created": created},
        )
    return created


# --- balances -------------------------------------------------------------------------


def overdue_from(bill: FlexibleBill) -> dt.date:
    """The first day a month's contributions are overdue: the day after they are due."""
    return bill.due_on + dt.timedelta(days=1)


@dataclass(frozen=True)
class FlexibleMonth:
    """One billed month of a flexible worker: what is paid and due as of a day."""

    bill: FlexibleBill
    on: dt.date
    daily_rate: Decimal
    principal_paid_cents: int
    late_fee_accrued_cents: int
    late_fee_paid_cents: int

    @property
    def principal_cents(self) -> int:
        return self.bill.principal_cents

    @property
    def principal_due_cents(self) -> int:
        return max(self.principal_cents - self.principal_paid_cents, 0)

    @property
    def late_fee_due_cents(self) -> int:
        return max(self.late_fee_accrued_cents - self.late_fee_paid_cents, 0)

    @property
    def total_due_cents(self) -> int:
        return self.principal_due_cents + self.late_fee_due_cents

    @property
    def days_overdue(self) -> int:
        if not self.principal_due_cents:
            return 0
        return late_fee_days(overdue_from=overdue_from(self.bill), paid_on=self.on)

    @property
    def pension_paid(self) -> bool:
        return self.principal_paid_cents >= self.bill.pension_cents

    @property
    def medical_paid(self) -> bool:
        return self.bill.medical_cents > 0 and self.principal_due_cents == 0

    @property
    def status(self) -> str:
        """paid, part (partly paid) or unpaid."""
        if self.principal_due_cents == 0:
            return "paid"
        return "part" if self.principal_paid_cents else "unpaid"


def _fee_cents(principal_cents: int, bill: FlexibleBill, until: dt.date, rate: Decimal) -> int:
    if principal_cents <= 0:
        return 0
    fee = late_fee(
        overdue_amount=money_of(principal_cents),
        overdue_from=overdue_from(bill),
        paid_on=until,
        daily_rate=rate,
    )
    return int(fee.scaleb(2))


def _months(
    bills: Iterable[FlexibleBill], on: dt.date, *, paid_until: dt.date | None
) -> list[FlexibleMonth]:
    """The months of `bills` as of `on`, counting the allocations of payments made
    on or before `paid_until` (all of them when None).

    As for employers' bills, each part paid carries the fee run on it until its
    own day of payment, and what is unpaid the fee run until `on`.
    """
    bills = list(bills)
    allocations = FlexibleAllocation.objects.filter(bill__in=bills)
    if paid_until is not None:
        allocations = allocations.filter(payment__paid_on__lte=paid_until)
    parts: dict[int, list[tuple[int, int, dt.date]]] = defaultdict(list)
    for bill_id, principal, fee, paid_on in allocations.values_list(
        "bill_id", "principal_cents", "late_fee_cents", "payment__paid_on"
    ):
        parts[bill_id].append((principal, fee, paid_on))
    rates: dict[tuple[str, dt.date], Decimal] = {}
    result = []
    for bill in bills:
        key = (bill.area_id, bill.period)
        if key not in rates:
            rates[key] = policy_for(bill.area_id, bill.period).late_fee_daily_rate
        rate = rates[key]
        paid = sum(principal for principal, _fee, _day in parts[bill.pk])
        accrued = sum(
            _fee_cents(principal, bill, day, rate) for principal, _fee, day in parts[bill.pk]
        ) + _fee_cents(bill.principal_cents - paid, bill, on, rate)
        result.append(
            FlexibleMonth(
                bill=bill,
                on=on,
                daily_rate=rate,
                principal_paid_cents=paid,
                late_fee_accrued_cents=accrued,
                late_fee_paid_cents=sum(fee for _principal, fee, _day in parts[bill.pk]),
            )
        )
    return result


def _with_paid(bills: QuerySet[FlexibleBill], paid_until: dt.date | None) -> QuerySet[Any]:
    paid = Q(allocations__payment__paid_on__lte=paid_until) if paid_until is not None else Q()
    return bills.annotate(
        principal_paid=Coalesce(Sum("allocations__principal_cents", filter=paid), _ZERO)
    )


def _unpaid(person: Person) -> QuerySet[FlexibleBill]:
    """The person's months whose contributions are not fully paid, oldest first."""
    return (
        _with_paid(FlexibleBill.objects.filter(area_id=person.area_id, person=person), None)
        .filter(principal_paid__lt=F("pension_cents") + F("medical_cents"))
        .order_by("period", "pk")
    )


# --- payments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlexibleRecorded:
    payment: FlexiblePayment
    created: bool  # False: the same payment was recorded before; nothing changed


@transaction.atomic
def credit_paid_flexible_month(
    *, bill: FlexibleBill, allocation: FlexibleAllocation
) -> AccountEntry | None:
    """Credit a month's personal-account share once its pension is paid (DOMAIN §4).

    The entry points to the allocation that completed the pension; a month
    credited before is not credited again. The account is created if need be
    and locked, and the entry and the balance change go together.
    """
    paid = FlexibleAllocation.objects.filter(bill=bill).aggregate(
        paid=Coalesce(Sum("principal_cents"), _ZERO)
    )["paid"]
    if paid < bill.pension_cents:
        raise Conflict(
            _("The pension of the month is not fully paid; nothing is credited before it is."),
            code="bill_not_paid",
        )
    credited = AccountEntry.objects.filter(
        kind=AccountEntryKind.CONTRIBUTION, flexible_allocation__bill=bill
    ).aggregate(cents=Coalesce(Sum("amount_cents"), _ZERO))["cents"]
    amount = bill.account_cents - credited
    if amount <= 0:
        return None
    PersonalAccount.objects.get_or_create(
        person_id=bill.person_id, defaults={"area_id": bill.area_id}
    )
    account = PersonalAccount.objects.select_for_update().get(person_id=bill.person_id)
    entry = AccountEntry.objects.create(
        area_id=account.area_id,
        account=account,
        kind=AccountEntryKind.CONTRIBUTION,
        period=bill.period,
        amount_cents=amount,
        flexible_allocation=allocation,
        created_at=timezone.now(),
    )
    PersonalAccount.objects.filter(pk=account.pk).update(
        balance_cents=F("balance_cents") + amount, entries_count=F("entries_count") + 1
    )
    return entry


def _allocate(payment: FlexiblePayment) -> tuple[list[FlexibleAllocation], list[AccountEntry]]:
    """Spread a new payment over the person's unpaid months, oldest first."""
    unpaid = list(_unpaid(payment.person))
    # The bills are locked against a second payment of the same person; their
    # amounts never change after billing.
    locked = FlexibleBill.objects.select_for_update().in_bulk([bill.pk for bill in unpaid])
    remaining = payment.amount_cents
    allocations: list[FlexibleAllocation] = []
    entries: list[AccountEntry] = []
    for month in _months([locked[b.pk] for b in unpaid], payment.paid_on, paid_until=None):
        if remaining == 0:
            break
        fee = min(remaining, month.late_fee_due_cents)
        principal = min(remaining - fee, month.principal_due_cents)
        if fee + principal == 0:
            continue
        allocation = FlexibleAllocation.objects.create(
            area_id=payment.area_id,
            payment=payment,
            bill=month.bill,
            principal_cents=principal,
            late_fee_cents=fee,
        )
        allocations.append(allocation)
        remaining -= fee + principal
        before = month.principal_paid_cents
        if before < month.bill.pension_cents <= before + principal:
            entry = credit_paid_flexible_month(bill=month.bill, allocation=allocation)
            if entry is not None:
                entries.append(entry)
    return allocations, entries


def _same_or_conflict(
    existing: FlexiblePayment, person: Person, cents: int, paid_on: dt.date
) -> None:
    if (existing.person_id, existing.amount_cents, existing.paid_on) != (person.pk, cents, paid_on):
        raise Conflict(
            _(
                "Bank reference %(reference)s was already recorded for another payment "
                "(%(amount)s on %(day)s)."
            ),
            code="bank_reference_used",
            field="bank_reference",
            params={
                "reference": existing.bank_reference,
                "amount": money_of(existing.amount_cents),
                "day": existing.paid_on.isoformat(),
            },
        )


@transaction.atomic
def flexible_payment_record_outcome(
    *,
    actor: User,
    person: Person,
    bank_reference: str,
    amount: Decimal | int,
    paid_on: dt.date,
    source: str = PaymentSource.COUNTER,
) -> FlexibleRecorded:
    """`flexible_payment_record`, also saying whether the payment is new."""
    require(actor, "payment.record", area_code=person.area_id)
    reference = _reference(bank_reference)
    cents = amount_cents(amount)
    check_paid_on_and_source(paid_on, source)
    # One person's payments are allocated one at a time.
    Person.objects.select_for_update().filter(pk=person.pk).first()
    existing = FlexiblePayment.objects.filter(
        area_id=person.area_id, bank_reference=reference
    ).first()
    if existing is not None:
        _same_or_conflict(existing, person, cents, paid_on)
        return FlexibleRecorded(existing, created=False)
    try:
        with transaction.atomic():
            payment = FlexiblePayment.objects.create(
                area_id=person.area_id,
                person=person,
                bank_reference=reference,
                amount_cents=cents,
                paid_on=paid_on,
                source=source,
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same reference for another person, at the same moment
        existing = FlexiblePayment.objects.get(area_id=person.area_id, bank_reference=reference)
        _same_or_conflict(existing, person, cents, paid_on)
        return FlexibleRecorded(existing, created=False)
    allocations, entries = _allocate(payment)
    history_changed(area=person.area_id, person=person.pk)  # inquiry.cache
    allocated = sum(a.principal_cents + a.late_fee_cents for a in allocations)
    audit_record(
        actor=actor,
        action="flexible.payment",
        subject=payment,
        area_code=person.area_id,
        after={
            "person_id": person.pk,
            "bank_reference": reference,
            "amount_cents": cents,
            "paid_on": paid_on,
            "source": source,
            "allocations": [
                {
                    "bill_id": a.bill_id,
                    "principal_cents": a.principal_cents,
                    "late_fee_cents": a.late_fee_cents,
                }
                for a in allocations
            ],
            "unallocated_cents": cents - allocated,
            "account_entries": entries_log(entries),
        },
    )
    return FlexibleRecorded(payment, created=True)


def flexible_payment_record(
    *,
    actor: User,
    person: Person,
    bank_reference: str,
    amount: Decimal | int,
    paid_on: dt.date,
    source: str = PaymentSource.COUNTER,
) -> FlexiblePayment:
    """Record money a flexible worker paid and allocate it to their months.

    Idempotent by (area, bank reference): the same reference again with the
    same person, amount and day returns the payment recorded before and
    changes nothing; with anything different it is a Conflict. The amount is
    in yuan, rounded half up to the cent.
    """
    return flexible_payment_record_outcome(
        actor=actor,
        person=person,
        bank_reference=bank_reference,
        amount=amount,
        paid_on=paid_on,
        source=source,
    ).payment


# --- selectors ------------------------------------------------------------------------


def _scoped(user: User, rows: QuerySet[Any]) -> QuerySet[Any]:
    """Area staff (and the ministry) see their area's flexible workers, an
    individual their own records, anyone else nothing."""
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if user.role == Role.INDIVIDUAL:
        return rows.filter(area_id=user.area_id, person_id=user.person_id or 0)
    if not can(user, "bill.read"):
        return rows.none()
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    return rows.none()


def enrolments_for(user: User) -> QuerySet[FlexibleEnrolment]:
    return _scoped(user, FlexibleEnrolment.objects.select_related("person", "created_by"))


def flexible_bills_for(user: User) -> QuerySet[FlexibleBill]:
    return _scoped(user, FlexibleBill.objects.all())


def flexible_payments_for(user: User) -> QuerySet[FlexiblePayment]:
    return _scoped(user, FlexiblePayment.objects.select_related("created_by"))


def enrolment_get(user: User, pk: int) -> FlexibleEnrolment:
    try:
        return enrolments_for(user).get(pk=pk)
    except FlexibleEnrolment.DoesNotExist:
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            params={"what": _("flexible worker enrolment")},
        ) from None


def person_enrolments(user: User, person: Person) -> list[FlexibleEnrolment]:
    """The person's enrolments the user may see, latest first."""
    return list(enrolments_for(user).filter(person=person).order_by("-valid_from", "-pk"))


@dataclass(frozen=True)
class FlexibleStatement:
    """A flexible worker's billed months as of a day, with the totals due."""

    person: Person
    on: dt.date
    months: list[FlexibleMonth]  # oldest first
    credit_cents: int  # paid and not allocated to any month

    @property
    def principal_due_cents(self) -> int:
        return sum(m.principal_due_cents for m in self.months)

    @property
    def late_fee_due_cents(self) -> int:
        return sum(m.late_fee_due_cents for m in self.months)

    @property
    def total_due_cents(self) -> int:
        return self.principal_due_cents + self.late_fee_due_cents


def flexible_statement(user: User, person: Person, on: dt.date) -> FlexibleStatement:
    """Every billed month of the person up to `on`, each paid (by payments made by
    then) or with what is still due and the late fee run until `on`."""
    bills = flexible_bills_for(user).filter(person=person, period__lte=on).order_by("period", "pk")
    payments = flexible_payments_for(user).filter(person=person, paid_on__lte=on)
    received = payments.aggregate(cents=Coalesce(Sum("amount_cents"), _ZERO))["cents"]
    allocated = FlexibleAllocation.objects.filter(payment__in=payments).aggregate(
        cents=Coalesce(Sum(F("principal_cents") + F("late_fee_cents")), _ZERO)
    )["cents"]
    return FlexibleStatement(
        person=person,
        on=on,
        months=_months(bills, on, paid_until=on),
        credit_cents=received - allocated,
    )


# --- contribution months (read by `personal`, which scopes who may see them) ------


def flexible_paid_months(person: Person) -> dict[str, list[dt.date]]:
    """Per insurance, the months the person paid as a flexible worker: pension once
    the month's pension is paid, medical once its medical insurance is paid too."""
    rows = _with_paid(
        FlexibleBill.objects.filter(area_id=person.area_id, person=person), None
    ).values_list("period", "pension_cents", "medical_cents", "principal_paid")
    months: dict[str, list[dt.date]] = defaultdict(list)
    for period, pension, medical, paid in rows.order_by("period"):
        if pension > 0 and paid >= pension:
            months[Insurance.PENSION].append(period)
        if medical > 0 and paid >= pension + medical:
            months[Insurance.MEDICAL].append(period)
    return dict(months)


def flexible_billed_months(person: Person, first: dt.date, last: dt.date) -> set[dt.date]:
    """The months from `first` to `last` billed to the person as a flexible worker."""
    return set(
        FlexibleBill.objects.filter(
            area_id=person.area_id, person=person, period__gte=first, period__lte=last
        ).values_list("period", flat=True)
    )


def flexible_open_month(person: Person, period: dt.date, on: dt.date) -> FlexibleMonth | None:
    """The person's flexible month `period` if it is billed and its contributions
    are not fully paid: what is open now, with the late fee run until `on`."""
    bill = _unpaid(person).filter(period=period).first()
    if bill is None:
        return None
    return _months([bill], on, paid_until=None)[0]


def flexible_latest_bill(person: Person) -> FlexibleBill | None:
    """The person's latest flexible month: its base and account share for estimates."""
    return (
        FlexibleBill.objects.filter(area_id=person.area_id, person=person)
        .order_by("-period", "-pk")
        .first()
    )
