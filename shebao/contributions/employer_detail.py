"""What an employer reads about its own people: the employees it registered
and the months it declared for each, the state of this month's declaration,
reminders of what is not yet done, and the monthly detail it owes each
employee (SIL art. 60: the employer tells each employee every month what was
paid for them).

Design notes
- Every read is keyed (area, employer, period) like the rows it reads: bill
  lines are indexed (area, period, employer, person, insurance), declaration
  lines (area, employer, period).
- The monthly detail is one statement: each person's bill lines of the month
  summed in SQL, insurance by insurance (a correction is lines added, never an
  edit, so the sum is what is owed). The base is the base of the person's
  latest line: a later run's lines carry the new target base, an assessed
  month (SIL art. 62) carries none (0). Persons whose lines net to nothing (a
  declaration withdrawn) are left out.
- What was withheld from the wage is the individual share (SIL art. 60); a
  person-month counts as paid only when the employer's whole bill for the
  month is paid (`payments` module notes), so "paid" is the bill's.
- The CSV is streamed: rows are read a chunk at a time through a server-side
  cursor and written out as they come, so a company of 50,000 is never held
  in memory. Its access is logged with the person keys only.
- Money is integer cents throughout; formatting is the caller's.
- Readers: an employer user its own employer, staff who read bills their
  area's (`bill.read`); everyone else is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _g

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import access_record
from shebao.contributions import selectors as contrib_selectors
from shebao.contributions.models import (
    Bill,
    BillKind,
    BillLine,
    DeclarationUpload,
    Insurance,
    LineKind,
    PaymentAllocation,
    UploadStatus,
)
from shebao.contributions.payments import BillBalance, bill_balance, money_of
from shebao.core.dates import add_months
from shebao.registry import selectors as registry_selectors
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Employer, Employment

INSURANCES: tuple[str, ...] = tuple(Insurance.values)  # the usual column order
STREAM_CHUNK = 2000  # rows fetched from the cursor, and rows per piece of the CSV
REMINDER_MONTHS = 12  # how far back reminders look for months not declared

_ZERO = Value(0)


def require_reader(user: User, employer: Employer) -> None:
    """Refuse anyone but the employer's own users and staff who read its bills."""
    require(
        user,
        "bill.read",
        area_code=employer.area_id,
        employer_id=employer.pk if user.role == Role.EMPLOYER else None,
    )


# --- the monthly detail (SIL art. 60) -------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One insurance of one person-month: the employer's and the individual's amounts."""

    insurance: str
    employer_cents: int
    individual_cents: int

    @property
    def label(self) -> str:
        return str(Insurance(self.insurance).label)


@dataclass(frozen=True)
class EmployeeMonth:
    """What one employee's month is made of, as the employer tells them."""

    person_id: int
    name: str
    id_number: str  # masked
    base_cents: int
    assessed: bool  # no declaration: 110% of the month before (SIL art. 62)
    shares: tuple[Share, ...]  # every insurance, in the usual order
    paid: bool
    paid_on: dt.date | None

    @property
    def employer_cents(self) -> int:
        return sum(share.employer_cents for share in self.shares)

    @property
    def individual_cents(self) -> int:
        return sum(share.individual_cents for share in self.shares)

    @property
    def withheld_cents(self) -> int:
        """The individual share, withheld from the wage by the employer (SIL art. 60)."""
        return self.individual_cents

    @property
    def total_cents(self) -> int:
        return self.employer_cents + self.individual_cents

    @property
    def billed_shares(self) -> list[Share]:
        """The insurances with an amount on either side (what a slip lists)."""
        return [s for s in self.shares if s.employer_cents or s.individual_cents]


def _latest(column: str, area_code: str, employer_id: int, period: dt.date) -> Subquery:
    """`column` of the person's latest bill line of the month (the newest run's)."""
    return Subquery(
        BillLine.objects.filter(
            area_id=area_code,
            period=period,
            employer_id=employer_id,
            person_id=OuterRef("person_id"),
        )
        .order_by("-pk")
        .values(column)[:1]
    )


def _person_months(area_code: str, employer_id: int, period: dt.date) -> QuerySet[Any]:
    """One row (a dict) per person billed in the month: each insurance's employer and
    individual sums, the totals, and the base and kind of the latest line."""
    sums: dict[str, Any] = {}
    for insurance in INSURANCES:
        only = Q(insurance=insurance)
        sums[f"{insurance}_employer"] = Coalesce(Sum("employer_cents", filter=only), _ZERO)
        sums[f"{insurance}_individual"] = Coalesce(Sum("individual_cents", filter=only), _ZERO)
    return (
        BillLine.objects.filter(area_id=area_code, period=period, employer_id=employer_id)
        .values("person_id", "person__name", "person__id_number")
        .annotate(
            employer_total=Coalesce(Sum("employer_cents"), _ZERO),
            individual_total=Coalesce(Sum("individual_cents"), _ZERO),
            **sums,
        )
        .filter(~Q(employer_total=0, individual_total=0))
        .annotate(
            base_cents=_latest("base_cents", area_code, employer_id, period),
            latest_kind=_latest("kind", area_code, employer_id, period),
        )
        .order_by("person__name", "person_id")
    )


@dataclass(frozen=True)
class MonthDetail:
    """The art. 60 detail of one employer's month: the bill, whether it is paid, and
    the rows (read when asked for: a page, or a stream)."""

    employer: Employer
    period: dt.date
    on: dt.date
    bill: Bill | None
    balance: BillBalance | None
    paid_on: dt.date | None  # the day the bill's contributions were paid in full
    actor: User = field(repr=False)  # whose reads are logged
    rows: QuerySet[Any] = field(repr=False)

    @property
    def paid(self) -> bool:
        return self.balance is not None and self.balance.principal_due_cents == 0

    @cached_property
    def count(self) -> int:
        return self.rows.count()

    def employee(self, row: dict[str, Any]) -> EmployeeMonth:
        return EmployeeMonth(
            person_id=row["person_id"],
            name=row["person__name"],
            id_number=mask_identity_number(row["person__id_number"]),
            base_cents=int(row["base_cents"] or 0),
            assessed=row["latest_kind"] == BillKind.ASSESSED,
            shares=tuple(
                Share(
                    insurance,
                    int(row[f"{insurance}_employer"]),
                    int(row[f"{insurance}_individual"]),
                )
                for insurance in INSURANCES
            ),
            paid=self.paid,
            paid_on=self.paid_on,
        )

    def page(self, number: Any, per_page: int) -> tuple[Page[Any], list[EmployeeMonth]]:
        """One page of employees (by name), its access logged."""
        page = Paginator(self.rows, per_page).get_page(number)
        employees = [self.employee(row) for row in page]
        self._log([e.person_id for e in employees], page=page.number)
        return page, employees

    def stream(self) -> Iterator[EmployeeMonth]:
        """Every employee, read from the database a chunk at a time; the access is
        logged first, with the person keys only."""
        self._log(self.rows.values_list("person_id", flat=True), page="all")
        for row in self.rows.iterator(chunk_size=STREAM_CHUNK):
            yield self.employee(row)

    def _log(self, person_ids: Iterable[int], **detail: Any) -> None:
        access_record(
            actor=self.actor,
            action="employer.monthly_detail",
            area_code=self.employer.area_id,
            person_ids=person_ids,
            employer=self.employer.pk,
            period=self.period.isoformat(),
            **detail,
        )


def _paid_on(bill: Bill, on: dt.date) -> dt.date | None:
    found = PaymentAllocation.objects.filter(
        bill=bill, principal_cents__gt=0, payment__paid_on__lte=on
    ).aggregate(day=Max("payment__paid_on"))["day"]
    return found if isinstance(found, dt.date) else None


def month_detail(
    user: User,
    employer: Employer,
    period: dt.date,
    on: dt.date,
    *,
    person_id: int | None = None,
) -> MonthDetail:
    """The monthly detail of `employer` for `period` (its first day), paid as of `on`;
    only `person_id`'s row when given."""
    require_reader(user, employer)
    period = period.replace(day=1)
    bill = Bill.objects.filter(
        area_id=employer.area_id, employer_id=employer.pk, period=period
    ).first()
    balance = bill_balance(bill, on) if bill is not None else None
    paid_on = (
        _paid_on(bill, on)
        if bill is not None and balance is not None and not balance.principal_due_cents
        else None
    )
    rows = _person_months(employer.area_id, employer.pk, period)
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    return MonthDetail(employer, period, on, bill, balance, paid_on, user, rows)


def billed_months(user: User, employer: Employer) -> list[dt.date]:
    """The months the employer has a bill for, newest first."""
    require_reader(user, employer)
    return list(
        Bill.objects.filter(area_id=employer.area_id, employer_id=employer.pk)
        .order_by("-period")
        .values_list("period", flat=True)
    )


class _Echo:
    """A file-like object that hands back what the csv writer writes."""

    def write(self, text: str) -> str:
        return text


def _plain(cents: int) -> str:
    """Cents as yuan with two decimals, no separators: 144000 → "1440.00"."""
    return str(money_of(cents))


def detail_header() -> list[str]:
    header = [_g("Month"), _g("Name"), _g("Identity number"), _g("Contribution base")]
    for insurance in INSURANCES:
        label = str(Insurance(insurance).label)
        header += [
            _g("%(insurance)s: employer") % {"insurance": label},
            _g("%(insurance)s: individual") % {"insurance": label},
        ]
    header += [
        _g("Employer total"),
        _g("Withheld from the wage"),
        _g("Total"),
        _g("Assessed (SIL art. 62)"),
        _g("Paid"),
        _g("Paid on"),
    ]
    return header


def detail_record(detail: MonthDetail, employee: EmployeeMonth) -> list[str]:
    record = [
        f"{detail.period:%Y-%m}",
        employee.name,
        employee.id_number,
        _plain(employee.base_cents),
    ]
    for share in employee.shares:
        record += [_plain(share.employer_cents), _plain(share.individual_cents)]
    record += [
        _plain(employee.employer_cents),
        _plain(employee.withheld_cents),
        _plain(employee.total_cents),
        _g("yes") if employee.assessed else _g("no"),
        _g("yes") if employee.paid else _g("no"),
        employee.paid_on.isoformat() if employee.paid_on else "",
    ]
    return record


def detail_csv(detail: MonthDetail) -> Iterator[str]:
    """The month's detail as CSV text in pieces (a byte-order mark first, for
    spreadsheets), never the whole company in memory."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(detail_header())
    piece: list[str] = []
    for employee in detail.stream():
        piece.append(writer.writerow(detail_record(detail, employee)))
        if len(piece) >= STREAM_CHUNK:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


# --- employees and what was declared for them --------------------------------------------


@dataclass(frozen=True)
class DeclaredMonth:
    period: dt.date
    wage_cents: int


@dataclass(frozen=True)
class EmployeeRow:
    """A registered employment with the months declared for the person (newest first)."""

    employment: Employment
    id_number: str  # masked
    months: list[DeclaredMonth]
    on: dt.date

    @property
    def current(self) -> bool:
        end = self.employment.end_date
        return self.employment.start_date <= self.on and (end is None or end >= self.on)

    @property
    def months_declared(self) -> int:
        return len(self.months)

    @property
    def latest(self) -> DeclaredMonth | None:
        return self.months[0] if self.months else None


class EmploymentState:
    CURRENT = "current"
    ENDED = "ended"


def _now_employed(on: dt.date) -> Q:
    return Q(start_date__lte=on) & (Q(end_date__isnull=True) | Q(end_date__gte=on))


def employments(
    user: User, employer: Employer, on: dt.date, *, name: str = "", state: str = ""
) -> QuerySet[Employment]:
    """The employer's registered employments, current and ended (or `state` only),
    those now in force first, then by name; `name` matches part of the name."""
    rows = registry_selectors.employments_for(user).filter(
        area_id=employer.area_id, employer_id=employer.pk
    )
    if name.strip():
        rows = rows.filter(person__name__contains=name.strip())
    if state == EmploymentState.CURRENT:
        rows = rows.filter(_now_employed(on))
    elif state == EmploymentState.ENDED:
        rows = rows.exclude(_now_employed(on))
    return rows.order_by(F("end_date").desc(nulls_first=True), "person__name", "pk")


def _active_declarations(user: User, employer: Employer) -> QuerySet[Any]:
    """The employer's declared lines no reversal points to: the wage of each person-month."""
    return contrib_selectors.lines_for(user).filter(
        area_id=employer.area_id,
        employer_id=employer.pk,
        kind=LineKind.DECLARED,
        reversal__isnull=True,
    )


def declared_months(
    user: User, employer: Employer, person_ids: Iterable[int]
) -> dict[int, list[DeclaredMonth]]:
    """Each person's months declared by the employer with the wage, newest first."""
    found: dict[int, list[DeclaredMonth]] = defaultdict(list)
    for person_id, period, wage in (
        _active_declarations(user, employer)
        .filter(person_id__in=list(person_ids))
        .order_by("person_id", "-period")
        .values_list("person_id", "period", "wage")
    ):
        found[person_id].append(DeclaredMonth(period, int(wage * 100)))
    return found


def employee_rows(
    user: User, employer: Employer, employments: Iterable[Employment], on: dt.date
) -> list[EmployeeRow]:
    """A page of employments with their declared months; the access is logged."""
    employments = list(employments)
    person_ids = [e.person_id for e in employments]
    months = declared_months(user, employer, person_ids)
    access_record(
        actor=user,
        action="employer.employees",
        area_code=employer.area_id,
        person_ids=person_ids,
        employer=employer.pk,
    )
    return [
        EmployeeRow(e, mask_identity_number(e.person.id_number), months.get(e.person_id, []), on)
        for e in employments
    ]


@dataclass(frozen=True)
class Headcount:
    current: int
    late: int  # of the current ones, registered more than 30 days late (SIL art. 58)
    ended: int


def headcount(user: User, employer: Employer, on: dt.date) -> Headcount:
    now = _now_employed(on)
    counts = (
        registry_selectors.employments_for(user)
        .filter(area_id=employer.area_id, employer_id=employer.pk)
        .aggregate(
            current=Count("pk", filter=now),
            late=Count("pk", filter=now & Q(late_registration=True)),
            total=Count("pk"),
        )
    )
    return Headcount(counts["current"], counts["late"], counts["total"] - counts["current"])


# --- the month's declaration and reminders -------------------------------------------------


@dataclass(frozen=True)
class DeclarationStatus:
    """Whether a month is declared: its lines, and the last file sent for it."""

    period: dt.date
    lines: int  # persons declared (active lines)
    upload: DeclarationUpload | None  # the last file sent for the month

    @property
    def declared(self) -> bool:
        return self.lines > 0

    @property
    def refused(self) -> int:
        return self.upload.rows_rejected if self.upload is not None else 0


def declaration_status(user: User, employer: Employer, period: dt.date) -> DeclarationStatus:
    period = period.replace(day=1)
    lines = _active_declarations(user, employer).filter(period=period).count()
    upload = (
        contrib_selectors.uploads_for(user)
        .filter(area_id=employer.area_id, employer_id=employer.pk, period=period)
        .order_by("-created_at", "-pk")
        .first()
    )
    return DeclarationStatus(period, lines, upload)


@dataclass(frozen=True)
class UndeclaredMonth:
    period: dt.date
    assessed: bool  # billed at 110% of the month before (SIL art. 62)
    current: bool  # the month now running: still time to declare


@dataclass(frozen=True)
class Reminders:
    undeclared: list[UndeclaredMonth]  # newest first
    refused_uploads: list[DeclarationUpload]  # the last file of a month, with refused rows

    @property
    def count(self) -> int:
        return len(self.undeclared) + len(self.refused_uploads)


def reminders(user: User, employer: Employer, on: dt.date) -> Reminders:
    """What the employer has still to do about declarations in the last
    REMINDER_MONTHS months: months it had employees and declared nobody, and
    months whose last file had rows refused."""
    require_reader(user, employer)
    this_month = on.replace(day=1)
    first = max(add_months(this_month, 1 - REMINDER_MONTHS), employer.registered_on.replace(day=1))
    declared = set(
        _active_declarations(user, employer)
        .filter(period__gte=first, period__lte=this_month)
        .values_list("period", flat=True)
        .distinct()
    )
    assessed = set(
        Bill.objects.filter(
            area_id=employer.area_id,
            employer_id=employer.pk,
            period__gte=first,
            period__lte=this_month,
            kind=BillKind.ASSESSED,
        ).values_list("period", flat=True)
    )
    staff = registry_selectors.employments_for(user).filter(
        area_id=employer.area_id, employer_id=employer.pk
    )
    undeclared = []
    month = this_month
    while month >= first:
        if month not in declared:
            month_end = add_months(month, 1) - dt.timedelta(days=1)
            employed = staff.filter(start_date__lte=month_end).filter(
                Q(end_date__isnull=True) | Q(end_date__gte=month)
            )
            if employed.exists():
                undeclared.append(UndeclaredMonth(month, month in assessed, month == this_month))
        month = add_months(month, -1)
    last_files: dict[dt.date, DeclarationUpload] = {}
    for upload in (
        contrib_selectors.uploads_for(user)
        .filter(area_id=employer.area_id, employer_id=employer.pk, period__gte=first)
        .exclude(status=UploadStatus.RUNNING)
        .order_by("period", "created_at", "pk")
    ):
        last_files[upload.period] = upload
    refused = [
        upload
        for period, upload in sorted(last_files.items(), reverse=True)
        if upload.rows_rejected
    ]
    return Reminders(undeclared, refused)
