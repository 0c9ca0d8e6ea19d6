"""Services of staff, equipment and implementation plans.

Every write checks the actor's capability for the record's area, changes the
rows and writes the audit event in the same transaction:
- counters and devices: `equipment.manage` (the area administrator); a
  device's status moves only along `DEVICE_TRANSITIONS`, with a reason, and
  each move is a `DeviceStatusChange` row;
- trainings: `training.record`; the trained person is staff of the same area;
- plans: `plans.manage`. Setting a plan adds the next version (with the area
  row locked, so two administrators saving at once get versions n and n+1,
  never the same number); nothing earlier is changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, require
from shebao.audit.services import audit_record, snapshot
from shebao.core.errors import Conflict, InvalidInput
from shebao.plans.models import (
    DEVICE_TRANSITIONS,
    MONTHS,
    ChannelTarget,
    CollectionTarget,
    Counter,
    CounterKind,
    Device,
    DeviceKind,
    DeviceStatus,
    DeviceStatusChange,
    DistributionTarget,
    Plan,
    PlanChannel,
    PlanKind,
    Training,
    TrainingCourse,
    VendorUnitCost,
)
from shebao.registry.models import Area, Outlet

CENT = Decimal("0.01")
MAX_REASON = 200
MAX_NOTE = 500
FIRST_YEAR, LAST_YEAR = 2000, 2100


# --- shared steps ------------------------------------------------------------------


def _text(value: Any, *, field: str, maximum: int, required: Any = None) -> str:
    text = str(value or "").strip()
    if required is not None and not text:
        raise InvalidInput(required, code=f"{field}_required", field=field)
    if len(text) > maximum:
        raise InvalidInput(
            _("Write at most %(max)s characters."),
            code=f"{field}_too_long",
            field=field,
            params={"max": maximum},
        )
    return text


def _choice(value: str, choices: Any, *, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            _("Choose one of: %(choices)s."),
            code=field,
            field=field,
            params={"choices": ", ".join(choices.values)},
        )
    return value


def _money(value: Any, *, field: str) -> Decimal:
    """A non-negative amount of CNY, rounded half-up to the cent."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            _("Give an amount in yuan, e.g. 18.50."), code="amount", field=field
        ) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(_("Give an amount in yuan, e.g. 18.50."), code="amount", field=field)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _count(value: Any, *, field: str) -> int:
    """A whole number, 0 or more (of cards, persons, applications)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        number = int(text) if text.isdigit() else -1
    if number < 0:
        raise InvalidInput(_("Give a whole number, 0 or more."), code="count", field=field)
    return number


def _outlet_of(actor: User, outlet: Outlet, capability: str) -> Outlet:
    require(actor, capability, area_code=outlet.area_id)
    if not outlet.active:
        raise Conflict(
            _("The outlet %(outlet)s is closed."),
            code="outlet_closed",
            field="outlet",
            params={"outlet": outlet.name},
        )
    return outlet


# --- counters ------------------------------------------------------------------------


def _counter_number(value: str) -> str:
    return _text(
        value, field="number", maximum=16, required=_("Give the counter's number, e.g. 03.")
    )


@transaction.atomic
def counter_register(
    *, actor: User, outlet: Outlet, number: str, kind: str = CounterKind.ORDINARY
) -> Counter:
    """A new counter at an outlet: ordinary, or equipped for instant issuance."""
    _outlet_of(actor, outlet, "equipment.manage")
    number = _counter_number(number)
    kind = _choice(kind, CounterKind, field="kind")
    if Counter.objects.filter(outlet=outlet, number=number).exists():
        raise Conflict(
            _("The outlet already has a counter %(number)s."),
            code="counter_exists",
            field="number",
            params={"number": number},
        )
    counter = Counter.objects.create(
        area_id=outlet.area_id, outlet=outlet, number=number, kind=kind
    )
    audit_record(
        actor=actor,
        action="counter.register",
        subject=counter,
        area_code=counter.area_id,
        after=snapshot(counter),
    )
    return counter


@transaction.atomic
def counter_change(
    *, actor: User, counter: Counter, kind: str | None = None, active: bool | None = None
) -> Counter:
    """Change a counter's kind, or close (and reopen) it."""
    require(actor, "equipment.manage", area_code=counter.area_id)
    locked = Counter.objects.select_for_update().get(pk=counter.pk)
    before = snapshot(locked)
    if kind is not None:
        locked.kind = _choice(kind, CounterKind, field="kind")
    if active is not None:
        locked.active = bool(active)
    locked.save()
    audit_record(
        actor=actor,
        action="counter.change",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after=snapshot(locked),
    )
    counter.__dict__.update(locked.__dict__)
    return counter


# --- devices ------------------------------------------------------------------------


def _counter_at(counter: Counter | None, outlet: Outlet) -> Counter | None:
    if counter is not None and counter.outlet_id != outlet.pk:
        raise InvalidInput(
            _("The counter is at another outlet."), code="counter_outlet", field="counter"
        )
    return counter


def _status_change(
    *, actor: User, device: Device, from_status: str, to_status: str, reason: str
) -> DeviceStatusChange:
    return DeviceStatusChange.objects.create(
        area_id=device.area_id,
        device=device,
        at=timezone.now(),
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
    )


@transaction.atomic
def device_register(
    *,
    actor: User,
    outlet: Outlet,
    kind: str,
    serial_number: str,
    counter: Counter | None = None,
    reason: str = "",
) -> Device:
    """A new device at an outlet (and at one of its counters), in service."""
    _outlet_of(actor, outlet, "equipment.manage")
    kind = _choice(kind, DeviceKind, field="kind")
    serial = _text(
        serial_number,
        field="serial_number",
        maximum=64,
        required=_("Give the serial number printed on the device."),
    )
    counter = _counter_at(counter, outlet)
    if Device.objects.filter(area_id=outlet.area_id, kind=kind, serial_number=serial).exists():
        raise Conflict(
            _("A %(kind)s with serial number %(serial)s is already registered in the area."),
            code="device_exists",
            field="serial_number",
            params={"kind": DeviceKind(kind).label, "serial": serial},
        )
    device = Device.objects.create(
        area_id=outlet.area_id, outlet=outlet, counter=counter, kind=kind, serial_number=serial
    )
    _status_change(
        actor=actor,
        device=device,
        from_status="",
        to_status=device.status,
        reason=_text(reason, field="reason", maximum=MAX_REASON) or str(_("Registered")),
    )
    audit_record(
        actor=actor,
        action="device.register",
        subject=device,
        area_code=device.area_id,
        after=snapshot(device),
    )
    return device


@transaction.atomic
def device_move(
    *, actor: User, device: Device, outlet: Outlet, counter: Counter | None = None
) -> Device:
    """Move a device to another outlet or counter of the area."""
    require(actor, "equipment.manage", area_code=device.area_id)
    if outlet.area_id != device.area_id:
        raise InvalidInput(_("The outlet is in another area."), code="outlet_area", field="outlet")
    _outlet_of(actor, outlet, "equipment.manage")
    counter = _counter_at(counter, outlet)
    locked = Device.objects.select_for_update().get(pk=device.pk)
    if locked.status == DeviceStatus.RETIRED:
        raise Conflict(_("A retired device stays where it was retired."), code="device_retired")
    before = snapshot(locked)
    locked.outlet, locked.counter = outlet, counter
    locked.save(update_fields=["outlet", "counter"])
    audit_record(
        actor=actor,
        action="device.move",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after=snapshot(locked),
    )
    device.__dict__.update(locked.__dict__)
    return device


@transaction.atomic
def device_set_status(*, actor: User, device: Device, status: str, reason: str) -> Device:
    """Report a device faulty, back in service, or retired — always with the reason."""
    require(actor, "equipment.manage", area_code=device.area_id)
    status = _choice(status, DeviceStatus, field="status")
    reason = _text(
        reason, field="reason", maximum=MAX_REASON, required=_("Say why the status changes.")
    )
    locked = Device.objects.select_for_update().get(pk=device.pk)
    if (locked.status, status) not in DEVICE_TRANSITIONS:
        raise Conflict(
            _("A device that is “%(from)s” cannot become “%(to)s”."),
            code="invalid_transition",
            field="status",
            params={"from": DeviceStatus(locked.status).label, "to": DeviceStatus(status).label},
        )
    before = snapshot(locked)
    change = _status_change(
        actor=actor, device=locked, from_status=locked.status, to_status=status, reason=reason
    )
    locked.status = status
    locked.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=f"device.{status}",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after={**snapshot(locked), "reason": reason, "change": change.pk},
    )
    device.__dict__.update(locked.__dict__)
    return device


# --- trainings ----------------------------------------------------------------------


@transaction.atomic
def training_record(
    *,
    actor: User,
    user: User,
    course: str,
    completed_on: dt.date,
    valid_until: dt.date,
    certificate: str = "",
) -> Training:
    """A course a member of the area's staff completed, valid until a day."""
    require(actor, "training.record", area_code=user.area_id)
    if user.role not in AREA_STAFF or user.area_id is None:
        raise InvalidInput(
            _("Trainings are recorded for the staff of an issuing area."),
            code="not_staff",
            field="user",
        )
    course = _choice(course, TrainingCourse, field="course")
    if completed_on > timezone.localdate():
        raise InvalidInput(
            _("A training is recorded once it is completed."),
            code="completed_in_future",
            field="completed_on",
        )
    if valid_until <= completed_on:
        raise InvalidInput(
            _("The certificate must be valid after the day the course was completed."),
            code="validity_order",
            field="valid_until",
        )
    training = Training.objects.create(
        area_id=user.area_id,
        user=user,
        course=course,
        completed_on=completed_on,
        valid_until=valid_until,
        certificate=_text(certificate, field="certificate", maximum=64),
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="training.record",
        subject=training,
        area_code=training.area_id,
        after=snapshot(training),
    )
    return training


# --- plans ---------------------------------------------------------------------------


def _year(year: int) -> int:
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise InvalidInput(
            _("Give a year between %(first)s and %(last)s."),
            code="year",
            field="year",
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return int(year)


def _month(value: Any, field: str) -> int:
    month = _count(value, field=field)
    if month not in MONTHS:
        raise InvalidInput(_("Months are 1 to 12."), code="month", field=field)
    return month


def _channels(channels: Mapping[str, Any] | None) -> list[ChannelTarget]:
    """Channel → expected applications; a channel not named is not offered."""
    if not channels:
        raise InvalidInput(
            _("Offer at least one application channel."), code="channels", field="channels"
        )
    offered = {
        _choice(str(channel), PlanChannel, field="channels"): _count(
            target, field=f"channels.{channel}"
        )
        for channel, target in channels.items()
    }
    return [
        ChannelTarget(channel=channel, offered=channel in offered, target=offered.get(channel, 0))
        for channel in PlanChannel.values
    ]


def _vendor_costs(vendor_costs: Mapping[str, Any] | None) -> list[VendorUnitCost]:
    rows: dict[str, VendorUnitCost] = {}
    for vendor, cost in (vendor_costs or {}).items():
        name = _text(vendor, field="vendor_costs", maximum=100)
        if not name:
            raise InvalidInput(
                _("Name the vendor of each unit cost."), code="vendor", field="vendor_costs"
            )
        if name in rows:
            raise InvalidInput(
                _("The vendor %(vendor)s is listed twice."),
                code="vendor_twice",
                field="vendor_costs",
                params={"vendor": name},
            )
        rows[name] = VendorUnitCost(vendor=name, unit_cost=_money(cost, field="vendor_costs"))
    if not rows:
        raise InvalidInput(
            _("Give the unit cost of a card for each vendor."),
            code="vendor_costs",
            field="vendor_costs",
        )
    return list(rows.values())


def _collection_targets(
    targets: Mapping[Any, Any] | None, population: int
) -> list[CollectionTarget]:
    """Month → persons collected by its end; cumulative, so never falling."""
    by_month = {
        _month(month, "collection_targets"): _count(target, field="collection_targets")
        for month, target in (targets or {}).items()
    }
    previous = 0
    for month in sorted(by_month):
        if by_month[month] < previous:
            raise InvalidInput(
                _(
                    "Collection targets count everyone collected so far, so they never fall "
                    "(month %(month)s)."
                ),
                code="targets_fall",
                field="collection_targets",
                params={"month": month},
            )
        if by_month[month] > population:
            raise InvalidInput(
                _("The target of month %(month)s is above the target population."),
                code="above_population",
                field="collection_targets",
                params={"month": month},
            )
        previous = by_month[month]
    return [CollectionTarget(month=month, target=by_month[month]) for month in sorted(by_month)]


def _distribution_targets(
    area: Area, targets: Mapping[tuple[int, int], Any] | None
) -> list[DistributionTarget]:
    """(outlet id, month) → cards to hand over there that month."""
    if not targets:
        raise InvalidInput(
            _("Give hand-over targets for the outlets."), code="targets", field="targets"
        )
    outlets = Outlet.objects.in_bulk({int(outlet) for outlet, _month in targets})
    rows = []
    for (outlet_id, month), target in sorted(targets.items()):
        outlet = outlets.get(int(outlet_id))
        if outlet is None or outlet.area_id != area.code:
            raise InvalidInput(
                _("Targets are set for the outlets of the area."),
                code="outlet_area",
                field="targets",
            )
        rows.append(
            DistributionTarget(
                outlet=outlet,
                month=_month(month, "targets"),
                target=_count(target, field="targets"),
            )
        )
    return rows


def _valid_from(area: Area, year: int, kind: str, valid_from: dt.date | None) -> dt.date:
    day = valid_from or timezone.localdate()
    latest = (
        Plan.objects.filter(area=area, year=year, kind=kind)
        .order_by("-version")
        .values_list("valid_from", flat=True)
        .first()
    )
    if latest is not None and day < latest:
        raise InvalidInput(
            _("A new version takes effect on or after the last one (%(day)s)."),
            code="valid_from_order",
            field="valid_from",
            params={"day": latest.isoformat()},
        )
    return day


@transaction.atomic
def plan_set(
    *,
    actor: User,
    area: Area,
    year: int,
    kind: str,
    valid_from: dt.date | None = None,
    note: str = "",
    channels: Mapping[str, Any] | None = None,
    budget_per_card: Any = None,
    budget_total: Any = None,
    expected_fee_income: Any = None,
    vendor_costs: Mapping[str, Any] | None = None,
    target_population: Any = None,
    collection_targets: Mapping[Any, Any] | None = None,
    distribution_targets: Mapping[tuple[int, int], Any] | None = None,
) -> Plan:
    """The next version of one of the area's four plans for a year.

    What a kind takes: application — `channels` (channel → expected
    applications); cost — `budget_per_card`, `budget_total`,
    `expected_fee_income` and `vendor_costs` (vendor → unit cost); collection —
    `target_population` and `collection_targets` (month → persons collected by
    its end); distribution — `distribution_targets` ((outlet id, month) →
    cards handed over).
    """
    require(actor, "plans.manage", area_code=area.code)
    year = _year(year)
    kind = _choice(kind, PlanKind, field="kind")
    # The area row serialises versions of the area's plans.
    Area.objects.select_for_update().filter(code=area.code).first()
    header: dict[str, Any] = {}
    lines: list[Any] = []
    if kind == PlanKind.APPLICATION:
        lines = _channels(channels)
    elif kind == PlanKind.COST:
        header = {
            "budget_per_card": _money(budget_per_card, field="budget_per_card"),
            "budget_total": _money(budget_total, field="budget_total"),
            "expected_fee_income": _money(expected_fee_income, field="expected_fee_income"),
        }
        lines = _vendor_costs(vendor_costs)
    elif kind == PlanKind.COLLECTION:
        header = {"target_population": _count(target_population, field="target_population")}
        lines = _collection_targets(collection_targets, header["target_population"])
    else:
        lines = _distribution_targets(area, distribution_targets)
    latest = (
        Plan.objects.filter(area=area, year=year, kind=kind)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            plan = Plan.objects.create(
                area=area,
                year=year,
                kind=kind,
                version=(latest or 0) + 1,
                valid_from=_valid_from(area, year, kind, valid_from),
                note=_text(note, field="note", maximum=MAX_NOTE),
                created_by=actor,
                **header,
            )
    except IntegrityError:
        raise Conflict(
            _("Someone saved this plan at the same time; reload it and try again."),
            code="plan_version_taken",
        ) from None
    for line in lines:
        line.plan = plan
    if lines:
        # One statement per plan: every line is of the kind's own table.
        model: Any = type(lines[0])
        model.objects.bulk_create(lines)
    audit_record(
        actor=actor,
        action="plan.set",
        subject=plan,
        area_code=area.code,
        after={**snapshot(plan), "lines": [_line_snapshot(line) for line in lines]},
    )
    return plan


def _line_snapshot(line: Any) -> dict[str, Any]:
    return snapshot(line, [f.attname for f in line._meta.concrete_fields if f.name != "id"])
