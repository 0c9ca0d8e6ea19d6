"""Payments of contributions, their allocation to bills, arrears and late fees.

Design notes
- A payment is identified by the bank's reference, once per area. Recording
  the same reference again with the same employer, amount and day returns
  the payment already recorded and changes nothing (a bank file sent twice
  records nothing new); the same reference with anything different is a
  conflict.
- Allocation. Money an employer paid and no bill took yet is its credit.
  When a payment is recorded (in the same transaction), and when a billing
  run has changed the employer's bills (`credit_apply`), the credit is
  allocated: the unallocated money of each payment, oldest `paid_on` first
  (then the order recorded), to the employer's unpaid bills, oldest month
  first. Each allocation takes first the late fee run on the bill's unpaid
  contributions up to the `paid_on` of *that* payment, then the
  contributions themselves, and stops when the money runs out. So money
  that was there before a bill's due day settles it without a fee, and a
  payment never pays a fee that had not yet run on its day.
- Payments recorded out of date order. Allocations are never edited, so a
  payment recorded after a later-dated one does not take back what that one
  settled; it settles what is still open, as of its own `paid_on`: the fee
  it pays is the fee run until its day on what was unpaid then, less the fee
  already paid (a later-dated payment's fee covered those days already, so
  nothing is charged twice), and its leftover comes before any later-dated
  credit. June's 10,000 due 07-15: 100.00 paid on 09-14 is recorded first
  and settles 100.00 of the 300.00 fee run by then; 10,050.00 paid on 08-15
  is recorded after it and settles the 50.00 still due of the 150.00 run
  until 08-15, then the 10,000: in all the fee is 150.00, the fee on 10,000
  until the day the money was there, not the 300.00 run until 09-14. (A
  later-dated payment recorded first may have paid a fee on contributions
  that an earlier-dated one, recorded after it, settles; that fee stays
  paid.)
- A bill lowered after it was paid (a later run adds negative lines): what
  was allocated to it beyond its new total is released (`_release_excess`,
  run by `credit_apply` before it allocates): a release row of each
  allocation given back, newest first, for at most what that allocation
  still holds, so the bill keeps exactly its new total. The money released
  is its payment's unallocated money again, the employer's credit, and
  `credit_apply` settles the oldest open bills with it like any credit, as
  of that payment's `paid_on` (the money has been with the agency since
  then): a bill due after that day takes it without a fee. Only
  contributions are released; a late fee paid stays paid, and the fee a
  released part had paid counts against the fee the same bill runs later.
  Until the release is made (data from before it existed), the excess is
  counted as credit when read (`_credit_cents`).
- Late fee (SIL art. 86; DOMAIN §3): the policy's daily rate (0.05%) of the
  overdue contributions for each day from the day they became overdue, which
  is the day after the bill's `due_on` (`overdue_from`), until the day paid,
  by `rules.late_fee`. Contributions paid in parts each carry the fee that
  ran on that part until its own day of payment, so the fee due on a day is
      Σ late_fee(part paid, overdue_from, its day of payment)
      + late_fee(contributions still unpaid, overdue_from, day)
      − late fee already paid,
  never below zero. Because each payment settles the fee before it touches
  the contributions, a bill whose contributions are fully paid owes no fee.
  The fee is computed when read (live), never stored ahead of payment.
- Personal accounts (DOMAIN §4): the individual pension share is credited
  when it is *paid*, not when billed: when a payment completes a bill's
  contributions, each person's net individual pension of that bill is
  credited to their account (`credit_paid_bill`). When a correction lowers
  a person's share of a bill already credited, the part no longer owed is
  taken back at once by a `reversal` entry that points to the contribution
  entry it corrects, for the difference only: base 9,000 credited 720.00,
  base corrected to 5,000 (400.00), reversal −320.00. A raise is credited
  when the bill is paid again. So what a bill credited a person never
  exceeds the share the bill now holds for them, and equals it once paid.
- A person-month counts as paid only when the employer's whole bill for that
  month is paid: a partial payment is not attributed to particular people
  or insurances.
- Money is integer cents (fen) throughout; Decimal amounts from outside are
  rounded half up to the cent on the way in.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can, require
from shebao.audit.services import audit_record
from shebao.contributions.models import (
    AccountEntry,
    AccountEntryKind,
    Bill,
    BillingRun,
    BillLine,
    Insurance,
    Payment,
    PaymentAllocation,
    PaymentSource,
    PersonalAccount,
)
from shebao.contributions.rules import late_fee, late_fee_days
from shebao.contributions.services import policy_for
from shebao.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from shebao.inquiry.cache import history_changed
from shebao.registry.identifiers import normalize_credit_code
from shebao.registry.models import Employer, Person

if TYPE_CHECKING:
    from typing import TypeAlias

    from django_stubs_ext import WithAnnotations

    class _Allocated(TypedDict):
        allocated_cents: int  # contributions and late fee allocated to bills

    AllocatedPayment: TypeAlias = WithAnnotations[Payment, _Allocated]

    class _PrincipalPaid(TypedDict):
        principal_paid: int  # contributions allocated to the bill

    PaidBill: TypeAlias = WithAnnotations[Bill, _PrincipalPaid]

MAX_AMOUNT_CENTS = 10**14  # one trillion yuan: no payment is larger
MAX_REFERENCE = 64
MAX_ERRORS = 5000
# The agency's practice, not a rule of law: an arrears notice orders payment
# within this many days (SIL art. 86: "ordered to pay within a time limit").
NOTICE_DAYS = 15

_ZERO = Value(0)


def money_of(cents: int) -> Decimal:
    """Cents as yuan with two decimals: 15000 → Decimal("150.00")."""
    return Decimal(cents).scaleb(-2)


def amount_cents(amount: Decimal | int, *, field: str = "amount") -> int:
    """A positive amount in yuan as integer cents, rounded half up (0.005 → 1 fen)."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"{field} must be a Decimal, got {type(amount).__name__}")
    number = Decimal(amount)
    if not number.is_finite():
        raise InvalidInput(_("The amount must be a number."), code="amount_format", field=field)
    cents = int((number * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if not 0 < cents < MAX_AMOUNT_CENTS:
        raise InvalidInput(
            _("The amount must be at least 0.01 and below one trillion, got %(amount)s."),
            code="amount_range",
            field=field,
            params={"amount": number},
        )
    return cents


def overdue_from(bill: Bill) -> dt.date:
    """The first day a bill's contributions are overdue: the day after it is due."""
    return bill.due_on + dt.timedelta(days=1)


# --- balances -----------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """Contributions and late fee settled on a bill by one allocation, net of its
    releases."""

    principal_cents: int
    late_fee_cents: int
    paid_on: dt.date


@dataclass(frozen=True)
class BillBalance:
    """What is paid and due on a bill as of a day."""

    bill: Bill
    on: dt.date
    daily_rate: Decimal
    principal_cents: int
    principal_paid_cents: int
    late_fee_accrued_cents: int
    late_fee_paid_cents: int

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
    def overdue_from(self) -> dt.date:
        return overdue_from(self.bill)

    @property
    def days_overdue(self) -> int:
        if not self.principal_due_cents:
            return 0
        return late_fee_days(overdue_from=self.overdue_from, paid_on=self.on)

    @property
    def daily_late_fee(self) -> Decimal:
        """What one more day adds to the fee (once overdue), exact, not rounded."""
        return money_of(self.principal_due_cents) * self.daily_rate


def _late_fee_cents(principal_cents: int, bill: Bill, until: dt.date, daily_rate: Decimal) -> int:
    if principal_cents <= 0:
        return 0
    fee = late_fee(
        overdue_amount=money_of(principal_cents),
        overdue_from=overdue_from(bill),
        paid_on=until,
        daily_rate=daily_rate,
    )
    return int(fee.scaleb(2))


class _Rates:
    """The late-fee daily rate of the policy of each bill's month, read once per call."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, dt.date], Decimal] = {}

    def of(self, bill: Bill) -> Decimal:
        key = (bill.area_id, bill.period)
        if key not in self._rates:
            self._rates[key] = policy_for(bill.area_id, bill.period).late_fee_daily_rate
        return self._rates[key]


def _balances(
    bills: Iterable[Bill], on: dt.date, *, paid_until: dt.date | None
) -> list[BillBalance]:
    """Balances of bills as of `on`, counting the allocations of payments made on
    or before `paid_until` (all of them when None)."""
    bills = list(bills)
    allocations = PaymentAllocation.objects.filter(bill__in=bills)
    if paid_until is not None:
        allocations = allocations.filter(payment__paid_on__lte=paid_until)
    # A release belongs to its allocation's part: what stayed paid on that day.
    net: dict[int, list[int]] = {}
    days: dict[int, tuple[int, dt.date]] = {}
    for pk, release_of, bill_id, principal, fee, paid_on in allocations.order_by("pk").values_list(
        "pk", "release_of_id", "bill_id", "principal_cents", "late_fee_cents", "payment__paid_on"
    ):
        key = release_of or pk
        net.setdefault(key, [0, 0])
        net[key][0] += principal
        net[key][1] += fee
        days.setdefault(key, (bill_id, paid_on))
    parts: dict[int, list[_Part]] = defaultdict(list)
    for key, (principal, fee) in net.items():
        bill_id, paid_on = days[key]
        parts[bill_id].append(_Part(principal, fee, paid_on))
    rates = _Rates()
    result = []
    for bill in bills:
        rate = rates.of(bill)
        principal = bill.employer_cents + bill.individual_cents
        paid = sum(p.principal_cents for p in parts[bill.pk])
        accrued = sum(
            _late_fee_cents(p.principal_cents, bill, p.paid_on, rate) for p in parts[bill.pk]
        ) + _late_fee_cents(principal - paid, bill, on, rate)
        result.append(
            BillBalance(
                bill=bill,
                on=on,
                daily_rate=rate,
                principal_cents=principal,
                principal_paid_cents=paid,
                late_fee_accrued_cents=accrued,
                late_fee_paid_cents=sum(p.late_fee_cents for p in parts[bill.pk]),
            )
        )
    return result


def bill_balance(bill: Bill, on: dt.date) -> BillBalance:
    """A bill's contributions paid and due, and the late fee due, as of `on`
    (payments made after `on` do not count)."""
    return _balances([bill], on, paid_until=on)[0]


def _with_principal_paid(*, paid_until: dt.date | None, **where: Any) -> QuerySet[PaidBill]:
    """Bills with `principal_paid`: the contributions allocated to them by payments
    made up to `paid_until` (all of them when None)."""
    paid = Q(allocations__payment__paid_on__lte=paid_until) if paid_until is not None else Q()
    return Bill.objects.filter(**where).annotate(
        principal_paid=Coalesce(Sum("allocations__principal_cents", filter=paid), _ZERO)
    )


def _unpaid_bills(*, paid_until: dt.date | None, **where: Any) -> QuerySet[PaidBill]:
    """Bills whose contributions are not fully paid (by payments up to `paid_until`),
    oldest month first."""
    return (
        _with_principal_paid(paid_until=paid_until, **where)
        .filter(principal_paid__lt=F("employer_cents") + F("individual_cents"))
        .order_by("period", "pk")
    )


def _allocated() -> Coalesce:
    """A payment's allocated money: contributions and late fee, 0 when none."""
    return Coalesce(
        Sum(F("allocations__principal_cents") + F("allocations__late_fee_cents")), _ZERO
    )


# --- recording and allocating ---------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: the same payment was recorded before; nothing changed


def _reference(value: Any) -> str:
    reference = str(value or "").strip()
    if not reference or len(reference) > MAX_REFERENCE:
        raise InvalidInput(
            _("The bank reference must have 1 to %(max)d characters."),
            code="bank_reference_format",
            field="bank_reference",
            params={"max": MAX_REFERENCE},
        )
    return reference


def check_paid_on_and_source(paid_on: dt.date, source: str) -> None:
    """Refuse a day of payment in the future and a source not in `PaymentSource`
    (an employer's payment and a flexible worker's alike)."""
    if paid_on > timezone.localdate():
        raise InvalidInput(
            _("The day of payment %(day)s is in the future."),
            code="paid_on_future",
            field="paid_on",
            params={"day": paid_on.isoformat()},
        )
    if source not in PaymentSource.values:
        raise InvalidInput(
            _("Unknown payment source %(source)s."),
            code="payment_source",
            field="source",
            params={"source": source},
        )


def _same_or_conflict(existing: Payment, employer: Employer, cents: int, paid_on: dt.date) -> None:
    if (existing.employer_id, existing.amount_cents, existing.paid_on) != (
        employer.pk,
        cents,
        paid_on,
    ):
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
def credit_paid_bill(*, bill: Bill, allocation: PaymentAllocation) -> list[AccountEntry]:
    """Credit the individual pension share of a fully paid bill to personal accounts.

    DOMAIN §4: individual pension contributions are credited to the personal
    account when *paid*, not when billed; so this runs when a payment
    completes a bill's contributions, with the allocation that completed it.
    For each person on the bill the credit is the net individual amount of
    the bill's pension lines less what was already credited for this bill
    (a bill raised by a later correction and paid again credits only the
    difference; one lowered is taken back by `_settle_accounts`). The
    accounts are created if need be and locked; the entries and the balance
    changes go together in the caller's transaction.
    """
    principal = bill.employer_cents + bill.individual_cents
    paid = PaymentAllocation.objects.filter(bill=bill).aggregate(
        paid=Coalesce(Sum("principal_cents"), _ZERO)
    )["paid"]
    if paid < principal:
        raise Conflict(
            _("The bill is not fully paid; nothing is credited before it is."),
            code="bill_not_paid",
        )
    return _settle_accounts(bill, allocation=allocation)


def _settle_accounts(bill: Bill, *, allocation: PaymentAllocation | None) -> list[AccountEntry]:
    """Bring what `bill` credited each person to the individual pension share it
    holds for them now.

    A person credited more than the share gets a reversal of the difference
    (`_reverse`). A person credited less gets a contribution entry of the
    difference, by `allocation` — only when the bill is paid; pass None for
    a bill that is not, and nothing is credited. The accounts are created if
    need be and locked, one order for all (no deadlock between two callers).
    """
    shares = dict(
        BillLine.objects.filter(bill=bill, insurance=Insurance.PENSION)
        .values("person_id")
        .annotate(cents=Sum("individual_cents"))
        .values_list("person_id", "cents")
    )
    credited = dict(
        AccountEntry.objects.filter(allocation__bill=bill)
        .values("account__person_id")
        .annotate(cents=Sum("amount_cents"))
        .values_list("account__person_id", "cents")
    )
    changes = {
        person_id: change
        for person_id in shares.keys() | credited.keys()
        if (change := (shares.get(person_id) or 0) - (credited.get(person_id) or 0))
        and (change < 0 or allocation is not None)
    }
    now = timezone.now()
    entries: list[AccountEntry] = []
    people = sorted(changes)
    for start in range(0, len(people), SETTLE_CHUNK):
        entries += _settle_chunk(
            bill, allocation, changes, people[start : start + SETTLE_CHUNK], now
        )
    return entries


SETTLE_CHUNK = 2000  # accounts locked and written together


def _settle_chunk(
    bill: Bill,
    allocation: PaymentAllocation | None,
    changes: dict[int, int],
    people: list[int],
    now: dt.datetime,
) -> list[AccountEntry]:
    """`_settle_accounts` for some persons: their accounts made if missing and
    locked (in person order), one INSERT of the credits, the reversals entry by
    entry, and one UPDATE of the balances."""
    have = set(
        PersonalAccount.objects.filter(person_id__in=people).values_list("person_id", flat=True)
    )
    PersonalAccount.objects.bulk_create(
        [PersonalAccount(area_id=bill.area_id, person_id=p) for p in people if p not in have],
        ignore_conflicts=True,  # made meanwhile by another payment: that one is used
    )
    accounts = {
        account.person_id: account
        for account in PersonalAccount.objects.select_for_update()
        .filter(person_id__in=people)
        .order_by("person_id")
    }
    credits = AccountEntry.objects.bulk_create(
        [
            AccountEntry(
                area_id=accounts[p].area_id,
                account=accounts[p],
                kind=AccountEntryKind.CONTRIBUTION,
                period=bill.period,
                amount_cents=changes[p],
                allocation=allocation,
                created_at=now,
            )
            for p in people
            if changes[p] > 0
        ]
    )
    made: dict[int, list[AccountEntry]] = {entry.account.person_id: [entry] for entry in credits}
    for p in people:
        if changes[p] < 0:
            made[p] = _reverse(accounts[p], bill, -changes[p], now)
    for p, account in accounts.items():
        account.balance_cents += sum(entry.amount_cents for entry in made[p])
        account.entries_count += len(made[p])
    PersonalAccount.objects.bulk_update(
        accounts.values(), ["balance_cents", "entries_count"], batch_size=500
    )
    return [entry for p in people for entry in made[p]]


def _reverse(
    account: PersonalAccount, bill: Bill, cents: int, now: dt.datetime
) -> list[AccountEntry]:
    """Take back `cents` that `bill` credited to `account`: a reversal entry for each
    contribution entry it corrects, newest first, each for at most that entry's
    amount (a partial reversal when less is taken back).

    An entry may be reversed in parts (a month lowered twice), never beyond its
    amount: each reversal takes at most what the entry's earlier reversals left.
    """
    corrected = list(
        AccountEntry.objects.filter(
            account=account,
            allocation__bill=bill,
            kind=AccountEntryKind.CONTRIBUTION,
        )
        .annotate(reversed_cents=Coalesce(Sum("reversals__amount_cents"), 0))
        .order_by("-pk")
    )
    made = []

    def reversal(amount: int, allocation_id: int | None, reverses: AccountEntry | None) -> None:
        made.append(
            AccountEntry.objects.create(
                area_id=account.area_id,
                account=account,
                kind=AccountEntryKind.REVERSAL,
                period=bill.period,
                amount_cents=-amount,
                allocation_id=allocation_id,
                reverses=reverses,
                created_at=now,
            )
        )

    for entry in corrected:
        if cents == 0:
            break
        left = entry.amount_cents + entry.reversed_cents  # reversals are negative
        if left <= 0:
            continue
        taken = min(cents, left)
        reversal(taken, entry.allocation_id, entry)
        cents -= taken
    if cents:  # more taken back than this bill credited: cannot happen, but never hide it
        reversal(cents, corrected[0].allocation_id if corrected else None, None)
    return made


def _release_excess(employer: Employer) -> list[PaymentAllocation]:
    """Release what the employer's bills hold beyond their totals (bills a
    correction lowered after they were paid), so that each keeps exactly its
    total; the released money is its payment's credit again.

    Of each such bill the allocations are given back newest first, each for at
    most what it still holds (its principal less its earlier releases); a late
    fee is never released. The caller holds the employer's lock.
    """
    overpaid = _with_principal_paid(
        paid_until=None, area_id=employer.area_id, employer_id=employer.pk
    ).filter(principal_paid__gt=F("employer_cents") + F("individual_cents"))
    # Lock the bills against a billing run changing their totals meanwhile.
    locked = list(
        Bill.objects.select_for_update().filter(pk__in=overpaid.values("pk")).order_by("pk")
    )
    releases: list[PaymentAllocation] = []
    for bill in _with_principal_paid(paid_until=None, pk__in=[b.pk for b in locked]).order_by(
        "period", "pk"
    ):
        excess = bill.principal_paid - bill.employer_cents - bill.individual_cents
        held = (
            PaymentAllocation.objects.filter(bill=bill, release_of__isnull=True)
            .annotate(released_cents=Coalesce(Sum("releases__principal_cents"), _ZERO))
            .order_by("-pk")
        )
        for allocation in held:
            if excess <= 0:
                break
            left = allocation.principal_cents + allocation.released_cents  # releases < 0
            if left <= 0:
                continue
            given_back = min(excess, left)
            releases.append(
                PaymentAllocation.objects.create(
                    area_id=allocation.area_id,
                    payment_id=allocation.payment_id,
                    bill=bill,
                    principal_cents=-given_back,
                    late_fee_cents=0,
                    release_of=allocation,
                )
            )
            excess -= given_back
    return releases


def _settle(employer: Employer) -> tuple[list[PaymentAllocation], list[AccountEntry]]:
    """Allocate the employer's credit to its unpaid bills (see the module notes):
    the unallocated money of each payment, oldest `paid_on` first, to the bills,
    oldest month first, the late fee as of that payment's day before the
    contributions. The caller holds the employer's lock."""
    credits = list(
        Payment.objects.filter(area_id=employer.area_id, employer_id=employer.pk)
        .annotate(allocated_cents=_allocated())
        .filter(amount_cents__gt=F("allocated_cents"))
        .order_by("paid_on", "pk")
    )
    if not credits:
        return [], []
    unpaid = list(_unpaid_bills(paid_until=None, area_id=employer.area_id, employer_id=employer.pk))
    # Lock the bills against a billing run changing their totals meanwhile.
    locked = Bill.objects.select_for_update().in_bulk([bill.pk for bill in unpaid])
    bills = [locked[bill.pk] for bill in unpaid]
    allocations: list[PaymentAllocation] = []
    entries: list[AccountEntry] = []
    for payment in credits:
        remaining = payment.amount_cents - payment.allocated_cents
        paid: set[int] = set()
        for balance in _balances(bills, payment.paid_on, paid_until=None):
            if remaining == 0:
                break
            fee = min(remaining, balance.late_fee_due_cents)
            principal = min(remaining - fee, balance.principal_due_cents)
            if fee + principal == 0:
                continue
            allocation = PaymentAllocation.objects.create(
                area_id=payment.area_id,
                payment=payment,
                bill=balance.bill,
                principal_cents=principal,
                late_fee_cents=fee,
            )
            allocations.append(allocation)
            remaining -= fee + principal
            if principal == balance.principal_due_cents:
                paid.add(balance.bill.pk)
                if principal:
                    entries += credit_paid_bill(bill=balance.bill, allocation=allocation)
        bills = [bill for bill in bills if bill.pk not in paid]
        if not bills:
            break
    return allocations, entries


@transaction.atomic
def payment_record_outcome(
    *,
    actor: User,
    employer: Employer,
    bank_reference: str,
    amount: Decimal | int,
    paid_on: dt.date,
    source: str = PaymentSource.COUNTER,
) -> Recorded:
    """`payment_record`, also saying whether the payment is new (False: recorded before)."""
    require(actor, "payment.record", area_code=employer.area_id)
    reference = _reference(bank_reference)
    cents = amount_cents(amount)
    check_paid_on_and_source(paid_on, source)
    # One employer's payments are allocated one at a time: the second waits
    # here and then sees the first's allocations (and its reference).
    Employer.objects.select_for_update().filter(pk=employer.pk).first()
    existing = Payment.objects.filter(area_id=employer.area_id, bank_reference=reference).first()
    if existing is not None:
        _same_or_conflict(existing, employer, cents, paid_on)
        return Recorded(existing, created=False)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                area_id=employer.area_id,
                employer=employer,
                bank_reference=reference,
                amount_cents=cents,
                paid_on=paid_on,
                source=source,
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same reference for another employer, at the same moment
        existing = Payment.objects.get(area_id=employer.area_id, bank_reference=reference)
        _same_or_conflict(existing, employer, cents, paid_on)
        return Recorded(existing, created=False)
    settled, entries = _settle(employer)
    history_changed(area=employer.area_id, employer=employer.pk)  # inquiry.cache
    allocations = [a for a in settled if a.payment_id == payment.pk]
    allocated = sum(a.principal_cents + a.late_fee_cents for a in allocations)
    audit_record(
        actor=actor,
        action="payment.record",
        subject=payment,
        area_code=employer.area_id,
        after={
            "employer_id": employer.pk,
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
            # Older credit goes first: what earlier payments' money settled now.
            "credit_allocations": _allocation_log(a for a in settled if a.payment_id != payment.pk),
            "account_entries": entries_log(entries),
        },
    )
    return Recorded(payment, created=True)


AUDIT_ENTRY_IDS = 200  # entries named one by one in an audit record, at the most


def entries_log(entries: list[AccountEntry]) -> dict[str, Any]:
    """Personal-account entries as an audit record shows them: how many, their sum,
    and their ids when they are few (a bill of 100,000 persons would otherwise
    write 100,000 ids; each entry names the allocation the record lists)."""
    return {
        "count": len(entries),
        "cents": sum(entry.amount_cents for entry in entries),
        "ids": [entry.pk for entry in entries] if len(entries) <= AUDIT_ENTRY_IDS else None,
    }


def _allocation_log(allocations: Iterable[PaymentAllocation]) -> list[dict[str, int]]:
    return [
        {
            "payment_id": a.payment_id,
            "bill_id": a.bill_id,
            "principal_cents": a.principal_cents,
            "late_fee_cents": a.late_fee_cents,
        }
        for a in allocations
    ]


@dataclass(frozen=True)
class CreditApplied:
    """What `credit_apply` did: releases of what lowered bills no longer need,
    allocations of credit, and personal-account entries."""

    releases: list[PaymentAllocation]
    allocations: list[PaymentAllocation]
    entries: list[AccountEntry]


def _credit_apply(
    *, actor: User | None, employer: Employer, period: dt.date | None
) -> CreditApplied:
    with transaction.atomic():
        Employer.objects.select_for_update().filter(pk=employer.pk).first()
        releases = _release_excess(employer)
        allocations, entries = _settle(employer)
        bills = Bill.objects.filter(
            area_id=employer.area_id, employer_id=employer.pk, allocations__isnull=False
        )
        if period is not None:
            bills = bills.filter(Q(period=period) | Q(pk__in=[r.bill_id for r in releases]))
        for bill in _with_principal_paid(
            paid_until=None, pk__in=bills.values("pk").distinct()
        ).order_by("period", "pk"):
            paid = bill.principal_paid >= bill.employer_cents + bill.individual_cents
            last = (
                PaymentAllocation.objects.filter(bill=bill, release_of__isnull=True)
                .order_by("-pk")
                .first()
            )
            entries += _settle_accounts(bill, allocation=last if paid else None)
        if releases or allocations or entries:
            history_changed(area=employer.area_id, employer=employer.pk)  # inquiry.cache
            audit_record(
                actor=actor,
                action="credit.apply",
                subject=employer,
                area_code=employer.area_id,
                after={
                    "period": period,
                    "releases": [
                        {
                            "release_of": r.release_of_id,
                            "payment_id": r.payment_id,
                            "bill_id": r.bill_id,
                            "principal_cents": r.principal_cents,
                        }
                        for r in releases
                    ],
                    "allocations": _allocation_log(allocations),
                    "account_entries": entries_log(entries),
                },
            )
    return CreditApplied(releases, allocations, entries)


def credit_apply(
    *, actor: User | None, employer: Employer, period: dt.date | None = None
) -> CreditApplied:
    """Release what lowered bills no longer need, settle the employer's unpaid bills
    with its credit, and bring the personal accounts of its bills to the shares
    they hold now (see the module notes).

    First each bill holding more than its total (lowered by a correction after
    it was paid) gives back the excess (`_release_excess`). Credit is then
    money paid that no bill holds: the unallocated rest of each
    payment, oldest `paid_on` first, goes to the unpaid bills oldest month
    first, the late fee as of that payment's day (none on a bill due after it)
    before the contributions. Each bill with payments allocated to it (of
    `period` only, if given, and each bill released) is then reconciled with
    the personal accounts: a
    share lowered by a correction is taken back by a reversal entry at once, a
    raised one credited when the bill is paid. One audit event when anything
    changed; none when nothing did, so it may be run at any time.
    `actor` None is the system (the billing run, which checked its own actor).
    """
    if actor is not None:
        require(actor, "payment.record", area_code=employer.area_id)
    return _credit_apply(actor=actor, employer=employer, period=period)


def credit_apply_after_run(*, actor: User | None, run: BillingRun) -> int:
    """`credit_apply` for the month of `run`, for each employer whose bill the run
    changed and that either has unallocated money or had payments allocated to
    that bill; the number of employers. Each employer is its own transaction,
    taking the employer's lock before its bills, as a payment does."""
    # The few employers that paid something (allocated to this month's bill, or
    # not allocated yet) first; then which of them the run changed, by the
    # lines' (area, month, employer) index: never a pass over all of the lines.
    month_bills = Bill.objects.filter(area_id=run.area_id, period=run.period)
    candidates = set(
        PaymentAllocation.objects.filter(
            area_id=run.area_id, bill_id__in=month_bills.values("pk")
        ).values_list("bill__employer_id", flat=True)
    ) | set(
        Payment.objects.filter(
            area_id=run.area_id, employer_id__in=month_bills.values("employer_id")
        )
        .annotate(allocated_cents=_allocated())
        .filter(amount_cents__gt=F("allocated_cents"))
        .values_list("employer_id", flat=True)
    )
    employers = (
        set(
            BillLine.objects.filter(
                area_id=run.area_id, period=run.period, employer_id__in=candidates, run=run
            )
            .values_list("employer_id", flat=True)
            .distinct()
        )
        if candidates
        else set()
    )
    for employer in Employer.objects.filter(pk__in=employers).order_by("pk"):
        _credit_apply(actor=actor, employer=employer, period=run.period)
    return len(employers)


def payment_record(
    *,
    actor: User,
    employer: Employer,
    bank_reference: str,
    amount: Decimal | int,
    paid_on: dt.date,
    source: str = PaymentSource.COUNTER,
) -> Payment:
    """Record money an employer paid and allocate it to its bills (see the module notes).

    Idempotent by (area, bank reference): the same reference again with the
    same employer, amount and day returns the payment recorded before and
    changes nothing; with anything different it is a Conflict. The amount is
    in yuan, rounded half up to the cent.
    """
    return payment_record_outcome(
        actor=actor,
        employer=employer,
        bank_reference=bank_reference,
        amount=amount,
        paid_on=paid_on,
        source=source,
    ).payment


# --- bank files -------------------------------------------------------------------

# Accepted column headers, English and Chinese, → field.
BANK_HEADERS = {
    "bank_reference": "bank_reference",
    "银行流水号": "bank_reference",
    "交易流水号": "bank_reference",
    "credit_code": "credit_code",
    "统一社会信用代码": "credit_code",
    "amount": "amount",
    "金额": "amount",
    "缴费金额": "amount",
    "paid_on": "paid_on",
    "缴费日期": "paid_on",
    "交易日期": "paid_on",
}
BANK_COLUMNS = ("bank_reference", "credit_code", "amount", "paid_on")


@dataclass(frozen=True)
class BankRowError:
    line: int
    bank_reference: str
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "bank_reference": self.bank_reference,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class PaymentImport:
    """What became of a bank file: counts complete, errors the first MAX_ERRORS."""

    filename: str
    read: int = 0
    recorded: int = 0
    unchanged: int = 0  # recorded before with the same employer, amount and day
    rejected: int = 0
    errors: list[BankRowError] = field(default_factory=list)


def _bank_header(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = cell.strip().lstrip("\ufeff")
        key = BANK_HEADERS.get(text) or next(
            (BANK_HEADERS[word] for word in text.split() if word in BANK_HEADERS), None
        )
        if key and key not in found:
            found[key] = index
    missing = [name for name in BANK_COLUMNS if name not in found]
    if missing:
        raise InvalidInput(
            _("The bank file's first row must name the columns; missing: %(missing)s."),
            code="bank_file_header",
            field="file",
            params={"missing": ", ".join(missing)},
        )
    return found


def _bank_rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: text}) for each data row of a CSV bank file, read as a stream."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        columns: dict[str, int] | None = None
        for line, row in enumerate(csv.reader(text), start=1):
            if columns is None:
                columns = _bank_header(row)
                continue
            if not any(cell.strip() for cell in row):
                continue
            yield (
                line,
                {name: (row[index] if index < len(row) else "") for name, index in columns.items()},
            )
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # leave the caller's stream open


def _parse_amount(text: str) -> Decimal:
    cleaned = text.strip().replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(
            _("The amount %(value)s is not a number."),
            code="amount_format",
            field="amount",
            params={"value": cleaned or "-"},
        ) from None
    return amount


def _parse_day(text: str) -> dt.date:
    cleaned = text.strip()
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    raise InvalidInput(
        _("The day %(value)s is not a date like 2026-10-15."),
        code="paid_on_format",
        field="paid_on",
        params={"value": cleaned or "-"},
    )


def payments_import(
    *,
    actor: User,
    stream: IO[bytes],
    filename: str,
    on_progress: Callable[[PaymentImport], None] | None = None,
) -> PaymentImport:
    """Record the payments of a bank file (CSV: bank_reference, credit_code, amount,
    paid_on), row by row.

    The file is read as a stream. Each good row is recorded by `payment_record`
    in its own transaction (a savepoint if the caller holds one), so what is
    recorded stays recorded whatever later rows hold; a refused row gets its
    line, field and reason; a reference recorded before with the same
    employer, amount and day is "unchanged" — sending the file again records
    nothing. Employers are looked up by credit code in the actor's area.
    `on_progress`, if given, is called with the report as the rows go by.
    """
    require(actor, "payment.record", area_code=actor.area_id)
    if not filename.lower().endswith((".csv", ".txt")):
        raise InvalidInput(_("Send the bank file as CSV."), code="bank_file_format", field="file")
    report = PaymentImport(filename=filename[:200])
    employers: dict[str, Employer | None] = {}
    for line, row in _bank_rows(stream):
        if on_progress is not None:
            on_progress(report)  # the rows before this one are done
        report.read += 1
        reference = row.get("bank_reference", "").strip()
        try:
            reference = _reference(reference)
            code = normalize_credit_code(row.get("credit_code", ""))
            if code not in employers:
                employers[code] = Employer.objects.filter(
                    area_id=actor.area_id, credit_code=code
                ).first()
            employer = employers[code]
            if employer is None:
                raise NotFound(
                    _("No employer with credit code %(code)s is registered in the area."),
                    code="employer_unknown",
                    field="credit_code",
                    params={"code": code},
                )
            outcome = payment_record_outcome(
                actor=actor,
                employer=employer,
                bank_reference=reference,
                amount=_parse_amount(row.get("amount", "")),
                paid_on=_parse_day(row.get("paid_on", "")),
                source=PaymentSource.BANK_FILE,
            )
        except DomainError as error:
            report.rejected += 1
            if len(report.errors) < MAX_ERRORS:
                report.errors.append(
                    BankRowError(
                        line,
                        reference[:MAX_REFERENCE],
                        error.field or "",
                        error.code,
                        error.message,
                    )
                )
            continue
        if outcome.created:
            report.recorded += 1
        else:
            report.unchanged += 1
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="payment.import",
            subject=("contributions.bankfile", report.filename),
            area_code=actor.area_id,
            after={
                "read": report.read,
                "recorded": report.recorded,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
            },
        )
    if on_progress is not None:
        on_progress(report)
    return report


# --- selectors ---------------------------------------------------------------------


def _require_reader(user: User, employer: Employer) -> None:
    require(
        user,
        "arrears.read",
        area_code=employer.area_id,
        employer_id=employer.pk if user.role == Role.EMPLOYER else None,
    )


def payments_for(user: User) -> QuerySet[AllocatedPayment]:
    """Payments the user may see, each with `allocated_cents`: area staff who
    record or read arrears their area's, an employer user its own."""
    rows = Payment.objects.select_related("employer", "created_by").annotate(
        allocated_cents=Coalesce(
            Sum(F("allocations__principal_cents") + F("allocations__late_fee_cents")), _ZERO
        )
    )
    if not (can(user, "arrears.read") or can(user, "payment.record")):
        return rows.none()
    if user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id, employer_id=user.employer_id or 0)
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    return rows.none()


def payment_get(user: User, pk: int) -> AllocatedPayment:
    try:
        return payments_for(user).get(pk=pk)
    except Payment.DoesNotExist:
        raise NotFound(_("No payment with that key is visible to you.")) from None


def payment_allocations(payment: Payment) -> QuerySet[PaymentAllocation]:
    return payment.allocations.select_related("bill").order_by("bill__period", "pk")


def _credit_cents(on: dt.date, **where: Any) -> dict[int, int]:
    """Credit as of `on`, by employer: money of payments made by then that no bill
    needs — what is not allocated (net of releases), and what is allocated to a
    bill beyond its total and not released yet (a bill a correction lowered
    after it was paid, before `credit_apply` ran)."""
    paid = dict(
        Payment.objects.filter(paid_on__lte=on, **where)
        .values("employer_id")
        .annotate(cents=Sum("amount_cents"))
        .values_list("employer_id", "cents")
    )
    allocated = dict(
        PaymentAllocation.objects.filter(
            payment__paid_on__lte=on, **{f"payment__{k}": v for k, v in where.items()}
        )
        .values("payment__employer_id")
        .annotate(cents=Sum(F("principal_cents") + F("late_fee_cents")))
        .values_list("payment__employer_id", "cents")
    )
    credit = {pk: cents - (allocated.get(pk) or 0) for pk, cents in paid.items()}
    overpaid = _with_principal_paid(paid_until=on, **where).filter(
        principal_paid__gt=F("employer_cents") + F("individual_cents")
    )
    for employer_id, principal_paid, employer_cents, individual_cents in overpaid.values_list(
        "employer_id", "principal_paid", "employer_cents", "individual_cents"
    ):
        excess = principal_paid - employer_cents - individual_cents
        credit[employer_id] = credit.get(employer_id, 0) + excess
    return credit


def employer_credit(user: User, employer: Employer, on: dt.date) -> int:
    """An employer's credit in cents as of `on` (`_credit_cents`)."""
    _require_reader(user, employer)
    where = {"area_id": employer.area_id, "employer_id": employer.pk}
    return _credit_cents(on, **where).get(employer.pk, 0)


@dataclass(frozen=True)
class EmployerArrears:
    """An employer's unpaid bills as of a day, with the late fee run until then."""

    employer: Employer
    on: dt.date
    bills: list[BillBalance]
    credit_cents: int  # money received that no bill needs (`_credit_cents`)

    @property
    def principal_due_cents(self) -> int:
        return sum(b.principal_due_cents for b in self.bills)

    @property
    def late_fee_due_cents(self) -> int:
        return sum(b.late_fee_due_cents for b in self.bills)

    @property
    def total_due_cents(self) -> int:
        return self.principal_due_cents + self.late_fee_due_cents

    @property
    def oldest_period(self) -> dt.date | None:
        return self.bills[0].bill.period if self.bills else None

    @property
    def daily_late_fee(self) -> Decimal:
        return sum((b.daily_late_fee for b in self.bills if b.days_overdue), Decimal(0))


def _arrears(employers: dict[int, Employer], on: dt.date, **where: Any) -> list[EmployerArrears]:
    bills = list(_unpaid_bills(paid_until=on, period__lte=on, **where))
    balances: dict[int, list[BillBalance]] = defaultdict(list)
    for balance in _balances(bills, on, paid_until=on):
        balances[balance.bill.employer_id].append(balance)
    credits = _credit_cents(on, **where)
    return [
        EmployerArrears(employers[pk], on, balances[pk], credits.get(pk, 0))
        for pk in balances
        if pk in employers
    ]


def employer_arrears(user: User, employer: Employer, on: dt.date) -> EmployerArrears:
    """An employer's bills not fully paid as of `on` (payments made by then), each
    with the late fee run until `on`, and the totals."""
    _require_reader(user, employer)
    found = _arrears({employer.pk: employer}, on, area_id=employer.area_id, employer_id=employer.pk)
    if found:
        return found[0]
    credit = _credit_cents(on, area_id=employer.area_id, employer_id=employer.pk)
    return EmployerArrears(employer, on, [], credit.get(employer.pk, 0))


def arrears_for(user: User, on: dt.date, *, area_code: str | None = None) -> list[EmployerArrears]:
    """Every employer with unpaid bills in the user's area as of `on`, most owed
    first; an employer user sees only itself."""
    area = area_code or user.area_id
    require(user, "arrears.read", area_code=area, employer_id=user.employer_id)
    where: dict[str, Any] = {"area_id": area}
    if user.role == Role.EMPLOYER:
        where["employer_id"] = user.employer_id or 0
    employers = Employer.objects.filter(
        pk__in=_unpaid_bills(paid_until=on, period__lte=on, **where).values("employer_id")
    ).in_bulk()
    rows = _arrears(employers, on, **where)
    return sorted(rows, key=lambda row: (-row.total_due_cents, row.employer.pk))


@dataclass(frozen=True)
class InsuranceDue:
    insurance: str
    employer_cents: int
    individual_cents: int


@dataclass(frozen=True)
class PersonMonth:
    """One month of one person's contributions that is billed and not paid."""

    period: dt.date
    employer: Employer
    bill: Bill
    insurances: list[InsuranceDue]


@dataclass(frozen=True)
class PersonArrears:
    person: Person
    on: dt.date
    months: list[PersonMonth]

    @property
    def employer_cents(self) -> int:
        return sum(i.employer_cents for m in self.months for i in m.insurances)

    @property
    def individual_cents(self) -> int:
        return sum(i.individual_cents for m in self.months for i in m.insurances)


def person_arrears(user: User, person: Person, on: dt.date) -> PersonArrears:
    """A person's months and insurances billed and not paid as of `on`.

    A person-month is paid only when the employer's whole bill for the month
    is paid: part of a bill paid is not attributed to anyone. The late fee is
    the employer's (on its bill) and not shown per person. An individual sees
    their own months, an employer user the months it billed, staff who read
    arrears their area's.
    """
    where: dict[str, Any] = {"area_id": person.area_id, "person": person, "period__lte": on}
    if user.role == Role.INDIVIDUAL and user.is_active:
        if user.person_id != person.pk:
            raise Forbidden(_("Individuals may see only their own contributions."))
    else:
        require(user, "arrears.read", area_code=person.area_id, employer_id=user.employer_id)
        if user.role == Role.EMPLOYER:
            where["employer_id"] = user.employer_id or 0
    lines = BillLine.objects.filter(**where)
    unpaid = {
        bill.pk: bill
        for bill in _unpaid_bills(paid_until=on, pk__in=lines.values("bill_id")).select_related(
            "employer"
        )
    }
    amounts: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for bill_id, insurance, employer_cents, individual_cents in lines.filter(
        bill_id__in=list(unpaid)
    ).values_list("bill_id", "insurance", "employer_cents", "individual_cents"):
        amounts[bill_id][insurance][0] += employer_cents
        amounts[bill_id][insurance][1] += individual_cents
    months = []
    for bill in sorted(unpaid.values(), key=lambda b: (b.period, b.pk)):
        insurances = [
            InsuranceDue(insurance, cents[0], cents[1])
            for insurance, cents in sorted(amounts[bill.pk].items())
            if cents != [0, 0]
        ]
        if insurances:
            months.append(PersonMonth(bill.period, bill.employer, bill, insurances))
    return PersonArrears(person, on, months)


# --- arrears notice -------------------------------------------------------------------


def _yuan(cents: int) -> str:
    return f"{money_of(cents):,}"


@dataclass(frozen=True)
class ArrearsNotice:
    """The data of a notice ordering an employer to pay its arrears, and its text."""

    employer: Employer
    on: dt.date
    deadline: dt.date
    arrears: EmployerArrears
    text: str


def arrears_notice(user: User, employer: Employer, on: dt.date) -> ArrearsNotice:
    """A notice of what an employer owes as of `on`: each unpaid bill's month, due
    day, contributions and late fee, the totals, how much the fee grows a day,
    and the deadline (NOTICE_DAYS after `on`).

    Rendered in the active language (Chinese by default) from English source
    strings. The late fee keeps running until the day of payment (SIL art. 86);
    the notice says so and states it as of `on`.
    """
    arrears = employer_arrears(user, employer, on)
    deadline = on + dt.timedelta(days=NOTICE_DAYS)
    out = [
        _g("Notice of social insurance contributions in arrears"),
        "",
        _g("To: %(employer)s (unified social credit code %(code)s)")
        % {"employer": employer.name, "code": employer.credit_code},
        _g("As of: %(day)s") % {"day": on.isoformat()},
        "",
    ]
    if not arrears.bills:
        out.append(_g("Nothing is due."))
    else:
        out.append(
            " | ".join(
                [
                    _g("Month"),
                    _g("Due on"),
                    _g("Days overdue"),
                    _g("Contributions"),
                    _g("Late fee"),
                    _g("Total"),
                ]
            )
        )
        for balance in arrears.bills:
            out.append(
                " | ".join(
                    [
                        f"{balance.bill.period:%Y-%m}",
                        balance.bill.due_on.isoformat(),
                        str(balance.days_overdue),
                        _yuan(balance.principal_due_cents),
                        _yuan(balance.late_fee_due_cents),
                        _yuan(balance.total_due_cents),
                    ]
                )
            )
        out += [
            "",
            _g("Contributions due: %(amount)s yuan")
            % {"amount": _yuan(arrears.principal_due_cents)},
            _g("Late fee due: %(amount)s yuan") % {"amount": _yuan(arrears.late_fee_due_cents)},
            _g("Total due: %(amount)s yuan") % {"amount": _yuan(arrears.total_due_cents)},
            "",
            _g(
                "Under article 86 of the Social Insurance Law a late fee of 0.05%% of the "
                "arrears runs for each day from the day the amount became overdue until it is "
                "paid; on the amounts above it grows by %(amount)s yuan a day."
            )
            % {"amount": f"{arrears.daily_late_fee.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"},
            _g("Pay the total due, with the late fee run until the day of payment, by %(day)s.")
            % {"day": deadline.isoformat()},
        ]
    if arrears.credit_cents:
        out += [
            "",
            _g("Credit (received and not owed): %(amount)s yuan")
            % {"amount": _yuan(arrears.credit_cents)},
        ]
    return ArrearsNotice(employer, on, deadline, arrears, "\n".join(out) + "\n")
