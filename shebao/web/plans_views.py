"""Staff, equipment and implementation plan pages (conditions b and c).

The area's staff and the ministry read: the overview (the four plans' progress
rings, each outlet's counters and card readers, the trained card officers, the
live checks of conditions b and c), one dashboard per plan (its charts, each
with the table of its numbers, the notes, the versions), the equipment page
and the trainings. The area administrator sets a plan (a new version) and
registers counters, devices and trainings.

The ministry names the area with `?area=`; area staff always see their own.
Thin like the other pages: reads through `plans.selectors`, writes through
`plans.services`, whose refusal is shown at the field it concerns.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy, pgettext_lazy

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.approval.checks import CHECKS, run_check
from shebao.cards.models import ProductionBatch
from shebao.core.errors import DomainError
from shebao.plans import charts, checks, selectors, services
from shebao.plans.figures import PlanFigures, headline
from shebao.plans.models import (
    MONTHS,
    Counter,
    CounterKind,
    DeviceKind,
    DeviceStatus,
    Plan,
    PlanChannel,
    PlanKind,
    TrainingCourse,
)
from shebao.registry.models import Area, Outlet
from shebao.web.forms import DateInput, attach_error
from shebao.web.views import _found, _user

# --- who may see which pages ---------------------------------------------------------


def _reader(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "plans.read"):
        raise Http404
    return user


def _area(request: HttpRequest, user: User) -> Area | None:
    """The area the page is about; None when the ministry has not chosen one."""
    code = request.GET.get("area") if user.role == Role.MINISTRY_ADMIN else user.area_id
    if not code:
        return None
    return _found(selectors.area_for, user, code)


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or 0)
    except ValueError:
        year = 0
    return year if services.FIRST_YEAR <= year <= services.LAST_YEAR else timezone.localdate().year


def _query(area: Area, user: User, **more: Any) -> str:
    """The query string that keeps the ministry's chosen area on the next page."""
    values = {"area": area.code} if user.role == Role.MINISTRY_ADMIN else {}
    values.update({key: value for key, value in more.items() if value is not None})
    return f"?{urlencode(values)}" if values else ""


def _year_links(request: HttpRequest, area: Area, user: User, year: int) -> list[dict[str, Any]]:
    return [
        {"year": other, "rel": rel, "url": request.path + _query(area, user, year=other)}
        for other, rel in ((year - 1, "prev"), (year + 1, "next"))
    ]


def _choose_area(request: HttpRequest, user: User) -> HttpResponse:
    return render(
        request,
        "web/plans/choose_area.html",
        {"areas": selectors.areas_for(user).order_by("code"), "path": request.path},
    )


def _kind(kind: str) -> str:
    if kind not in PlanKind.values:
        raise Http404
    return kind


# --- reading -------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The area's plans at a glance, with its outlets' equipment and the checks."""
    user = _reader(request)
    area = _area(request, user)
    if area is None:
        return _choose_area(request, user)
    year = _year(request)
    today = timezone.localdate()
    plans = []
    for kind in PlanKind:
        figures = selectors.plan_figures(user, area, year, kind.value, today)
        total = headline(figures)
        plans.append(
            {
                "kind": kind,
                "figures": figures,
                "ring": charts.progress_ring(
                    chart_id=f"ring-{kind.value}",
                    title=str(kind.label),
                    actual=total.actual if total else None,
                    target=total.target if total else None,
                ),
                "url": reverse("web:plan", args=[kind.value]) + _query(area, user, year=year),
            }
        )
    return render(
        request,
        "web/plans/overview.html",
        {
            "area": area,
            "year": year,
            "year_links": _year_links(request, area, user, year),
            "plans": plans,
            "readiness": selectors.readiness(user, area),
            "trained": selectors.trained_officers(user, area).count(),
            "checks": [
                {"code": code, "title": CHECKS[code].title, "result": run_check(CHECKS[code], area)}
                for code in checks.CODES
            ],
            "area_query": _query(area, user),
            "can_manage": can(user, "plans.manage") and user.area_id == area.code,
        },
    )


@login_required
def plan_dashboard(request: HttpRequest, kind: str) -> HttpResponse:
    """One plan against reality: charts, tables, notes and the versions kept."""
    user = _reader(request)
    kind = _kind(kind)
    area = _area(request, user)
    if area is None:
        return _choose_area(request, user)
    year = _year(request)
    figures: PlanFigures = selectors.plan_figures(user, area, year, kind)
    matrix = _distribution_matrix(figures) if kind == PlanKind.DISTRIBUTION else None
    return render(
        request,
        "web/plans/plan.html",
        {
            "area": area,
            "year": year,
            "kind": PlanKind(kind),
            "figures": figures,
            "charts": charts.plan_charts(figures),
            "totals": figures.totals,
            "matrix": matrix,
            "vendors": [r for r in figures.rows if r.measure == "cost" and r.month is None],
            "versions": selectors.plan_versions(user, area, year, kind),
            "area_query": _query(area, user, year=year),
            "year_links": _year_links(request, area, user, year),
            "can_manage": can(user, "plans.manage") and user.area_id == area.code,
        },
    )


def _distribution_matrix(figures: PlanFigures) -> list[dict[str, Any]]:
    """Outlet by month: the target, the actual and the share, for the table."""
    by_outlet: dict[str, dict[str, Any]] = {}
    for row in figures.rows:
        if row.measure != "handed_over" or not row.key:
            continue
        entry = by_outlet.setdefault(row.key, {"label": row.label, "code": row.key, "months": []})
        entry["months"].append(row)
    totals = {row.key: row for row in figures.totals if row.key}
    return [{**entry, "total": totals.get(code)} for code, entry in sorted(by_outlet.items())]


# --- setting a plan --------------------------------------------------------------------


class PlanForm(forms.Form):
    """A new version of one plan; the fields are those of its kind, pre-filled
    from the version in force."""

    valid_from = forms.DateField(
        label=gettext_lazy("In force from"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("Leave empty for today."),
    )
    note = forms.CharField(
        label=gettext_lazy("What changed and why"),
        required=False,
        max_length=services.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        outlets: list[Outlet],
        vendors: list[str],
        current: Plan | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.outlets = outlets
        self.vendor_rows = len(vendors) + 2
        initial = self.initial
        if kind == PlanKind.APPLICATION:
            lines = {line.channel: line for line in current.channels.all()} if current else {}
            for channel in PlanChannel:
                line = lines.get(channel.value)
                self.fields[f"offered_{channel.value}"] = forms.BooleanField(
                    label=channel.label, required=False
                )
                self.fields[f"target_{channel.value}"] = forms.IntegerField(
                    label=gettext_lazy("Expected applications"), min_value=0, required=False
                )
                initial.setdefault(f"offered_{channel.value}", bool(line and line.offered))
                initial.setdefault(f"target_{channel.value}", line.target if line else 0)
        elif kind == PlanKind.COST:
            for name, label in (
                ("budget_per_card", gettext_lazy("Budget per card (CNY)")),
                ("budget_total", gettext_lazy("Total budget (CNY)")),
                ("expected_fee_income", gettext_lazy("Expected fee income (CNY)")),
            ):
                self.fields[name] = forms.DecimalField(
                    label=label, min_value=Decimal(0), decimal_places=2, max_digits=14
                )
                if current:
                    initial.setdefault(name, getattr(current, name))
            costs = (
                {line.vendor: line.unit_cost for line in current.vendor_costs.all()}
                if current
                else {}
            )
            for index in range(self.vendor_rows):
                vendor = vendors[index] if index < len(vendors) else ""
                self.fields[f"vendor_{index}"] = forms.CharField(
                    label=gettext_lazy("Vendor"), required=False, max_length=100
                )
                self.fields[f"unit_cost_{index}"] = forms.DecimalField(
                    label=gettext_lazy("Unit cost (CNY)"),
                    required=False,
                    min_value=Decimal(0),
                    decimal_places=2,
                    max_digits=10,
                )
                initial.setdefault(f"vendor_{index}", vendor)
                initial.setdefault(f"unit_cost_{index}", costs.get(vendor))
        elif kind == PlanKind.COLLECTION:
            self.fields["target_population"] = forms.IntegerField(
                label=gettext_lazy("Target population"),
                min_value=0,
                help_text=gettext_lazy("Persons to have complete data and a photo."),
            )
            by_month = (
                {line.month: line.target for line in current.collection_targets.all()}
                if current
                else {}
            )
            if current:
                initial.setdefault("target_population", current.target_population)
            for month in MONTHS:
                self.fields[f"month_{month}"] = forms.IntegerField(
                    label=gettext_lazy("By the end of month %(month)s") % {"month": month},
                    min_value=0,
                    required=False,
                )
                initial.setdefault(f"month_{month}", by_month.get(month))
        else:
            targets = (
                {(t.outlet_id, t.month): t.target for t in current.distribution_targets.all()}
                if current
                else {}
            )
            for outlet in outlets:
                for month in MONTHS:
                    name = f"target_{outlet.pk}_{month}"
                    self.fields[name] = forms.IntegerField(
                        label=f"{outlet.name} {month}", min_value=0, required=False
                    )
                    initial.setdefault(name, targets.get((outlet.pk, month)))

    def plan_values(self) -> dict[str, Any]:
        """The cleaned fields as `services.plan_set` takes them."""
        data = self.cleaned_data
        if self.kind == PlanKind.APPLICATION:
            return {
                "channels": {
                    channel: data[f"target_{channel}"] or 0
                    for channel in PlanChannel.values
                    if data[f"offered_{channel}"]
                }
            }
        if self.kind == PlanKind.COST:
            return {
                "budget_per_card": data["budget_per_card"],
                "budget_total": data["budget_total"],
                "expected_fee_income": data["expected_fee_income"],
                "vendor_costs": {
                    data[f"vendor_{i}"].strip(): data[f"unit_cost_{i}"]
                    for i in range(self.vendor_rows)
                    if data[f"vendor_{i}"].strip() and data[f"unit_cost_{i}"] is not None
                },
            }
        if self.kind == PlanKind.COLLECTION:
            return {
                "target_population": data["target_population"],
                "collection_targets": {
                    month: data[f"month_{month}"]
                    for month in MONTHS
                    if data[f"month_{month}"] is not None
                },
            }
        return {
            "distribution_targets": {
                (outlet.pk, month): data[f"target_{outlet.pk}_{month}"]
                for outlet in self.outlets
                for month in MONTHS
                if data[f"target_{outlet.pk}_{month}"] is not None
            }
        }

    def rows(self) -> list[dict[str, Any]]:
        """The kind's fields grouped as the template lays them out."""
        if self.kind == PlanKind.APPLICATION:
            return [
                {
                    "label": channel.label,
                    "offered": self[f"offered_{channel.value}"],
                    "target": self[f"target_{channel.value}"],
                }
                for channel in PlanChannel
            ]
        if self.kind == PlanKind.COST:
            return [
                {"vendor": self[f"vendor_{i}"], "unit_cost": self[f"unit_cost_{i}"]}
                for i in range(self.vendor_rows)
            ]
        if self.kind == PlanKind.COLLECTION:
            return [{"month": month, "field": self[f"month_{month}"]} for month in MONTHS]
        return [
            {
                "outlet": outlet,
                "cells": [
                    {"month": month, "field": self[f"target_{outlet.pk}_{month}"]}
                    for month in MONTHS
                ],
            }
            for outlet in self.outlets
        ]


@login_required
def plan_set(request: HttpRequest, kind: str) -> HttpResponse:
    """Set a plan: a new version, pre-filled from the latest one."""
    user = _reader(request)
    kind = _kind(kind)
    if not can(user, "plans.manage") or not user.area_id:
        raise Http404
    area = _found(selectors.area_for, user, user.area_id)
    year = _year(request)
    current = selectors.plan_versions(user, area, year, kind).first()
    outlets = list(Outlet.objects.filter(area=area, active=True).order_by("code"))
    vendors = sorted(
        set(
            ProductionBatch.objects.filter(area=area)
            .exclude(vendor="")
            .values_list("vendor", flat=True)
            .distinct()
        )
        | ({line.vendor for line in current.vendor_costs.all()} if current else set())
    )
    form = PlanForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        outlets=outlets,
        vendors=vendors,
        current=current,
    )
    if form.is_valid():
        try:
            plan = services.plan_set(
                actor=user,
                area=area,
                year=year,
                kind=kind,
                valid_from=form.cleaned_data["valid_from"],
                note=form.cleaned_data["note"],
                **form.plan_values(),
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                gettext_lazy("Version %(version)s of the plan is saved.")
                % {"version": plan.version},
            )
            return redirect(reverse("web:plan", args=[kind]) + f"?year={year}")
    return render(
        request,
        "web/plans/set.html",
        {
            "form": form,
            "kind": PlanKind(kind),
            "year": year,
            "area": area,
            "current": current,
            "months": list(MONTHS),
            "cancel_url": reverse("web:plan", args=[kind]) + f"?year={year}",
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# --- equipment -------------------------------------------------------------------------


@login_required
def equipment(request: HttpRequest) -> HttpResponse:
    """Each outlet's counters and devices, and whether it is ready to issue cards."""
    user = _reader(request)
    area = _area(request, user)
    if area is None:
        return _choose_area(request, user)
    counters = selectors.counters_for(user).filter(area=area).order_by("outlet__code", "number")
    devices = selectors.devices_for(user).filter(area=area).order_by("outlet__code", "kind")
    return render(
        request,
        "web/plans/equipment.html",
        {
            "area": area,
            "readiness": selectors.readiness(user, area),
            "counters": counters,
            "devices": devices,
            "area_query": _query(area, user),
            "can_manage": can(user, "equipment.manage") and user.area_id == area.code,
        },
    )


def _manager(request: HttpRequest, capability: str) -> tuple[User, Area]:
    user = _reader(request)
    if not can(user, capability) or not user.area_id:
        raise Http404
    return user, _found(selectors.area_for, user, user.area_id)


class CounterForm(forms.Form):
    outlet = forms.ModelChoiceField(label=gettext_lazy("Outlet"), queryset=Outlet.objects.none())
    number = forms.CharField(label=gettext_lazy("Counter number"), max_length=16)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CounterKind.choices)

    def __init__(self, *args: Any, area: Area, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["outlet"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Outlet.objects.filter(area=area, active=True).order_by("code")


@login_required
def counter_new(request: HttpRequest) -> HttpResponse:
    user, area = _manager(request, "equipment.manage")
    form = CounterForm(request.POST or None, area=area)
    if form.is_valid():
        try:
            counter = services.counter_register(
                actor=user,
                outlet=form.cleaned_data["outlet"],
                number=form.cleaned_data["number"],
                kind=form.cleaned_data["kind"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                gettext_lazy("Counter %(number)s is registered.") % {"number": counter.number},
            )
            return redirect("web:equipment")
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": gettext_lazy("Register a counter"),
            "submit_label": gettext_lazy("Register"),
            "cancel_url": reverse("web:equipment"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


class CounterChangeForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CounterKind.choices)
    active = forms.BooleanField(label=pgettext_lazy("counter", "Open"), required=False)


@login_required
def counter_edit(request: HttpRequest, counter_id: int) -> HttpResponse:
    user = _manager(request, "equipment.manage")[0]
    counter = _found(selectors.counter_get, user, counter_id)
    form = CounterChangeForm(
        request.POST or None, initial={"kind": counter.kind, "active": counter.active}
    )
    if form.is_valid():
        try:
            services.counter_change(
                actor=user,
                counter=counter,
                kind=form.cleaned_data["kind"],
                active=form.cleaned_data["active"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, gettext_lazy("The counter is changed."))
            return redirect("web:equipment")
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": gettext_lazy("Counter %(number)s at %(outlet)s")
            % {"number": counter.number, "outlet": counter.outlet.name},
            "submit_label": gettext_lazy("Save"),
            "cancel_url": reverse("web:equipment"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


class CounterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.outlet.name} · {obj.number}"


class DeviceForm(forms.Form):
    outlet = forms.ModelChoiceField(label=gettext_lazy("Outlet"), queryset=Outlet.objects.none())
    counter = CounterChoiceField(
        label=gettext_lazy("Counter"),
        queryset=Counter.objects.none(),
        required=False,
        help_text=gettext_lazy("Leave empty for a device of the whole outlet."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DeviceKind.choices)
    serial_number = forms.CharField(label=gettext_lazy("Serial number"), max_length=64)

    def __init__(self, *args: Any, user: User, area: Area, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outlet = self.fields["outlet"]
        counter = self.fields["counter"]
        assert isinstance(outlet, forms.ModelChoiceField)
        assert isinstance(counter, forms.ModelChoiceField)
        outlet.queryset = Outlet.objects.filter(area=area, active=True).order_by("code")
        counter.queryset = (
            selectors.counters_for(user).filter(area=area, active=True).order_by("outlet__code")
        )


@login_required
def device_new(request: HttpRequest) -> HttpResponse:
    user, area = _manager(request, "equipment.manage")
    form = DeviceForm(request.POST or None, user=user, area=area)
    if form.is_valid():
        try:
            device = services.device_register(
                actor=user,
                outlet=form.cleaned_data["outlet"],
                counter=form.cleaned_data["counter"],
                kind=form.cleaned_data["kind"],
                serial_number=form.cleaned_data["serial_number"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, gettext_lazy("The device is registered, in service."))
            return redirect("web:device", device_id=device.pk)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": gettext_lazy("Register a device"),
            "submit_label": gettext_lazy("Register"),
            "cancel_url": reverse("web:equipment"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


class DeviceStatusForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("New status"), choices=DeviceStatus.choices)
    reason = forms.CharField(
        label=gettext_lazy("Why"), max_length=services.MAX_REASON, required=False
    )


@login_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    """A device with its status history; the administrator changes its status (POST)."""
    user = _reader(request)
    device = _found(selectors.device_get, user, device_id)
    may_change = can(user, "equipment.manage") and user.area_id == device.area_id
    form = DeviceStatusForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_change:
            raise Http404
        if form.is_valid():
            try:
                services.device_set_status(
                    actor=user,
                    device=device,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                attach_error(form, error)
            else:
                messages.success(
                    request,
                    gettext_lazy("The device is now “%(status)s”.")
                    % {"status": device.get_status_display()},
                )
                return redirect("web:device", device_id=device.pk)
    return render(
        request,
        "web/plans/device.html",
        {
            "device": device,
            "history": selectors.device_history(device),
            "form": form if may_change and device.status != DeviceStatus.RETIRED else None,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# --- staff training --------------------------------------------------------------------


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.get_role_display()}"


class TrainingForm(forms.Form):
    user = StaffChoiceField(label=gettext_lazy("Member of staff"), queryset=User.objects.none())
    course = forms.ChoiceField(label=gettext_lazy("Course"), choices=TrainingCourse.choices)
    completed_on = forms.DateField(label=gettext_lazy("Completed on"), widget=DateInput)
    valid_until = forms.DateField(label=gettext_lazy("Valid until"), widget=DateInput)
    certificate = forms.CharField(
        label=gettext_lazy("Certificate reference"), max_length=64, required=False
    )

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = staff


@login_required
def staff(request: HttpRequest) -> HttpResponse:
    """The area's trainings, the officers qualified today, and (administrator) a new record."""
    user = _reader(request)
    area = _area(request, user)
    if area is None:
        return _choose_area(request, user)
    today = timezone.localdate()
    may_record = can(user, "training.record") and user.area_id == area.code
    form = TrainingForm(
        request.POST if request.method == "POST" else None, staff=selectors.staff_of(user, area)
    )
    if request.method == "POST":
        if not may_record:
            raise Http404
        if form.is_valid():
            try:
                services.training_record(actor=user, **form.cleaned_data)
            except DomainError as error:
                attach_error(form, error)
            else:
                messages.success(request, gettext_lazy("The training is recorded."))
                return redirect("web:plan_staff")
    trainings = (
        selectors.trainings_for(user)
        .filter(area=area)
        .order_by("user__username", "course", "-valid_until")
    )
    return render(
        request,
        "web/plans/staff.html",
        {
            "area": area,
            "today": today,
            "trainings": trainings,
            "trained": selectors.trained_officers(user, area, today),
            "outlets": Outlet.objects.filter(area=area, active=True).count(),
            "form": form if may_record else None,
            "area_query": _query(area, user),
        },
        status=400 if form.is_bound and form.errors else 200,
    )
