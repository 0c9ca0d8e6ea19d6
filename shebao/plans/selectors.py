"""Reads of staff, equipment and plans, scoped to the acting user.

Who reads (`plans.read`): every member of an area's staff, their own area's;
the ministry, every area's. Anyone else sees nothing, and a record out of
reach is "not found".
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can, require
from shebao.core.errors import NotFound
from shebao.plans import figures
from shebao.plans.models import Counter, Device, DeviceStatusChange, Plan, PlanKind, Training
from shebao.registry.models import Area

M = TypeVar("M", bound=Model)


def _scoped(user: User, rows: QuerySet[M], field: str = "area_id") -> QuerySet[M]:
    if not (user.is_authenticated and user.is_active and can(user, "plans.read")):
        return rows.none()
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(**{field: user.area_id})
    return rows.none()


def _not_found(what: object) -> NotFound:
    return NotFound(_("No %(what)s with that key is visible to you."), params={"what": what})


def areas_for(user: User) -> QuerySet[Area]:
    return _scoped(user, Area.objects.all(), "code")


def area_for(user: User, code: str | None = None) -> Area:
    """The area whose plans the user reads: the named one, or the user's own."""
    code = code or user.area_id
    area = areas_for(user).filter(code=code or "").first()
    if area is None:
        raise _not_found(_("issuing area"))
    return area


def counters_for(user: User) -> QuerySet[Counter]:
    return _scoped(user, Counter.objects.select_related("outlet"))


def counter_get(user: User, pk: int) -> Counter:
    counter = counters_for(user).filter(pk=pk).first()
    if counter is None:
        raise _not_found(_("counter"))
    return counter


def devices_for(user: User) -> QuerySet[Device]:
    return _scoped(user, Device.objects.select_related("outlet", "counter"))


def device_get(user: User, pk: int) -> Device:
    device = devices_for(user).filter(pk=pk).first()
    if device is None:
        raise _not_found(_("device"))
    return device


def device_history(device: Device) -> QuerySet[DeviceStatusChange]:
    return device.history.select_related("actor").order_by("at", "pk")


def trainings_for(user: User) -> QuerySet[Training]:
    return _scoped(user, Training.objects.select_related("user", "recorded_by"))


def staff_of(user: User, area: Area) -> QuerySet[User]:
    """The area's staff, whom trainings are recorded for."""
    require(user, "plans.read", area_code=area.code)
    return User.objects.filter(area=area, role__in=sorted(AREA_STAFF)).order_by("username")


def plan_versions(user: User, area: Area, year: int, kind: str) -> QuerySet[Plan]:
    """Every version of one plan, the newest first."""
    return (
        _scoped(user, Plan.objects.select_related("created_by"))
        .filter(area=area, year=year, kind=PlanKind(kind))
        .order_by("-version")
    )


def plan_figures(
    user: User, area: Area, year: int, kind: str, on: dt.date | None = None
) -> figures.PlanFigures:
    """The plan in force on `on` (default today) against the card records."""
    require(user, "plans.read", area_code=area.code)
    return figures.plan_figures(area.code, year, PlanKind(kind), on or timezone.localdate())


def readiness(user: User, area: Area) -> list[figures.OutletReadiness]:
    require(user, "plans.read", area_code=area.code)
    return figures.outlet_readiness(area.code)


def trained_officers(user: User, area: Area, on: dt.date | None = None) -> QuerySet[User]:
    require(user, "plans.read", area_code=area.code)
    return figures.trained_officers(area.code, on or timezone.localdate())
