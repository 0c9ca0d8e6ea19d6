"""Plans against reality: the actual figures behind each plan, read from the
card records of one area and year with a few GROUP BY queries each.

- Application design: applications by channel (`Card.channel`, the day the
  application was submitted; temporary cards are no applications). The card
  records carry no instant-issuance channel, so that channel's actual is
  unknown (None), never a guess.
- Cost plan: cards produced (the vendor's result `produce` card event) per
  vendor of their production batch and month, times the plan's unit cost of
  the vendor; a vendor without a unit cost in the plan has no cost (None) and
  is named in the notes. The budget line by month is the total budget pro
  rata. Fee income: card fees paid (`CardFee.paid_at`).
- Information collection: persons whose name, phone and address are on the
  register and who have a photo on a card application, counted from the month
  of their first application with a photo; cumulative, like the targets.
  (Contact data are the register's today: a person's earlier phone numbers
  are not kept.)
- Distribution: cards handed over (`hand_over` card event) per outlet of the
  card and month.

Months are local months (Asia/Shanghai). Months after the day asked about
have no actual yet (None).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DateTimeField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractMonth, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.cards.lifecycle import Op
from shebao.cards.models import Card, CardEvent, CardFee, CardKind, CardPhoto, FeeStatus
from shebao.plans.models import (
    MONTHS,
    QUALIFYING_COURSE,
    CounterKind,
    DeviceKind,
    DeviceStatus,
    Plan,
    PlanChannel,
    PlanKind,
)
from shebao.registry.models import Outlet, Person

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def percent(actual: Decimal | int | None, target: Decimal | int | None) -> Decimal | None:
    """actual / target in per cent, one decimal, half-up; None without a target."""
    if actual is None or target is None or target <= 0:
        return None
    return (Decimal(actual) * 100 / Decimal(target)).quantize(TENTH, rounding=ROUND_HALF_UP)


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[1 January, next 1 January) of `year`, local time."""
    zone = timezone.get_current_timezone()
    return (
        dt.datetime(year, 1, 1, tzinfo=zone),
        dt.datetime(year + 1, 1, 1, tzinfo=zone),
    )


def months_known(year: int, on: dt.date) -> int:
    """How many months of `year` have begun by `on` (0 to 12)."""
    if year < on.year:
        return 12
    if year > on.year:
        return 0
    return on.month


# --- plans in force -----------------------------------------------------------------


def plan_in_force(area_code: str, year: int, kind: str, on: dt.date) -> Plan | None:
    """The version of the plan in force on `on`: the highest whose day has come."""
    return (
        Plan.objects.filter(area_id=area_code, year=year, kind=kind, valid_from__lte=on)
        .select_related("created_by")
        .order_by("-version")
        .first()
    )


def plans_in_force(area_code: str, year: int, on: dt.date) -> dict[str, Plan]:
    """Each kind's plan in force on `on` (kinds without one are absent)."""
    found: dict[str, Plan] = {}
    for plan in Plan.objects.filter(area_id=area_code, year=year, valid_from__lte=on).order_by(
        "kind", "-version"
    ):
        found.setdefault(plan.kind, plan)
    return found


# --- figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One figure of a plan against reality.

    `measure` says what is counted (applications, produced, cost,
    cost_per_card, fee_income, collected, handed_over); `key` is the channel,
    vendor or outlet code ("" for the whole area); `month` 1–12 or None for
    the year.
    """

    measure: str
    key: str
    label: str
    month: int | None
    target: Decimal | None
    actual: Decimal | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> Decimal | None:
        return percent(self.actual, self.target)


@dataclass(frozen=True)
class PlanFigures:
    area_code: str
    year: int
    kind: str
    on: dt.date
    plan: Plan | None
    rows: list[FigureRow]
    totals: list[FigureRow]
    notes: list[str] = field(default_factory=list)

    def total(self, measure: str) -> FigureRow | None:
        return next((row for row in self.totals if row.measure == measure), None)

    def by_month(self, measure: str, key: str = "") -> list[FigureRow]:
        return sorted(
            (r for r in self.rows if r.measure == measure and r.key == key and r.month),
            key=lambda r: r.month or 0,
        )


def _dec(value: int | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def application_figures(area_code: str, year: int, on: dt.date) -> PlanFigures:
    plan = plan_in_force(area_code, year, PlanKind.APPLICATION, on)
    start, end = year_bounds(year)
    applied: dict[str, int] = dict(
        Card.objects.filter(area_id=area_code, submitted_at__gte=start, submitted_at__lt=end)
        .exclude(kind=CardKind.TEMPORARY)
        .order_by()
        .values_list("channel")
        .annotate(count=Count("pk"))
    )
    lines = {line.channel: line for line in plan.channels.all()} if plan else {}
    rows, notes = [], []
    for channel in PlanChannel:
        line = lines.get(channel.value)
        offered = bool(line and line.offered)
        actual = None if channel == PlanChannel.INSTANT else applied.get(channel.value, 0)
        rows.append(
            FigureRow(
                measure="applications",
                key=channel.value,
                label=str(channel.label),
                month=None,
                target=_dec(line.target) if offered and line else None,
                actual=_dec(actual),
                detail={"offered": offered},
            )
        )
        if plan and not offered and actual:
            notes.append(
                str(_("%(count)s applications came by %(channel)s, which the plan does not offer."))
                % {"count": actual, "channel": channel.label}
            )
    notes.append(str(_("The card records do not mark instant issuance; its actual is not known.")))
    target = sum((r.target for r in rows if r.target is not None), Decimal(0)) if plan else None
    total = FigureRow(
        measure="applications",
        key="",
        label=str(_("All channels")),
        month=None,
        target=target,
        actual=Decimal(sum(applied.values())),
    )
    return PlanFigures(area_code, year, PlanKind.APPLICATION, on, plan, rows, [total], notes)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cost_figures(area_code: str, year: int, on: dt.date) -> PlanFigures:
    plan = plan_in_force(area_code, year, PlanKind.COST, on)
    start, end = year_bounds(year)
    produced_rows = (
        CardEvent.objects.filter(area_id=area_code, operation=Op.PRODUCE, at__gte=start, at__lt=end)
        .annotate(month=ExtractMonth("at"))
        .order_by()
        .values("card__batch__vendor", "month")
        .annotate(count=Count("pk"))
    )
    produced: dict[str, dict[int, int]] = {}
    for row in produced_rows:
        vendor = row["card__batch__vendor"] or ""
        produced.setdefault(vendor, {})[row["month"]] = row["count"]
    unit_costs = {line.vendor: line.unit_cost for line in plan.vendor_costs.all()} if plan else {}
    rows, notes = [], []
    cost_by_month = dict.fromkeys(MONTHS, Decimal(0))
    total_cost, total_produced, costed = Decimal(0), 0, 0
    for vendor in sorted(set(produced) | set(unit_costs)):
        months = produced.get(vendor, {})
        count = sum(months.values())
        unit = unit_costs.get(vendor)
        total_produced += count
        if unit is None:
            if count:
                notes.append(
                    str(_("%(count)s cards by %(vendor)s have no unit cost in the plan."))
                    % {"count": count, "vendor": vendor or "—"}
                )
        else:
            costed += count
            total_cost += unit * count
            for month, made in months.items():
                cost_by_month[month] += unit * made
        rows.append(
            FigureRow(
                measure="cost",
                key=vendor,
                label=vendor or str(_("(no vendor)")),
                month=None,
                target=None,
                actual=_money(unit * count) if unit is not None else None,
                detail={"produced": count, "unit_cost": unit},
            )
        )
    known = months_known(year, on)
    running = Decimal(0)
    budget = plan.budget_total if plan else None
    for month in MONTHS:
        running += cost_by_month[month]
        rows.append(
            FigureRow(
                measure="cost",
                key="",
                label=f"{year}-{month:02d}",
                month=month,
                target=_money(budget * month / 12) if budget is not None else None,
                actual=_money(running) if month <= known else None,
            )
        )
    fees = CardFee.objects.filter(
        area_id=area_code, status=FeeStatus.PAID, paid_at__gte=start, paid_at__lt=end
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    totals = [
        FigureRow(
            measure="produced",
            key="",
            label=str(_("Cards produced")),
            month=None,
            target=None,
            actual=Decimal(total_produced),
        ),
        FigureRow(
            measure="cost",
            key="",
            label=str(_("Production cost")),
            month=None,
            target=budget,
            actual=_money(total_cost),
            detail={"costed_cards": costed},
        ),
        FigureRow(
            measure="cost_per_card",
            key="",
            label=str(_("Cost per card")),
            month=None,
            target=plan.budget_per_card if plan else None,
            actual=_money(total_cost / costed) if costed else None,
        ),
        FigureRow(
            measure="fee_income",
            key="",
            label=str(_("Fee income")),
            month=None,
            target=plan.expected_fee_income if plan else None,
            actual=_money(fees),
        ),
    ]
    return PlanFigures(area_code, year, PlanKind.COST, on, plan, rows, totals, notes)


def collected_persons(area_code: str, before: dt.datetime | None = None) -> QuerySet[Person]:
    """Persons with name, phone and address on the register and a photo on an
    application (submitted before `before`), each with `first_photo_at` (when
    the first such application was submitted)."""
    photos = CardPhoto.objects.filter(area_id=area_code, card__person=OuterRef("pk"))
    if before is not None:
        photos = photos.filter(card__submitted_at__lt=before)
    first_photo = photos.order_by("card__submitted_at").values("card__submitted_at")[:1]
    return (
        Person.objects.filter(area_id=area_code)
        .exclude(Q(name="") | Q(phone="") | Q(address=""))
        .annotate(first_photo_at=Subquery(first_photo, output_field=DateTimeField()))
        .filter(first_photo_at__isnull=False)
    )


def collection_figures(area_code: str, year: int, on: dt.date) -> PlanFigures:
    plan = plan_in_force(area_code, year, PlanKind.COLLECTION, on)
    start, end = year_bounds(year)
    zone = timezone.get_current_timezone()
    by_month = (
        collected_persons(area_code, before=end)
        .annotate(month=TruncMonth("first_photo_at", tzinfo=zone))
        .order_by()
        .values("month")
        .annotate(count=Count("pk"))
    )
    before, in_year = 0, dict.fromkeys(MONTHS, 0)
    for row in by_month:
        month = row["month"]
        if month is None or month < start:
            before += row["count"]
        else:
            in_year[timezone.localtime(month, zone).month] += row["count"]
    targets = {line.month: line.target for line in plan.collection_targets.all()} if plan else {}
    known = months_known(year, on)
    rows, running = [], before
    for month in MONTHS:
        running += in_year[month]
        rows.append(
            FigureRow(
                measure="collected",
                key="",
                label=f"{year}-{month:02d}",
                month=month,
                target=_dec(targets.get(month)),
                actual=Decimal(running) if month <= known else None,
                detail={"new": in_year[month]},
            )
        )
    reached = rows[known - 1].actual if known else Decimal(before)
    total = FigureRow(
        measure="collected",
        key="",
        label=str(_("Persons with complete data and a photo")),
        month=None,
        target=_dec(plan.target_population) if plan else None,
        actual=reached,
        detail={"before_year": before},
    )
    notes = [
        str(
            _(
                "Complete data: name, phone and address on the register; the photo is the "
                "one taken with a card application."
            )
        )
    ]
    return PlanFigures(area_code, year, PlanKind.COLLECTION, on, plan, rows, [total], notes)


def distribution_figures(area_code: str, year: int, on: dt.date) -> PlanFigures:
    plan = plan_in_force(area_code, year, PlanKind.DISTRIBUTION, on)
    start, end = year_bounds(year)
    handed: dict[tuple[int | None, int], int] = {
        (row["card__outlet_id"], row["month"]): row["count"]
        for row in CardEvent.objects.filter(
            area_id=area_code, operation=Op.HAND_OVER, at__gte=start, at__lt=end
        )
        .annotate(month=ExtractMonth("at"))
        .order_by()
        .values("card__outlet_id", "month")
        .annotate(count=Count("pk"))
    }
    targets: dict[tuple[int, int], int] = (
        {(t.outlet_id, t.month): t.target for t in plan.distribution_targets.all()} if plan else {}
    )
    outlet_ids = {o for o, _m in targets} | {o for o, _m in handed if o is not None}
    outlets = Outlet.objects.in_bulk(outlet_ids)
    known = months_known(year, on)
    rows, totals = [], []
    for outlet in sorted(outlets.values(), key=lambda o: o.code):
        planned_any = any(o == outlet.pk for o, _m in targets)
        for month in MONTHS:
            target = targets.get((outlet.pk, month))
            rows.append(
                FigureRow(
                    measure="handed_over",
                    key=outlet.code,
                    label=outlet.name,
                    month=month,
                    target=_dec(target) if planned_any else None,
                    actual=_dec(handed.get((outlet.pk, month), 0)) if month <= known else None,
                    detail={"outlet": outlet.pk},
                )
            )
        totals.append(
            FigureRow(
                measure="handed_over",
                key=outlet.code,
                label=outlet.name,
                month=None,
                target=_dec(sum(t for (o, _m), t in targets.items() if o == outlet.pk))
                if planned_any
                else None,
                actual=_dec(sum(n for (o, _m), n in handed.items() if o == outlet.pk)),
                detail={"outlet": outlet.pk},
            )
        )
    for month in MONTHS:
        rows.append(
            FigureRow(
                measure="handed_over",
                key="",
                label=f"{year}-{month:02d}",
                month=month,
                target=_dec(sum(t for (_o, m), t in targets.items() if m == month))
                if plan
                else None,
                actual=_dec(sum(n for (_o, m), n in handed.items() if m == month))
                if month <= known
                else None,
            )
        )
    totals.append(
        FigureRow(
            measure="handed_over",
            key="",
            label=str(_("All outlets")),
            month=None,
            target=_dec(sum(targets.values())) if plan else None,
            actual=_dec(sum(handed.values())),
        )
    )
    return PlanFigures(area_code, year, PlanKind.DISTRIBUTION, on, plan, rows, totals, [])


FIGURES = {
    PlanKind.APPLICATION: application_figures,
    PlanKind.COST: cost_figures,
    PlanKind.COLLECTION: collection_figures,
    PlanKind.DISTRIBUTION: distribution_figures,
}

# The figure of each plan that the overview shows as its progress.
HEADLINE = {
    PlanKind.APPLICATION: "applications",
    PlanKind.COST: "cost",
    PlanKind.COLLECTION: "collected",
    PlanKind.DISTRIBUTION: "handed_over",
}


def plan_figures(area_code: str, year: int, kind: str, on: dt.date) -> PlanFigures:
    return FIGURES[PlanKind(kind)](area_code, year, on)


def headline(figures: PlanFigures) -> FigureRow | None:
    """The area-wide figure of a plan: the one its progress ring shows."""
    return next(
        (r for r in figures.totals if r.measure == HEADLINE[PlanKind(figures.kind)] and not r.key),
        None,
    )


# --- staff and equipment ---------------------------------------------------------------


@dataclass(frozen=True)
class OutletReadiness:
    outlet: Outlet
    counters: int  # active counters
    instant_counters: int  # active counters equipped for instant issuance
    card_readers: int  # card readers in service
    faulty: int  # devices reported faulty

    @property
    def ready(self) -> bool:
        return self.counters > 0 and self.card_readers > 0


def outlet_readiness(area_code: str) -> list[OutletReadiness]:
    """Each active outlet of the area with its working counters and card readers."""
    outlets = (
        Outlet.objects.filter(area_id=area_code, active=True)
        .annotate(
            active_counters=Count("counters", filter=Q(counters__active=True), distinct=True),
            instant_counters=Count(
                "counters",
                filter=Q(counters__active=True, counters__kind=CounterKind.INSTANT),
                distinct=True,
            ),
            card_readers=Count(
                "devices",
                filter=Q(
                    devices__kind=DeviceKind.CARD_READER,
                    devices__status=DeviceStatus.IN_SERVICE,
                ),
                distinct=True,
            ),
            faulty=Count("devices", filter=Q(devices__status=DeviceStatus.FAULTY), distinct=True),
        )
        .order_by("code")
    )
    return [
        OutletReadiness(
            outlet=outlet,
            counters=outlet.active_counters,
            instant_counters=outlet.instant_counters,
            card_readers=outlet.card_readers,
            faulty=outlet.faulty,
        )
        for outlet in outlets
    ]


def trained_officers(area_code: str, on: dt.date) -> QuerySet[User]:
    """Active card officers of the area holding a valid card-issuance training on `on`."""
    return User.objects.filter(
        area_id=area_code,
        is_active=True,
        role=Role.CARD_OFFICER,
        trainings__course=QUALIFYING_COURSE,
        trainings__completed_on__lte=on,
        trainings__valid_until__gte=on,
    ).distinct()
