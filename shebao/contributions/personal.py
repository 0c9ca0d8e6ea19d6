"""Personal pension accounts: yearly interest, statements, contribution records,
back-payment quotes and pension estimates (DOMAIN.md §4–5).

One write, `interest_credit`, and selectors that read one person's records.
The figures come from `rules` (the law); this module only gathers the inputs
from the tables and scopes who may see them:

- area staff holding `account.read` (contributions officer, area
  administrator, auditor) see the persons of their own area, and each read is
  logged in the access log (PIPL);
- an individual sees their own records (not logged: it is no third party);
- everyone else is refused. A person outside the reader's reach is "not
  found", so a stranger learns nothing about who exists.

Where an entry of the account sits in time ("its month"): a contribution, and
a reversal of one, by its `period`; interest, and a reversal of interest
(which carry a `year` and no period), after December of that year; an entry
with neither, by the month it was created. Every amount is in integer cents in
the tables and `Decimal` yuan in the results.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import access_record, audit_record
from shebao.contributions import rules
from shebao.contributions.flexible import (
    FlexibleMonth,
    flexible_billed_months,
    flexible_latest_bill,
    flexible_open_month,
    flexible_paid_months,
)
from shebao.contributions.models import (
    AccountEntry,
    AccountEntryKind,
    Bill,
    BillKind,
    BillLine,
    CreditingRate,
    Insurance,
    PaymentAllocation,
    PersonalAccount,
    Policy,
)
from shebao.contributions.services import policy_for
from shebao.core.errors import Conflict, InvalidInput, NotFound
from shebao.core.progress import Progress
from shebao.registry.identifiers import FEMALE
from shebao.registry.models import Area, Person

CHUNK_SIZE = 1000
MAX_GAP_MONTHS = 600  # 50 years: more than any working life


def _yuan(cents: int) -> Decimal:
    """Cents as yuan with two places: 10200000 → 102000.00."""
    return Decimal(cents).scaleb(-2)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _from_index(index: int) -> dt.date:
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


def _years(months: int) -> Decimal:
    """Months as years to two places, rounded down (never overstates eligibility)."""
    return (Decimal(months) / 12).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


# --- who may read ----------------------------------------------------------


def _person_for(user: User, person: Person | int, *, purpose: str) -> Person:
    """The person if `user` may read their account records; staff reads are logged."""
    pk = person.pk if isinstance(person, Person) else person
    if user.is_authenticated and user.is_active and user.role == Role.INDIVIDUAL:
        found = Person.objects.filter(pk=pk).first() if user.person_id == pk else None
    else:
        require(user, "account.read")
        found = Person.objects.filter(area_id=user.area_id, pk=pk).first()
    if found is None:
        raise NotFound(
            _("No %(what)s with that key is visible to you."), params={"what": _("person")}
        )
    access_record(actor=user, action=purpose, area_code=found.area_id, person_ids=[found.pk])
    return found


# --- 1. yearly interest ----------------------------------------------------


@dataclass
class InterestCredit:
    """What one `interest_credit` run did."""

    area_code: str
    year: int
    rate: Decimal
    accounts: int = 0  # accounts of the area looked at
    credited: int = 0  # interest entries appended by this run
    already_credited: int = 0  # accounts that had the year's interest before
    without_interest: int = 0  # accounts whose interest is zero (e.g. empty)
    total_cents: int = 0
    chunks: int = 0

    @property
    def total(self) -> Decimal:
        return _yuan(self.total_cents)

    @property
    def message(self) -> str:
        if self.credited == 0 and self.already_credited:
            return gettext(
                "The interest of %(year)s was already credited to every account of area "
                "%(area)s; nothing was credited."
            ) % {"year": self.year, "area": self.area_code}
        return gettext(
            "Interest of %(year)s at %(rate)s credited to %(credited)s of %(accounts)s accounts "
            "of area %(area)s: %(total)s in all; %(already)s already had it, %(zero)s earn none."
        ) % {
            "year": self.year,
            "rate": self.rate,
            "credited": self.credited,
            "accounts": self.accounts,
            "area": self.area_code,
            "total": self.total,
            "already": self.already_credited,
            "zero": self.without_interest,
        }


def crediting_rate(year: int) -> Decimal:
    """The announced crediting rate of `year`; refused when it is not in the table yet."""
    found = CreditingRate.objects.filter(year=year).first()
    if found is None:
        raise NotFound(
            _(
                "No crediting rate is recorded for %(year)s; enter the rate the ministry "
                "announced before crediting interest."
            ),
            code="crediting_rate_unknown",
            field="year",
            params={"year": year},
        )
    return found.rate


def _account_chunks(area: Area, size: int) -> Iterator[list[int]]:
    """The area's account keys in ascending chunks, each read when it is needed."""
    last = 0
    while True:
        keys = list(
            PersonalAccount.objects.filter(area=area, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not keys:
            return
        yield keys
        last = keys[-1]


def _year_inputs(
    area: Area, keys: list[int], year: int
) -> tuple[dict[int, int], dict[int, dict[int, int]]]:
    """Per account: the opening balance and the cents credited in each month of `year`."""
    start = dt.date(year, 1, 1)
    end = dt.date(year + 1, 1, 1)
    zone = timezone.get_current_timezone()
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    end_at = dt.datetime.combine(end, dt.time.min, tzinfo=zone)
    entries = AccountEntry.objects.filter(area=area, account_id__in=keys).order_by()
    undated = Q(period__isnull=True, year__isnull=True)
    opening = dict(
        entries.filter(
            Q(period__lt=start)
            | Q(period__isnull=True, year__lt=year)
            | (undated & Q(created_at__lt=start_at))
        )
        .values("account_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("account_id", "total")
    )
    by_month: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    in_year = [
        entries.filter(period__gte=start, period__lt=end).annotate(month=ExtractMonth("period")),
        entries.filter(undated, created_at__gte=start_at, created_at__lt=end_at).annotate(
            month=ExtractMonth("created_at")
        ),
    ]
    for rows in in_year:
        for account_id, month, total in (
            rows.values("account_id", "month")
            .annotate(total=Sum("amount_cents"))
            .values_list("account_id", "month", "total")
        ):
            by_month[account_id][month] += total
    return opening, by_month


def interest_credit(
    *,
    actor: User,
    area: Area,
    year: int,
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    stream: Any = None,
) -> InterestCredit:
    """Credit the interest of `year` to every personal account of `area`.

    Basis: the personal account earns the yearly crediting rate the ministry
    announces (Guofa [2005] No. 38; DOMAIN §4); the rate is read from the
    `CreditingRate` table, and a year without one is refused.

    Method, per account (`rules.yearly_interest`, the monthly-product method):
    the opening balance is the sum of the entries placed before the year
    (contributions by their month, interest of earlier years); it earns the
    full year's rate. What is credited in month m of the year (contributions
    by their month, net of reversals) earns the rate for 13 − m months out of
    12. The sum is rounded half up to the cent once, appended as one entry
    `AccountEntry(kind="interest", year=year)` and added to the balance in the
    same transaction. Accounts whose interest is zero get no entry.

    Worked example (2024, rate 2.62%): an account holding 100,000.00 at the
    end of 2023, credited 1,000.00 for 2024-01 and 1,000.00 for 2024-10:
        100,000 × 2.62%            = 2,620.00
          1,000 × 2.62% × 12/12    =    26.20
          1,000 × 2.62% ×  3/12    =     6.55
        interest                   = 2,652.75
    and the balance goes from 102,000.00 to 104,652.75.

    Re-runnable: an account that has the year's interest is skipped (the
    database allows one interest entry per account and year), so a second run
    credits nothing and says so. Accounts are read in chunks of `chunk_size`,
    never all at once; each chunk is one transaction with one audit event
    (written when the chunk credited anything), so an interrupted run keeps
    the chunks it finished and the next run completes the rest.
    """
    require(actor, "account.credit_interest", area_code=area.code)
    today = timezone.localdate()
    if year >= today.year:
        raise InvalidInput(
            _("The interest of %(year)s is credited after the year has ended."),
            code="year_not_over",
            field="year",
            params={"year": year},
        )
    rate = crediting_rate(year)
    result = InterestCredit(area_code=area.code, year=year, rate=rate)
    total = PersonalAccount.objects.filter(area=area).count()
    with Progress(f"interest {year}", total, stream=stream, enabled=progress) as bar:
        for keys in _account_chunks(area, chunk_size):
            _credit_chunk(actor=actor, area=area, year=year, rate=rate, keys=keys, result=result)
            bar.advance(len(keys))
    return result


@transaction.atomic
def _credit_chunk(
    *, actor: User, area: Area, year: int, rate: Decimal, keys: list[int], result: InterestCredit
) -> None:
    # Lock the chunk's accounts: a concurrent payment or a second run waits,
    # and the balances read below are the ones the interest is added to.
    locked = list(
        PersonalAccount.objects.select_for_update()
        .filter(pk__in=keys)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    had = set(
        AccountEntry.objects.filter(
            area=area, account_id__in=locked, kind=AccountEntryKind.INTEREST, year=year
        ).values_list("account_id", flat=True)
    )
    todo = [pk for pk in locked if pk not in had]
    opening, by_month = _year_inputs(area, todo, year)
    now = timezone.now()
    entries = []
    for pk in todo:
        interest = rules.yearly_interest(
            opening_balance=_yuan(opening.get(pk) or 0),
            contributions_by_month={m: _yuan(c) for m, c in by_month.get(pk, {}).items()},
            rate=rate,
        )
        if interest == 0:
            result.without_interest += 1
            continue
        entries.append(
            AccountEntry(
                area=area,
                account_id=pk,
                kind=AccountEntryKind.INTEREST,
                year=year,
                amount_cents=_cents(interest),
                created_at=now,
            )
        )
    result.accounts += len(locked)
    result.already_credited += len(had)
    result.chunks += 1
    if not entries:
        return
    AccountEntry.objects.bulk_create(entries)
    credited = AccountEntry.objects.filter(
        account=OuterRef("pk"), kind=AccountEntryKind.INTEREST, year=year
    ).values("amount_cents")[:1]
    PersonalAccount.objects.filter(pk__in=[e.account_id for e in entries]).update(
        balance_cents=F("balance_cents") + Subquery(credited),
        entries_count=F("entries_count") + 1,
    )
    chunk_total = sum(e.amount_cents for e in entries)
    result.credited += len(entries)
    result.total_cents += chunk_total
    audit_record(
        actor=actor,
        action="account.credit_interest",
        subject=("contributions.personalaccount", f"{locked[0]}-{locked[-1]}"),
        area_code=area.code,
        after={
            "year": year,
            "rate": rate,
            "accounts": len(locked),
            "credited": len(entries),
            "total_cents": chunk_total,
        },
    )


# --- 2. account statement --------------------------------------------------


@dataclass(frozen=True)
class StatementEntry:
    kind: str
    period: dt.date | None  # the contribution month
    year: int | None  # the interest year
    amount: Decimal
    created_at: dt.datetime


@dataclass(frozen=True)
class AccountStatement:
    """A person's pension account as the rights record shows it (DOMAIN §5)."""

    person_id: int
    year: int
    balance: Decimal
    credited_this_year: Decimal  # contributions of the year's months + the year's interest
    cumulative_contributions: Decimal  # every contribution ever credited, net of reversals
    cumulative_interest: Decimal
    entries: list[StatementEntry]


def _entry_order(entry: AccountEntry) -> tuple[dt.date, int]:
    if entry.period is not None:
        when = entry.period
    elif entry.year is not None:
        when = dt.date(entry.year, 12, 31)
    else:
        when = timezone.localdate(entry.created_at)
    return when, entry.pk


def account_statement(
    user: User, person: Person | int, *, year: int | None = None
) -> AccountStatement:
    """The personal account of `person`: balance, credited this year, totals, entries.

    "Credited this year" is what belongs to the year: contributions for its
    months and its interest (once credited). A person without an account yet
    has a zero balance and no entries.
    """
    found = _person_for(user, person, purpose="account.statement")
    year = year or timezone.localdate().year
    account = PersonalAccount.objects.filter(person=found).first()
    rows = (
        sorted(
            AccountEntry.objects.filter(area_id=found.area_id, account=account), key=_entry_order
        )
        if account is not None
        else []
    )
    entries = [
        StatementEntry(
            kind=row.kind,
            period=row.period,
            year=row.year,
            amount=_yuan(row.amount_cents),
            created_at=row.created_at,
        )
        for row in rows
    ]

    def is_interest(row: AccountEntry) -> bool:
        # A reversal of interest carries the year and no month, like interest.
        return row.kind == AccountEntryKind.INTEREST or (
            row.period is None and row.year is not None
        )

    this_year = sum(row.amount_cents for row in rows if _entry_order(row)[0].year == year)
    interest = sum(row.amount_cents for row in rows if is_interest(row))
    contributions = sum(row.amount_cents for row in rows if not is_interest(row))
    return AccountStatement(
        person_id=found.pk,
        year=year,
        balance=_yuan(account.balance_cents if account is not None else 0),
        credited_this_year=_yuan(this_year),
        cumulative_contributions=_yuan(contributions),
        cumulative_interest=_yuan(interest),
        entries=entries,
    )


# --- 3. contribution months, gaps, back payments ---------------------------


def paid_bills() -> QuerySet[Bill]:
    """Bills fully paid: allocated principal ≥ employer + individual amounts."""
    principal = (
        PaymentAllocation.objects.filter(bill=OuterRef("pk"))
        .order_by()
        .values("bill")
        .annotate(total=Sum("principal_cents"))
        .values("total")
    )
    return Bill.objects.annotate(
        principal=Coalesce(
            Subquery(principal, output_field=BigIntegerField()),
            Value(0),
            output_field=BigIntegerField(),
        )
    ).filter(principal__gte=F("employer_cents") + F("individual_cents"))


def _month_lines(person: Person, **lookup: Any) -> QuerySet[Any]:
    """The person's lines netted per bill, month and insurance; zero nets left out."""
    return (
        BillLine.objects.filter(area_id=person.area_id, person=person, **lookup)
        .order_by()
        .values("bill_id", "period", "insurance")
        .annotate(
            employer=Sum("employer_cents"),
            individual=Sum("individual_cents"),
            net=Sum(F("employer_cents") + F("individual_cents")),
        )
        .exclude(net=0)
    )


def paid_months(person: Person) -> dict[str, list[dt.date]]:
    """Per insurance, the months of fully paid bills with a net contribution, and
    the months the person paid as a flexible worker (`flexible_paid_months`)."""
    months: dict[str, set[dt.date]] = defaultdict(set)
    for row in _month_lines(person, bill_id__in=paid_bills().values("pk")):
        months[row["insurance"]].add(row["period"])
    for insurance, paid in flexible_paid_months(person).items():
        months[insurance].update(paid)
    return {insurance: sorted(found) for insurance, found in months.items()}


@dataclass(frozen=True)
class InsuranceRecord:
    insurance: str
    months: list[dt.date]
    count: int
    years: Decimal  # count / 12, two places, rounded down


@dataclass(frozen=True)
class ContributionRecord:
    person_id: int
    insurances: list[InsuranceRecord]

    def months_of(self, insurance: str) -> int:
        return next((r.count for r in self.insurances if r.insurance == insurance), 0)


def contribution_record(user: User, person: Person | int) -> ContributionRecord:
    """Per insurance: the months paid, how many, and as years.

    A month counts when the person's lines for the insurance net to a
    non-zero amount on a bill that is fully paid (the allocated principal
    covers the bill). A month paid through two employers counts once.
    """
    found = _person_for(user, person, purpose="account.contributions")
    months = paid_months(found)
    return ContributionRecord(
        person_id=found.pk,
        insurances=[
            InsuranceRecord(
                insurance=insurance,
                months=months.get(insurance, []),
                count=len(months.get(insurance, [])),
                years=_years(len(months.get(insurance, []))),
            )
            for insurance in Insurance.values
        ],
    )


@dataclass(frozen=True)
class Gap:
    month: dt.date
    billed: bool  # billed but not (fully) paid; otherwise never billed


def contribution_gaps(
    user: User, person: Person | int, since: dt.date, until: dt.date
) -> list[Gap]:
    """The months from `since` to `until` (both included) without paid pension.

    Each gap says whether the month was billed (and the bill is not fully
    paid) or never billed (no declaration, or no employer).
    """
    first, last = _month(since), _month(until)
    if first > last:
        raise InvalidInput(
            _("The first month must not be after the last."), code="period_order", field="since"
        )
    if _month_index(last) - _month_index(first) >= MAX_GAP_MONTHS:
        raise InvalidInput(
            _("Ask for at most %(months)s months at a time."),
            code="period_too_long",
            field="until",
            params={"months": MAX_GAP_MONTHS},
        )
    found = _person_for(user, person, purpose="account.gaps")
    paid = set(paid_months(found).get(Insurance.PENSION, []))
    billed = {
        row["period"]
        for row in _month_lines(
            found, insurance=Insurance.PENSION, period__gte=first, period__lte=last
        )
    } | flexible_billed_months(found, first, last)
    return [
        Gap(month=month, billed=month in billed)
        for month in map(_from_index, range(_month_index(first), _month_index(last) + 1))
        if month not in paid
    ]


@dataclass(frozen=True)
class QuoteLine:
    insurance: str
    employer: Decimal
    individual: Decimal


@dataclass(frozen=True)
class BillQuote:
    bill_id: int  # an employer's `Bill`, or a `FlexibleBill` when `flexible`
    due_on: dt.date
    overdue_days: int
    principal: Decimal
    late_fee: Decimal
    lines: list[QuoteLine]
    flexible: bool = False  # the person's own month as a flexible worker


def _flexible_quote(month: FlexibleMonth) -> BillQuote:
    """A flexible worker's open month: what is still due of it, and the late fee
    run until the quote's day less what was paid (`flexible._months`). Within
    the contributions payments go to the pension before the medical insurance,
    so the open part of each is what is left in that order."""
    bill = month.bill
    paid = month.principal_paid_cents
    open_pension = max(bill.pension_cents - paid, 0)
    open_medical = bill.medical_cents - max(paid - bill.pension_cents, 0)
    lines = [
        QuoteLine(insurance=insurance, employer=Decimal("0.00"), individual=_yuan(cents))
        for insurance, cents in (
            (Insurance.MEDICAL, open_medical),
            (Insurance.PENSION, open_pension),
        )
        if cents > 0
    ]
    return BillQuote(
        bill_id=bill.pk,
        due_on=bill.due_on,
        overdue_days=month.days_overdue,
        principal=_yuan(month.principal_due_cents),
        late_fee=_yuan(month.late_fee_due_cents),
        lines=lines,
        flexible=True,
    )


@dataclass(frozen=True)
class BackPaymentQuote:
    person_id: int
    month: dt.date
    on: dt.date
    billed: bool
    principal: Decimal
    late_fee: Decimal
    total: Decimal
    late_fee_daily_rate: Decimal | None
    bills: list[BillQuote]
    note: str


def back_payment_quote(
    user: User, person: Person | int, month: dt.date, on: dt.date
) -> BackPaymentQuote:
    """What paying a gap month on `on` costs: the unpaid bill lines and the late fee.

    The principal is what the person's lines of the month's unpaid bills
    net to (employer and individual shares, every insurance). The late fee
    is `rules.late_fee` on that principal from the day after the bill's due
    date to `on`, at the daily rate of the month's policy (SIL art. 86).
    10,000.00 due 2024-02-29 and paid 2024-03-31: 30 days × 0.05% → 150.00.
    A month billed to the person as a flexible worker and not fully paid is
    quoted for what is still open of it, with its late fee (the part paid
    carries the fee run until its own day, as for any bill). A month never
    billed cannot be quoted: it must be declared first. A month already paid
    is refused.
    """
    found = _person_for(user, person, purpose="account.quote")
    month = _month(month)
    if month in set(paid_months(found).get(Insurance.PENSION, [])):
        raise Conflict(
            _("The pension of %(month)s is paid; there is nothing to pay back."),
            code="month_paid",
            field="month",
            params={"month": f"{month:%Y-%m}"},
        )
    unpaid = _month_lines(found, period=month).exclude(bill_id__in=paid_bills().values("pk"))
    by_bill: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in unpaid:
        by_bill[row["bill_id"]].append(row)
    flexible = flexible_open_month(found, month, on)
    if not by_bill and flexible is None:
        return BackPaymentQuote(
            person_id=found.pk,
            month=month,
            on=on,
            billed=False,
            principal=Decimal("0.00"),
            late_fee=Decimal("0.00"),
            total=Decimal("0.00"),
            late_fee_daily_rate=None,
            bills=[],
            note=gettext(
                "%(month)s was never billed: the employer (or the person, if self-employed) "
                "must declare the month first; the bill then says what is owed."
            )
            % {"month": f"{month:%Y-%m}"},
        )
    daily_rate = policy_for(found.area_id, month).late_fee_daily_rate
    bills = []
    for bill in Bill.objects.filter(pk__in=by_bill).order_by("pk"):
        rows = by_bill[bill.pk]
        principal = _yuan(sum(row["net"] for row in rows))
        overdue_from = bill.due_on + dt.timedelta(days=1)
        bills.append(
            BillQuote(
                bill_id=bill.pk,
                due_on=bill.due_on,
                overdue_days=rules.late_fee_days(overdue_from=overdue_from, paid_on=on),
                principal=principal,
                late_fee=rules.late_fee(
                    overdue_amount=principal,
                    overdue_from=overdue_from,
                    paid_on=on,
                    daily_rate=daily_rate,
                ),
                lines=[
                    QuoteLine(
                        insurance=row["insurance"],
                        employer=_yuan(row["employer"]),
                        individual=_yuan(row["individual"]),
                    )
                    for row in sorted(rows, key=lambda r: r["insurance"])
                ],
            )
        )
    notes = []
    if bills:
        notes.append(
            gettext(
                "Owed for %(month)s if paid on %(on)s: the unpaid contributions and the late "
                "fee of %(rate)s a day since the due date (SIL art. 86). A bill partly paid by "
                "the employer is quoted in full for this person."
            )
            % {"month": f"{month:%Y-%m}", "on": on.isoformat(), "rate": daily_rate}
        )
    if flexible is not None:
        bills.append(_flexible_quote(flexible))
        notes.append(
            gettext(
                "%(month)s is billed to the person as a flexible worker and not fully paid: "
                "owed if paid on %(on)s, what is still open of the month and the late fee of "
                "%(rate)s a day since the due date (SIL art. 86)."
            )
            % {"month": f"{month:%Y-%m}", "on": on.isoformat(), "rate": daily_rate}
        )
    principal = sum((b.principal for b in bills), Decimal("0.00"))
    fee = sum((b.late_fee for b in bills), Decimal("0.00"))
    return BackPaymentQuote(
        person_id=found.pk,
        month=month,
        on=on,
        billed=True,
        principal=principal,
        late_fee=fee,
        total=principal + fee,
        late_fee_daily_rate=daily_rate,
        bills=bills,
        note=" ".join(notes),
    )


# --- 4. pension estimate ---------------------------------------------------


@dataclass(frozen=True)
class PensionEstimate:
    person_id: int
    on: dt.date
    scheme: str
    retirement_month: dt.date
    retirement_age_years: int
    retirement_age_months: int
    minimum_years: Decimal
    months_contributed: int  # paid pension months so far
    months_projected: int  # assumed months from now to retirement
    years_contributed: Decimal
    years_at_retirement: Decimal
    eligible: bool
    message: str
    area_average_wage: Decimal
    indexed_wage_ratio: Decimal
    monthly_base: Decimal | None
    monthly_individual_pension: Decimal
    interest_rate: Decimal
    current_balance: Decimal
    projected_balance: Decimal
    basic_pension: Decimal | None
    personal_account_pension: Decimal | None
    monthly_pension: Decimal | None
    unemployment_benefit_months: int
    assumptions: list[str] = field(default_factory=list)


def _current_contribution(person: Person) -> tuple[Decimal | None, Decimal]:
    """The base and the net individual pension amount of the person's latest pension month
    (for a flexible worker's month: the base and the share to the personal account)."""
    flexible = flexible_latest_bill(person)
    latest = (
        BillLine.objects.filter(
            area_id=person.area_id,
            person=person,
            insurance=Insurance.PENSION,
            kind=BillKind.DECLARED,
            base_cents__gt=0,
        )
        .order_by("-period", "-pk")
        .first()
    )
    if flexible is not None and (latest is None or flexible.period >= latest.period):
        return _yuan(flexible.base_cents), _yuan(flexible.account_cents)
    if latest is None:
        return None, Decimal("0.00")
    individual = BillLine.objects.filter(
        area_id=person.area_id, person=person, insurance=Insurance.PENSION, period=latest.period
    ).aggregate(total=Sum("individual_cents"))["total"]
    return _yuan(latest.base_cents), _yuan(individual or 0)


def _last_crediting_rate() -> tuple[Decimal, int | None]:
    latest = CreditingRate.objects.order_by("-year").first()
    return (latest.rate, latest.year) if latest is not None else (Decimal(0), None)


def _projected_balance(
    *,
    balance: Decimal,
    on: dt.date,
    months: list[dt.date],
    amount: Decimal,
    rate: Decimal,
    retirement_month: dt.date,
) -> Decimal:
    """The balance at retirement: today's balance and `amount` a month in `months`,
    with `rules.yearly_interest` at `rate` each year before the retirement year.

    Today's balance is treated as credited in the current month (it earns
    13 − m of 12 months this year); the retirement year earns no interest.
    """
    if on.year > retirement_month.year:
        return balance
    by_year: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for month in months:
        by_year[month.year][month.month] += amount
    opening = Decimal(0)
    for year in range(on.year, retirement_month.year + 1):
        credited = dict(by_year[year])
        if year == on.year:
            credited[on.month] = credited.get(on.month, Decimal(0)) + balance
        added = sum(credited.values(), Decimal(0))
        interest = (
            rules.yearly_interest(
                opening_balance=opening, contributions_by_month=credited, rate=rate
            )
            if year < retirement_month.year
            else Decimal(0)
        )
        opening = opening + added + interest
    return rules.to_cents(opening)


def pension_estimate(
    user: User,
    person: Person | int,
    *,
    scheme: str | None = None,
    on: dt.date | None = None,
    indexed_wage_ratio: Decimal = Decimal(1),
    interest_rate: Decimal | None = None,
    monthly_base: Decimal | None = None,
    continue_contributing: bool = True,
) -> PensionEstimate:
    """An estimate of the person's pension at the statutory retirement age.

    - Retirement month and age by `rules.retirement_date` (scheme "man" for
      men, "woman_55" for women unless `scheme` is given); the minimum years
      by `rules.minimum_contribution_years` of the retirement year.
    - Years: the paid pension months so far, plus (if `continue_contributing`)
      every month from the later of this month and the month after the last
      paid one, up to the month before retirement.
    - Future contributions at the current base (the latest declared pension
      base) and its individual pension amount; a `monthly_base` replaces it
      and is charged at the pension individual rate of the current policy.
    - Basic pension (`rules.basic_pension`) at the area average wage of the
      policy in force now and `indexed_wage_ratio` (default 1.0).
    - Personal-account pension (`rules.personal_account_pension`) of today's
      balance plus the projected contributions, with interest at
      `interest_rate` (default: the last announced crediting rate).
    - Below the minimum years: no monthly pension; the person is told to
      keep paying or to transfer.
    - Unemployment benefit months (`rules.unemployment_benefit_months`) for
      the unemployment insurance years paid so far.

    A man born 1965-05 retires in 2025-07 at 60 years 2 months.
    """
    found = _person_for(user, person, purpose="account.estimate")
    on = on or timezone.localdate()
    this_month = _month(on)
    ratio = Decimal(indexed_wage_ratio)
    default_scheme = (
        rules.RetirementScheme.WOMAN_55 if found.sex == FEMALE else rules.RetirementScheme.MAN
    )
    retirement = rules.retirement_date(birth_date=found.birth_date, scheme=scheme or default_scheme)
    chosen = rules.RetirementScheme(scheme or default_scheme)
    minimum = rules.minimum_contribution_years(retirement.month.year)
    paid = paid_months(found)
    pension_months = paid.get(Insurance.PENSION, [])
    policy: Policy = policy_for(found.area_id, this_month)
    assumptions = [
        gettext("Retirement scheme %(scheme)s%(default)s: retirement in %(month)s at %(age)s.")
        % {
            "scheme": chosen.value,
            "default": gettext(" (the default for the person's sex)") if not scheme else "",
            "month": f"{retirement.month:%Y-%m}",
            "age": gettext("%(years)s years %(months)s months")
            % {"years": retirement.age_years, "months": retirement.age_months},
        },
        gettext(
            "Only pension months paid in full and recorded in this system count (%(months)s "
            "months); transfers in and earlier records are not included."
        )
        % {"months": len(pension_months)},
    ]

    base, individual = _current_contribution(found)
    if monthly_base is not None:
        base = rules.to_cents(Decimal(monthly_base))
        pension_rate = policy.rates.filter(insurance=Insurance.PENSION).first()
        individual = rules.contribution_amount(
            base=base, rate=pension_rate.individual_rate if pension_rate else Decimal(0)
        )
    future: list[dt.date] = []
    if continue_contributing and individual > 0:
        start = this_month
        if pension_months:
            start = max(start, _from_index(_month_index(pension_months[-1]) + 1))
        future = [
            _from_index(i) for i in range(_month_index(start), _month_index(retirement.month))
        ]
        assumptions.append(
            gettext(
                "Contributions continue every month until retirement (%(months)s months) at a "
                "base of %(base)s, %(individual)s a month to the personal account."
            )
            % {"months": len(future), "base": base, "individual": individual}
        )
    elif continue_contributing:
        assumptions.append(
            gettext("No contribution base is on record: no future contributions are projected.")
        )
    else:
        assumptions.append(gettext("No further contributions are assumed."))

    if interest_rate is None:
        rate, rate_year = _last_crediting_rate()
        assumptions.append(
            gettext(
                "The personal account earns %(rate)s a year, the last announced crediting rate "
                "(%(year)s); the retirement year earns no interest in this estimate."
            )
            % {"rate": rate, "year": rate_year or "-"}
        )
    else:
        rate = Decimal(interest_rate)
        assumptions.append(
            gettext(
                "The personal account earns %(rate)s a year, as you assumed; the retirement "
                "year earns no interest in this estimate."
            )
            % {"rate": rate}
        )
    assumptions.append(
        gettext(
            "Basic pension at the area average monthly wage of %(wage)s (the policy in force "
            "in %(month)s) and an indexed wage ratio of %(ratio)s."
        )
        % {"wage": policy.average_monthly_wage, "month": f"{this_month:%Y-%m}", "ratio": ratio}
    )

    account = PersonalAccount.objects.filter(person=found).first()
    balance = _yuan(account.balance_cents if account is not None else 0)
    projected = _projected_balance(
        balance=balance,
        on=on,
        months=future,
        amount=individual,
        rate=rate,
        retirement_month=retirement.month,
    )
    months_total = len(pension_months) + len(future)
    eligible = months_total >= minimum * 12
    basic: Decimal | None = None
    personal: Decimal | None = None
    monthly: Decimal | None = None
    if eligible:
        basic = rules.basic_pension(
            area_average_monthly_wage=policy.average_monthly_wage,
            indexed_average_monthly_wage_ratio=ratio,
            contribution_years=Decimal(months_total) / 12,
        )
        personal = rules.personal_account_pension(
            balance=projected, retirement_age_years=retirement.age_years
        )
        monthly = basic + personal
        message = gettext(
            "With %(years)s years of contributions at retirement (at least %(minimum)s needed) "
            "a monthly pension of about %(monthly)s is payable from %(month)s."
        ) % {
            "years": _years(months_total),
            "minimum": minimum,
            "monthly": monthly,
            "month": f"{retirement.month:%Y-%m}",
        }
    else:
        message = gettext(
            "%(years)s years of contributions at retirement are below the minimum of "
            "%(minimum)s (SIL art. 16): no monthly pension is payable. Keep paying until the "
            "minimum is reached, or transfer the insurance."
        ) % {"years": _years(months_total), "minimum": minimum}
    unemployment = rules.unemployment_benefit_months(
        Decimal(len(paid.get(Insurance.UNEMPLOYMENT, []))) / 12
    )
    return PensionEstimate(
        person_id=found.pk,
        on=on,
        scheme=chosen.value,
        retirement_month=retirement.month,
        retirement_age_years=retirement.age_years,
        retirement_age_months=retirement.age_months,
        minimum_years=minimum,
        months_contributed=len(pension_months),
        months_projected=len(future),
        years_contributed=_years(len(pension_months)),
        years_at_retirement=_years(months_total),
        eligible=eligible,
        message=message,
        area_average_wage=policy.average_monthly_wage,
        indexed_wage_ratio=ratio,
        monthly_base=base,
        monthly_individual_pension=individual,
        interest_rate=rate,
        current_balance=balance,
        projected_balance=projected,
        basic_pension=basic,
        personal_account_pension=personal,
        monthly_pension=monthly,
        unemployment_benefit_months=unemployment,
        assumptions=assumptions,
    )
