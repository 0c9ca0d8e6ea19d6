"""Reads of the approval workflow, scoped to the acting user.

The ministry sees every area; an area's administrator and auditors see their
own area's applications, documents and drills; nobody else sees any.

The ministry overview is computed the way it would be if each area's data
lived on its own shard: every figure is one query per area on that area's
rows only (no query joins or groups across areas), and the national totals
are the per-area figures summed in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can, require
from shebao.approval import gates
from shebao.approval.checks import CHECKS, CheckResult, run_checks
from shebao.approval.models import (
    CHECKED_KINDS,
    OPEN_STATUSES,
    ApplicationDocument,
    ApplicationStatus,
    AreaApplication,
    ConditionItem,
    DrillRecord,
    ExtraCondition,
    ItemSource,
    ItemStatus,
    ReapprovalHold,
)
from shebao.cards.models import VALID_STATES, Card
from shebao.contributions.models import Bill, PaymentAllocation
from shebao.core.errors import NotFound
from shebao.registry.models import Area, AreaStatus, Person, PersonStatus


def _area_scope(user: User) -> Q | None:
    """None: every area; a Q on `area_id`; or Q(pk__in=[]) for nothing."""
    if user.role == Role.MINISTRY_ADMIN:
        return None
    if can(user, "approval.read") and user.area_id:
        return Q(area_id=user.area_id)
    return Q(pk__in=[])


def applications_for(user: User) -> QuerySet[AreaApplication]:
    rows = AreaApplication.objects.select_related(
        "area", "created_by", "submitted_by", "decided_by"
    )
    scope = _area_scope(user)
    return rows if scope is None else rows.filter(scope)


def application_get(user: User, pk: int) -> AreaApplication:
    try:
        return applications_for(user).get(pk=pk)
    except (AreaApplication.DoesNotExist, ValueError):
        raise NotFound(_("No area application with that key is visible to you.")) from None


def documents_for(user: User) -> QuerySet[ApplicationDocument]:
    rows = ApplicationDocument.objects.select_related("uploaded_by", "application")
    scope = _area_scope(user)
    return rows if scope is None else rows.filter(scope)


def document_get(user: User, pk: int) -> ApplicationDocument:
    try:
        return documents_for(user).get(pk=pk)
    except (ApplicationDocument.DoesNotExist, ValueError):
        raise NotFound(_("No application document with that key is visible to you.")) from None


def item_get(user: User, application: AreaApplication, pk: int) -> ConditionItem:
    try:
        return application.items.get(pk=pk)
    except (ConditionItem.DoesNotExist, ValueError):
        raise NotFound(_("No checklist item with that key is visible to you.")) from None


def drills_for(user: User) -> QuerySet[DrillRecord]:
    rows = DrillRecord.objects.select_related("area", "by")
    scope = _area_scope(user)
    return rows if scope is None else rows.filter(scope)


def extra_conditions_for(user: User) -> QuerySet[ExtraCondition]:
    """The ministry sees every condition; an area those that apply to it."""
    rows = ExtraCondition.objects.prefetch_related("areas")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if can(user, "approval.read") and user.area_id:
        return rows.filter(Q(all_areas=True) | Q(areas=user.area_id)).distinct()
    return rows.none()


def extra_condition_get(user: User, pk: int) -> ExtraCondition:
    try:
        return extra_conditions_for(user).get(pk=pk)
    except (ExtraCondition.DoesNotExist, ValueError):
        raise NotFound(_("No extra condition with that key is visible to you.")) from None


# --- the checklist, with live results ----------------------------------------------------


def item_title(item: ConditionItem) -> str:
    """The item's title in the active language (a ministry's own text stays as typed)."""
    return item.title if item.source == ItemSource.EXTRA else gettext(item.title)


@dataclass(frozen=True)
class ChecklistRow:
    item: ConditionItem
    title: str
    live: CheckResult | None  # the check run now (items the system checks)

    @property
    def live_status(self) -> str:
        if self.live is None:
            return self.item.status
        return ItemStatus.MET if self.live.ok else ItemStatus.NOT_MET


def checklist(
    application: AreaApplication, results: dict[str, CheckResult] | None = None
) -> list[ChecklistRow]:
    """The application's items; items the system checks carry the result of now
    (`results` if given, else the checks are run) beside the recorded one."""
    items = list(
        application.items.select_related("document", "checked_by", "extra_condition").order_by(
            "condition", "code"
        )
    )
    if results is None and any(item.source == ItemSource.CHECK for item in items):
        results = run_checks(application.area)
    return [
        ChecklistRow(
            item=item,
            title=item_title(item),
            live=(results or {}).get(item.code) if item.source == ItemSource.CHECK else None,
        )
        for item in items
    ]


@dataclass(frozen=True)
class AreaCheck:
    code: str
    condition: str
    title: str
    result: CheckResult


def area_checks(user: User, area: Area) -> list[AreaCheck]:
    """Every registered check run now for the area (its staff or the ministry)."""
    require(user, "approval.read", area_code=area.code)
    results = run_checks(area)
    return [
        AreaCheck(code, CHECKS[code].condition, str(CHECKS[code].title), result)
        for code, result in results.items()
    ]


# --- an area's approval state ---------------------------------------------------------


@dataclass(frozen=True)
class ApprovalState:
    area: Area
    open_application: AreaApplication | None
    holds: list[ReapprovalHold]
    filed_vendors: list[str]

    @property
    def reapproval_required(self) -> bool:
        return bool(self.holds)

    @property
    def may_produce(self) -> bool:
        return self.area.status == AreaStatus.APPROVED and not self.holds


def approval_state(user: User, area: Area) -> ApprovalState:
    require(user, "approval.read", area_code=area.code)
    checked = AreaApplication.objects.filter(area=area, kind__in=CHECKED_KINDS)
    return ApprovalState(
        area=area,
        open_application=checked.filter(status__in=OPEN_STATUSES).first(),
        holds=gates.open_holds(area.code),
        filed_vendors=sorted(gates.filed_vendor_names(area.code).values()),
    )


# --- the ministry overview ------------------------------------------------------------------


@dataclass
class AreaFigures:
    area: Area
    reapproval_required: bool
    application: AreaApplication | None  # the newest initial or re-approval application
    conditions_met: int
    conditions_total: int
    cards_held: int
    persons: int
    arrears_cents: int
    arrears_employers: int

    @property
    def status_label(self) -> str:
        if self.reapproval_required:
            return gettext("Re-approval required")
        return str(self.area.get_status_display())


@dataclass
class Overview:
    on: dt.date
    areas: list[AreaFigures]
    totals: dict[str, int] = field(default_factory=dict)


def _arrears(area_code: str, on: dt.date) -> tuple[int, int]:
    """Contributions overdue and unpaid on `on` (bills due before it, less what
    payments made by then allocated to them), in cents, and the employers owing.
    Late fees are not included: they run until the day of payment."""
    paid = (
        PaymentAllocation.objects.filter(
            area_id=area_code, bill=OuterRef("pk"), payment__paid_on__lte=on
        )
        .values("bill")
        .annotate(cents=Sum("principal_cents"))
        .values("cents")
    )
    owed = F("employer_cents") + F("individual_cents")
    row = (
        Bill.objects.filter(area_id=area_code, due_on__lt=on)
        .annotate(paid=Coalesce(Subquery(paid), 0, output_field=BigIntegerField()))
        .filter(paid__lt=owed)
        .aggregate(cents=Sum(owed - F("paid")), employers=Count("employer_id", distinct=True))
    )
    return int(row["cents"] or 0), int(row["employers"] or 0)


def area_figures(area: Area, on: dt.date) -> AreaFigures:
    """One area's figures, each from that area's rows alone."""
    application = (
        AreaApplication.objects.filter(area=area, kind__in=CHECKED_KINDS)
        .exclude(status=ApplicationStatus.WITHDRAWN)
        .order_by("-created_at", "-pk")
        .first()
    )
    tally = {"met": 0, "total": 0}
    if application is not None:
        tally = application.items.aggregate(
            met=Count("pk", filter=Q(status=ItemStatus.MET)), total=Count("pk")
        )
    arrears_cents, arrears_employers = _arrears(area.code, on)
    return AreaFigures(
        area=area,
        reapproval_required=ReapprovalHold.objects.filter(
            area=area, lifted_at__isnull=True
        ).exists(),
        application=application,
        conditions_met=tally["met"] or 0,
        conditions_total=tally["total"] or 0,
        cards_held=Card.objects.filter(area_id=area.code, state__in=VALID_STATES)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .count(),
        persons=Person.objects.filter(area_id=area.code, status=PersonStatus.ACTIVE).count(),
        arrears_cents=arrears_cents,
        arrears_employers=arrears_employers,
    )


TOTALLED = ("cards_held", "persons", "arrears_cents", "arrears_employers")


def ministry_overview(user: User, on: dt.date | None = None) -> Overview:
    """Every area with its approval status, conditions met, cards held, insured
    persons and contributions in arrears; and the national totals."""
    require(user, "approval.decide")
    day = on or timezone.localdate()
    rows = [area_figures(area, day) for area in Area.objects.order_by("code")]
    totals: dict[str, Any] = {name: sum(getattr(row, name) for row in rows) for name in TOTALLED}
    totals["areas"] = len(rows)
    totals["approved"] = sum(
        1 for row in rows if row.area.status == AreaStatus.APPROVED and not row.reapproval_required
    )
    return Overview(on=day, areas=rows, totals=totals)


def decision_queue(user: User) -> QuerySet[AreaApplication]:
    """Applications waiting for the ministry, oldest first."""
    require(user, "approval.decide")
    return (
        applications_for(user)
        .filter(status=ApplicationStatus.SUBMITTED)
        .order_by("submitted_at", "pk")
    )
