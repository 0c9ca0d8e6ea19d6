"""Staff, equipment and implementation plans (conditions b and c of an area's
approval): counters and devices of the outlets (with a device's status
changes), staff trainings, the four plans of an area and year (every version
kept), and each plan against the card records. Thin: scoping in
`plans.selectors`, rules in `plans.services`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.models import User
from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, actor, responses
from shebao.core.errors import NotFound
from shebao.plans import selectors, services
from shebao.plans.figures import FigureRow
from shebao.plans.models import Counter, Device, Plan, PlanKind, Training
from shebao.registry import selectors as registry_selectors

router = Router(tags=["plans"])

MONEY = "CNY, two decimals"


# --- schemas ---------------------------------------------------------------------------


class CounterOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    outlet: int = Field(alias="outlet_id")
    outlet_name: str
    number: str
    kind: str = Field(description="ordinary or instant (instant issuance)")
    active: bool

    @staticmethod
    def resolve_outlet_name(obj: Counter) -> str:
        return obj.outlet.name


class CounterIn(Schema):
    outlet: int
    number: str
    kind: str = Field("ordinary", description="ordinary or instant")


class CounterPatch(Schema):
    kind: str | None = None
    active: bool | None = Field(None, description="false closes the counter")


class CounterQuery(PageQuery):
    outlet: int | None = None


class DeviceOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    outlet: int = Field(alias="outlet_id")
    counter: int | None = Field(None, alias="counter_id")
    kind: str = Field(description="card_reader, card_printer, pin_pad, photo_camera, scanner")
    serial_number: str
    status: str = Field(description="in_service, faulty or retired")


class StatusChangeOut(Schema):
    at: dt.datetime
    from_status: str
    to_status: str
    actor: str
    reason: str

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return str(obj.actor.username)


class DeviceDetailOut(DeviceOut):
    history: list[StatusChangeOut]

    @staticmethod
    def resolve_history(obj: Device) -> list[Any]:
        return list(selectors.device_history(obj))


class DeviceIn(Schema):
    outlet: int
    counter: int | None = None
    kind: str
    serial_number: str


class DeviceQuery(PageQuery):
    outlet: int | None = None
    kind: str | None = None
    status: str | None = None


class DeviceStatusIn(Schema):
    status: str = Field(description="in_service, faulty or retired")
    reason: str


class TrainingOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    user: int = Field(alias="user_id")
    username: str
    role: str
    course: str
    completed_on: dt.date
    valid_until: dt.date
    certificate: str
    valid_today: bool

    @staticmethod
    def resolve_username(obj: Training) -> str:
        return obj.user.username

    @staticmethod
    def resolve_role(obj: Training) -> str:
        return obj.user.role

    @staticmethod
    def resolve_valid_today(obj: Training) -> bool:
        today = timezone.localdate()
        return obj.completed_on <= today <= obj.valid_until


class TrainingIn(Schema):
    user: int = Field(description="A member of the caller's area's staff")
    course: str = Field(description="card_issuance, equipment, information_security, emergency")
    completed_on: dt.date
    valid_until: dt.date
    certificate: str = ""


class TrainingQuery(PageQuery):
    user: int | None = None
    valid_on: dt.date | None = Field(None, description="Only trainings valid on this day")


class ChannelLine(Schema):
    channel: str = Field(description="counter, online, employer or instant")
    target: int = Field(ge=0, description="Applications expected through the channel")


class VendorLine(Schema):
    vendor: str
    unit_cost: Decimal = Field(description=MONEY)


class MonthLine(Schema):
    month: int = Field(ge=1, le=12)
    target: int = Field(ge=0, description="Persons collected by the end of the month")


class OutletMonthLine(Schema):
    outlet: int
    month: int = Field(ge=1, le=12)
    target: int = Field(ge=0, description="Cards to hand over at the outlet that month")


class PlanOut(Schema):
    area: str = Field(alias="area_id")
    year: int
    kind: str
    version: int
    valid_from: dt.date
    note: str
    created_by: str
    created_at: dt.datetime
    budget_per_card: Decimal | None = Field(description="Cost plan; " + MONEY)
    budget_total: Decimal | None = Field(description="Cost plan; " + MONEY)
    expected_fee_income: Decimal | None = Field(description="Cost plan; " + MONEY)
    target_population: int | None = Field(description="Information collection plan")
    channels: list[ChannelLine] = Field(description="Application design: the channels offered")
    vendor_costs: list[VendorLine]
    collection_targets: list[MonthLine]
    distribution_targets: list[OutletMonthLine]

    @staticmethod
    def resolve_created_by(obj: Plan) -> str:
        return obj.created_by.username

    @staticmethod
    def resolve_channels(obj: Plan) -> list[dict[str, Any]]:
        return [
            {"channel": line.channel, "target": line.target}
            for line in obj.channels.all()
            if line.offered
        ]

    @staticmethod
    def resolve_vendor_costs(obj: Plan) -> list[Any]:
        return list(obj.vendor_costs.order_by("vendor"))

    @staticmethod
    def resolve_collection_targets(obj: Plan) -> list[Any]:
        return list(obj.collection_targets.order_by("month"))

    @staticmethod
    def resolve_distribution_targets(obj: Plan) -> list[dict[str, Any]]:
        return [
            {"outlet": line.outlet_id, "month": line.month, "target": line.target}
            for line in obj.distribution_targets.order_by("outlet_id", "month")
        ]


class PlanVersionsOut(Schema):
    in_force: PlanOut | None = Field(description="The version in force today")
    versions: list[PlanOut] = Field(description="Every version, the newest first")


class PlanIn(Schema):
    valid_from: dt.date | None = Field(None, description="Default today")
    note: str = ""
    channels: list[ChannelLine] = Field(
        default_factory=list, description="Application design; a channel not listed is not offered"
    )
    budget_per_card: Decimal | None = None
    budget_total: Decimal | None = None
    expected_fee_income: Decimal | None = None
    vendor_costs: list[VendorLine] = Field(default_factory=list)
    target_population: int | None = None
    collection_targets: list[MonthLine] = Field(default_factory=list)
    distribution_targets: list[OutletMonthLine] = Field(default_factory=list)


class FigureOut(Schema):
    measure: str = Field(
        description="applications, produced, cost, cost_per_card, fee_income, collected, "
        "handed_over"
    )
    key: str = Field(description="Channel, vendor or outlet code; empty for the whole area")
    label: str
    month: int | None = Field(description="1–12; none for the year")
    target: Decimal | None = Field(description="None: the plan sets none")
    actual: Decimal | None = Field(description="None: not known (or a month still to come)")
    percent: Decimal | None = Field(description="actual / target, one decimal")
    detail: dict[str, Any]


class FiguresOut(Schema):
    area: str
    year: int
    kind: str
    on: dt.date
    version: int | None = Field(description="The plan version in force; none without a plan")
    rows: list[FigureOut]
    totals: list[FigureOut]
    notes: list[str]


class FiguresQuery(Schema):
    on: dt.date | None = Field(
        None, description="The day the plan in force is taken; default today"
    )


# --- helpers ----------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in PlanKind.values:
        raise NotFound(_("There is no plan of that kind."), field="kind")
    return kind


def _figure(row: FigureRow) -> dict[str, Any]:
    return {
        "measure": row.measure,
        "key": row.key,
        "label": row.label,
        "month": row.month,
        "target": row.target,
        "actual": row.actual,
        "percent": row.percent,
        "detail": {
            key: str(value) if isinstance(value, Decimal) else value
            for key, value in row.detail.items()
        },
    }


# --- counters -----------------------------------------------------------------------------


@router.get(
    "/counters", response=responses(200, page_of(CounterOut)), summary="Counters of the outlets"
)
def counter_list(request: HttpRequest, query: Query[CounterQuery]) -> Any:
    rows = selectors.counters_for(actor(request)).order_by("area_id", "outlet__code", "number")
    if query.outlet is not None:
        rows = rows.filter(outlet_id=query.outlet)
    return paginate(rows, query.page, query.page_size)


@router.post("/counters", response=responses(201, CounterOut), summary="Register a counter")
def counter_register(request: HttpRequest, payload: CounterIn) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, payload.outlet)
    counter = services.counter_register(
        actor=user, outlet=outlet, number=payload.number, kind=payload.kind
    )
    return Status(201, counter)


@router.patch(
    "/counters/{counter_id}",
    response=responses(200, CounterOut),
    summary="Change a counter's kind, close or reopen it",
)
def counter_change(request: HttpRequest, counter_id: int, payload: CounterPatch) -> Any:
    user = actor(request)
    counter = selectors.counter_get(user, counter_id)
    return services.counter_change(
        actor=user, counter=counter, kind=payload.kind, active=payload.active
    )


# --- devices ------------------------------------------------------------------------------


@router.get(
    "/devices", response=responses(200, page_of(DeviceOut)), summary="Devices of the outlets"
)
def device_list(request: HttpRequest, query: Query[DeviceQuery]) -> Any:
    rows = selectors.devices_for(actor(request)).order_by("area_id", "outlet__code", "kind", "pk")
    for name in ("kind", "status"):
        if getattr(query, name):
            rows = rows.filter(**{name: getattr(query, name)})
    if query.outlet is not None:
        rows = rows.filter(outlet_id=query.outlet)
    return paginate(rows, query.page, query.page_size)


@router.post("/devices", response=responses(201, DeviceDetailOut), summary="Register a device")
def device_register(request: HttpRequest, payload: DeviceIn) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, payload.outlet)
    counter = selectors.counter_get(user, payload.counter) if payload.counter else None
    device = services.device_register(
        actor=user,
        outlet=outlet,
        counter=counter,
        kind=payload.kind,
        serial_number=payload.serial_number,
    )
    return Status(201, device)


@router.get(
    "/devices/{device_id}",
    response=responses(200, DeviceDetailOut),
    summary="A device with its status history",
)
def device_detail(request: HttpRequest, device_id: int) -> Any:
    return selectors.device_get(actor(request), device_id)


@router.post(
    "/devices/{device_id}/status",
    response=responses(200, DeviceDetailOut),
    summary="Report a device faulty, back in service or retired, with the reason",
)
def device_status(request: HttpRequest, device_id: int, payload: DeviceStatusIn) -> Any:
    user = actor(request)
    device = selectors.device_get(user, device_id)
    return services.device_set_status(
        actor=user, device=device, status=payload.status, reason=payload.reason
    )


# --- trainings ----------------------------------------------------------------------------


@router.get("/trainings", response=responses(200, page_of(TrainingOut)), summary="Staff trainings")
def training_list(request: HttpRequest, query: Query[TrainingQuery]) -> Any:
    rows = selectors.trainings_for(actor(request)).order_by("area_id", "user__username", "pk")
    if query.user is not None:
        rows = rows.filter(user_id=query.user)
    if query.valid_on is not None:
        rows = rows.filter(completed_on__lte=query.valid_on, valid_until__gte=query.valid_on)
    return paginate(rows, query.page, query.page_size)


@router.post(
    "/trainings", response=responses(201, TrainingOut), summary="Record a completed training"
)
def training_record(request: HttpRequest, payload: TrainingIn) -> Any:
    user = actor(request)
    trainee = User.objects.filter(pk=payload.user, area_id=user.area_id or "").first()
    if trainee is None:
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            field="user",
            params={"what": _("user")},
        )
    training = services.training_record(
        actor=user,
        user=trainee,
        course=payload.course,
        completed_on=payload.completed_on,
        valid_until=payload.valid_until,
        certificate=payload.certificate,
    )
    return Status(201, training)


# --- plans --------------------------------------------------------------------------------


@router.get(
    "/areas/{code}/plans/{year}/{kind}",
    response=responses(200, PlanVersionsOut),
    summary="One plan of an area and year: the version in force and every version",
)
def plan_get(request: HttpRequest, code: str, year: int, kind: str) -> Any:
    user = actor(request)
    area = selectors.area_for(user, code)
    versions = list(selectors.plan_versions(user, area, year, _kind(kind)))
    today = timezone.localdate()
    in_force = next((plan for plan in versions if plan.valid_from <= today), None)
    return {"in_force": in_force, "versions": versions}


@router.post(
    "/areas/{code}/plans/{year}/{kind}",
    response=responses(201, PlanOut),
    summary="Set a plan: adds the next version (area administrator)",
)
def plan_set(request: HttpRequest, code: str, year: int, kind: str, payload: PlanIn) -> Any:
    user = actor(request)
    area = selectors.area_for(user, code)
    plan = services.plan_set(
        actor=user,
        area=area,
        year=year,
        kind=_kind(kind),
        valid_from=payload.valid_from,
        note=payload.note,
        channels={line.channel: line.target for line in payload.channels} or None,
        budget_per_card=payload.budget_per_card,
        budget_total=payload.budget_total,
        expected_fee_income=payload.expected_fee_income,
        vendor_costs={line.vendor: line.unit_cost for line in payload.vendor_costs},
        target_population=payload.target_population,
        collection_targets={line.month: line.target for line in payload.collection_targets},
        distribution_targets={
            (line.outlet, line.month): line.target for line in payload.distribution_targets
        },
    )
    return Status(201, plan)


@router.get(
    "/areas/{code}/plans/{year}/{kind}/figures",
    response=responses(200, FiguresOut),
    summary="The plan in force against the card records: targets, actuals, per cent",
)
def plan_figures(
    request: HttpRequest, code: str, year: int, kind: str, query: Query[FiguresQuery]
) -> Any:
    user = actor(request)
    area = selectors.area_for(user, code)
    figures = selectors.plan_figures(user, area, year, _kind(kind), query.on)
    return {
        "area": area.code,
        "year": figures.year,
        "kind": figures.kind,
        "on": figures.on,
        "version": figures.plan.version if figures.plan else None,
        "rows": [_figure(row) for row in figures.rows],
        "totals": [_figure(row) for row in figures.totals],
        "notes": figures.notes,
    }
