"""Reads of supervision and complaints, scoped to the acting user.

Supervision (SIL art. 4): `supervision_for` shows a person, month by month and
employer by employer, what the employer declared, what was billed for the
person and whether the bill was paid, next to the employments on the
registry — and flags what deserves a question:

- `declared_unbilled`: a wage was declared for a month the area has billed,
  and nothing was billed for the person;
- `withheld_unpaid`: the person's own share was billed (the employer withholds
  it from the wage, SIL art. 60) on a bill not paid by its due day;
- `unpaid`: the same, for a month billed without an individual share;
- `assessed`: nothing was declared and the month was assessed at 110% of the
  month before (SIL art. 62);
- `undeclared`: the registry shows an employment in a month the area has
  billed, and the employer declared no wage for the person.

A bill counts as paid only when the employer's whole bill for the month is
paid (`payments.person_arrears`, whose rule this reuses), by payments made on
or before the day asked about. Months before the area's billing runs began
are outside the records and never flagged. The whole table is a handful of
set-based queries per person, none per month.

Who sees what: the person their own table and cases; the staff of an area
who read complaints (administrator, contributions officer, auditor) the
area's cases and the supervision table of the area's persons — each such read
of a person's records is logged (PIPL). Anyone else sees nothing: a case out
of reach is "not found".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db import models
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can, require
from shebao.audit.services import access_record
from shebao.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
)
from shebao.contributions.models import (
    BillingRun,
    BillKind,
    BillLine,
    DeclarationLine,
    LineKind,
)
from shebao.contributions.payments import money_of, person_arrears
from shebao.core.dates import add_months
from shebao.core.errors import Forbidden, InvalidInput, NotFound
from shebao.registry.models import Employer, Employment, Person

if TYPE_CHECKING:
    from typing import TypeAlias

    from django_stubs_ext import WithAnnotations

    class _Queued(TypedDict):
        overdue: int  # 1: open and past its deadline

    QueuedComplaint: TypeAlias = WithAnnotations[Complaint, _Queued]

DEFAULT_MONTHS = 24
MAX_MONTHS = 120


class Flag(models.TextChoices):
    DECLARED_UNBILLED = "declared_unbilled", _("Declared, not billed")
    WITHHELD_UNPAID = "withheld_unpaid", _("Your share billed, not paid")
    UNPAID = "unpaid", _("Billed, not paid")
    ASSESSED = "assessed", _("Assessed: nothing declared")
    UNDECLARED = "undeclared", _("Employed, not declared")


# What each flag means, in words the person can act on.
FLAG_HELP: dict[str, Any] = {
    Flag.DECLARED_UNBILLED: _(
        "Your employer declared a wage for this month, but nothing was billed for you."
    ),
    Flag.WITHHELD_UNPAID: _(
        "Your own share was billed to your employer, who withholds it from your wage "
        "(SIL art. 60), and the bill was not paid by its due day."
    ),
    Flag.UNPAID: _("The month was billed to your employer and not paid by its due day."),
    Flag.ASSESSED: _(
        "Your employer declared nothing for this month, so it was billed 1.1 times the month "
        "before (SIL art. 62)."
    ),
    Flag.UNDECLARED: _(
        "The registry shows you employed this month, and your employer declared no wage for you."
    ),
}

# The kind of complaint a flag suggests.
FLAG_KIND: dict[str, str] = {
    Flag.DECLARED_UNBILLED: ComplaintKind.UNPAID,
    Flag.WITHHELD_UNPAID: ComplaintKind.UNPAID,
    Flag.UNPAID: ComplaintKind.UNPAID,
    Flag.ASSESSED: ComplaintKind.UNDECLARED,
    Flag.UNDECLARED: ComplaintKind.UNDECLARED,
}


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


@dataclass(frozen=True)
class SupervisionMonth:
    """One month and one employer of a person's record."""

    period: dt.date
    employer: Employer
    employed: bool  # the registry shows an employment with the employer this month
    declared_wage: Decimal | None  # the active declared wage, None if nothing declared
    billed_employer_cents: int
    billed_individual_cents: int
    bill_id: int | None
    due_on: dt.date | None
    paid: bool | None  # None: nothing billed for the person
    overdue: bool  # billed, unpaid and past its due day
    flags: tuple[str, ...]

    @property
    def billed(self) -> bool:
        return bool(self.billed_employer_cents or self.billed_individual_cents)

    @property
    def billed_employer(self) -> Decimal:
        return money_of(self.billed_employer_cents)

    @property
    def billed_individual(self) -> Decimal:
        return money_of(self.billed_individual_cents)

    @property
    def flag_labels(self) -> list[str]:
        return [str(Flag(flag).label) for flag in self.flags]

    @property
    def suggested_kind(self) -> str:
        return FLAG_KIND[self.flags[0]] if self.flags else ComplaintKind.OTHER

    def as_evidence(self) -> dict[str, Any]:
        """The month as a complaint keeps it: plain JSON, amounts as strings."""
        return {
            "period": f"{self.period:%Y-%m}",
            "employer_id": self.employer.pk,
            "employer_name": self.employer.name,
            "credit_code": self.employer.credit_code,
            "employed": self.employed,
            "declared_wage": str(self.declared_wage) if self.declared_wage is not None else None,
            "billed_employer": str(self.billed_employer),
            "billed_individual": str(self.billed_individual),
            "bill_id": self.bill_id,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "paid": self.paid,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class Supervision:
    person: Person
    on: dt.date
    since: dt.date
    until: dt.date
    months: list[SupervisionMonth]  # newest month first, then by employer

    @property
    def flagged(self) -> list[SupervisionMonth]:
        return [month for month in self.months if month.flags]

    def flagged_of(self, employer_id: int) -> list[SupervisionMonth]:
        return [m for m in self.flagged if m.employer.pk == employer_id]

    @property
    def flagged_employers(self) -> list[Employer]:
        seen: dict[int, Employer] = {}
        for month in self.flagged:
            seen.setdefault(month.employer.pk, month.employer)
        return list(seen.values())


def _require_supervisor(user: User, person: Person) -> None:
    """The person themselves, or staff of the person's area who read complaints."""
    if user.is_authenticated and user.is_active and user.role == Role.INDIVIDUAL:
        if user.person_id != person.pk:
            raise Forbidden(_("Individuals may see only their own contributions."))
        return
    require(user, "complaint.read", area_code=person.area_id)


def _window(on: dt.date, since: dt.date | None, until: dt.date | None) -> tuple[dt.date, dt.date]:
    last = _month(until or on)
    first = _month(since) if since else add_months(last, -(DEFAULT_MONTHS - 1))
    if first > last:
        raise InvalidInput(
            _("The first month must not be after the last."), code="period_order", field="since"
        )
    if _months_between(first, last) >= MAX_MONTHS:
        raise InvalidInput(
            _("Ask for at most %(months)s months at a time."),
            code="period_too_long",
            field="since",
            params={"months": MAX_MONTHS},
        )
    return first, last


def supervision_for(
    user: User,
    person: Person,
    *,
    on: dt.date | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Supervision:
    """The person's record per month and employer from `since` to `until` (months,
    both included; default: the 24 months up to the month of `on`), as of `on`
    (default today): payments made after `on` do not count."""
    _require_supervisor(user, person)
    on = on or timezone.localdate()
    first, last = _window(on, since, until)
    area = person.area_id
    in_window = {"period__gte": first, "period__lte": last}

    # Bills not fully paid by `on` (the payments module's rule), as bill keys.
    unpaid = {month.bill.pk for month in person_arrears(user, person, on).months}
    billed: dict[tuple[dt.date, int], dict[str, Any]] = {
        (row["period"], row["employer_id"]): row
        for row in BillLine.objects.filter(area_id=area, person=person, **in_window)
        .order_by()
        .values("period", "employer_id", "bill_id", "bill__due_on")
        .annotate(
            employer_cents=Sum("employer_cents"),
            individual_cents=Sum("individual_cents"),
            assessed=Count("pk", filter=Q(kind=BillKind.ASSESSED)),
        )
    }
    declared: dict[tuple[dt.date, int], Decimal] = {
        (period, employer_id): wage
        for period, employer_id, wage in DeclarationLine.objects.filter(
            area_id=area, person=person, kind=LineKind.DECLARED, reversal__isnull=True, **in_window
        ).values_list("period", "employer_id", "wage")
    }
    billed_periods = set(
        BillingRun.objects.filter(area_id=area, **in_window)
        .values_list("period", flat=True)
        .distinct()
    )
    employed: set[tuple[dt.date, int]] = set()
    for employer_id, start, end in Employment.objects.filter(
        area_id=area, person=person, start_date__lt=add_months(last, 1)
    ).values_list("employer_id", "start_date", "end_date"):
        month = max(first, _month(start))
        stop = min(last, _month(end)) if end else last
        while month <= stop:
            employed.add((month, employer_id))
            month = add_months(month, 1)

    keys = set(billed) | set(declared) | {key for key in employed if key[0] in billed_periods}
    employers = Employer.objects.in_bulk({employer_id for _period, employer_id in keys})
    months = []
    for key in sorted(keys, key=lambda k: (-k[0].toordinal(), employers[k[1]].name, k[1])):
        period, employer_id = key
        line = billed.get(key)
        employer_cents = (line or {}).get("employer_cents") or 0
        individual_cents = (line or {}).get("individual_cents") or 0
        is_billed = bool(employer_cents or individual_cents)
        due_on = line["bill__due_on"] if line else None
        paid = (line["bill_id"] not in unpaid) if is_billed and line else None
        overdue = bool(is_billed and not paid and due_on is not None and on > due_on)
        wage = declared.get(key)
        flags = []
        if wage is not None and not is_billed and period in billed_periods:
            flags.append(Flag.DECLARED_UNBILLED)
        if overdue:
            flags.append(Flag.WITHHELD_UNPAID if individual_cents > 0 else Flag.UNPAID)
        if wage is None and line and line["assessed"]:
            flags.append(Flag.ASSESSED)
        if wage is None and key in employed and period in billed_periods:
            flags.append(Flag.UNDECLARED)
        months.append(
            SupervisionMonth(
                period=period,
                employer=employers[employer_id],
                employed=key in employed,
                declared_wage=wage,
                billed_employer_cents=employer_cents,
                billed_individual_cents=individual_cents,
                bill_id=line["bill_id"] if line else None,
                due_on=due_on,
                paid=paid,
                overdue=overdue,
                flags=tuple(str(flag) for flag in flags),
            )
        )
    access_record(
        actor=user, action="complaint.supervision", area_code=area, person_ids=[person.pk]
    )
    return Supervision(person=person, on=on, since=first, until=last, months=months)


# --- complaints ------------------------------------------------------------------


def complaints_for(user: User) -> QuerySet[Complaint]:
    """Cases the user may see: an individual their own, staff who read complaints
    their area's."""
    rows = Complaint.objects.select_related("area", "person", "employer", "assignee")
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if user.role == Role.INDIVIDUAL:
        return rows.filter(person_id=user.person_id or 0)
    if user.role in AREA_STAFF and can(user, "complaint.read"):
        return rows.filter(area_id=user.area_id)
    return rows.none()


def complaint_get(user: User, pk: int) -> Complaint:
    """One case; staff reading a complainant's case is an access, logged."""
    try:
        complaint = complaints_for(user).get(pk=pk)
    except (Complaint.DoesNotExist, ValueError):
        raise NotFound(
            _("No %(what)s with that key is visible to you."), params={"what": _("complaint")}
        ) from None
    if complaint.person_id is not None:
        access_record(
            actor=user,
            action="complaint.view",
            area_code=complaint.area_id,
            person_ids=[complaint.person_id],
        )
    return complaint


def complaint_history(complaint: Complaint) -> QuerySet[ComplaintEvent]:
    return complaint.events.select_related("actor").order_by("at", "pk")


def complaint_queue(
    user: User,
    *,
    status: str | None = None,
    overdue_only: bool = False,
    today: dt.date | None = None,
) -> QuerySet[QueuedComplaint]:
    """The area's cases for staff, the overdue first, then by deadline; each with
    `overdue` (1 or 0). `status` "open" means every status not closed."""
    require(user, "complaint.read", area_code=user.area_id)
    today = today or timezone.localdate()
    late = Q(status__in=sorted(OPEN_STATUSES), deadline__lt=today)
    rows = complaints_for(user).annotate(
        overdue=Case(When(late, then=Value(1)), default=Value(0), output_field=IntegerField())
    )
    if status == "open":
        rows = rows.filter(status__in=sorted(OPEN_STATUSES))
    elif status:
        rows = rows.filter(status=status)
    if overdue_only:
        rows = rows.filter(late)
    return rows.order_by("-overdue", "deadline", "pk")


def complaints_overdue(user: User, today: dt.date | None = None) -> QuerySet[QueuedComplaint]:
    """Open cases past their deadline, for the area administrator who assigns them."""
    require(user, "complaint.assign", area_code=user.area_id)
    return complaint_queue(user, overdue_only=True, today=today)


def complaint_links(complaint: Complaint) -> dict[str, Complaint | None]:
    """The case this one continues and the case that continues it (transfers)."""
    after = Complaint.objects.select_related("area").filter(transferred_from=complaint).first()
    before = (
        Complaint.objects.select_related("area").filter(pk=complaint.transferred_from_id).first()
        if complaint.transferred_from_id
        else None
    )
    return {"transferred_from": before, "transferred_to": after}


def transfer_letter(complaint: Complaint) -> ComplaintEvent:
    """The written transfer of a case visible to the caller: its own (if it was
    transferred) or that of the case it continues."""
    source = complaint.transferred_from_id or complaint.pk
    event = (
        ComplaintEvent.objects.select_related("actor", "complaint__area")
        .filter(complaint_id=source, operation="transfer")
        .exclude(document="")
        .first()
    )
    if event is None:
        raise NotFound(_("This complaint was not transferred; there is no transfer letter."))
    return event


def handlers_of(area_code: str) -> QuerySet[User]:
    """Staff of an area who may handle its cases (the assignees to choose from)."""
    from shebao.accounts.roles import CAPABILITIES

    return User.objects.filter(
        area_id=area_code, is_active=True, role__in=sorted(CAPABILITIES["complaint.handle"])
    ).order_by("username")
