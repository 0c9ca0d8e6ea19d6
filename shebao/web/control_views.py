"""Internal control pages (condition d of an area's approval): the auditors' queue of
alerts, the daily reconciliations, the samples of staff actions and the audit
chain checks with the separation-of-duties rules.

The area's auditors and administrator read their area's; the ministry reads
every area's and may narrow to one with `?area=`. Only an auditor is offered
the buttons (acknowledge, dismiss, draw, mark), but the service decides again
when the form is sent, and its refusal is shown at the form.

Thin like the other pages: reads through `audit.selectors` (scoped to the
user; the names of persons shown in the queue are an access, logged), writes
through `audit.alerts` and `audit.sampling`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.audit import alerts, sampling, selectors
from shebao.audit.controls import SEPARATION_RULES
from shebao.audit.models import (
    Alert,
    AlertKind,
    AlertStatus,
    ReconciliationKind,
    Sample,
    SampleVerdict,
)
from shebao.audit.services import access_record
from shebao.core.errors import DomainError
from shebao.registry import selectors as registry
from shebao.registry.selectors import area_setting
from shebao.web.forms import DateInput, attach_error
from shebao.web.views import _found, _user

PAGE_SIZE = 50
RECONCILIATION_DAYS = 31

# One line saying what each kind of alert found, from its detail.
ALERT_SUMMARIES: dict[str, Any] = {
    AlertKind.REPEATED_REPLACEMENTS: gettext_lazy(
        "%(name)s: %(count)s replacement applications in twelve months (alert from %(threshold)s)."
    ),
    AlertKind.BULK_READS: gettext_lazy(
        "%(username)s was shown up to %(most)s persons' records in one hour "
        "(alert from %(threshold)s)."
    ),
    AlertKind.BACKDATED_CORRECTIONS: gettext_lazy(
        "%(name)s corrected %(corrections)s wage declarations of months before %(before)s, "
        "the earliest %(earliest_month)s."
    ),
    AlertKind.OUT_OF_HOURS: gettext_lazy(
        "%(username)s: %(events)s actions outside working hours (%(hours)s), "
        "from %(first)s to %(last)s."
    ),
}


# --- who may see which pages ---------------------------------------------------------


def _reader(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "control.read"):
        raise Http404
    return user


def _area_filter(request: HttpRequest, user: User) -> str | None:
    """The ministry narrows to one area with ?area=; area staff always see their own."""
    if user.role != Role.MINISTRY_ADMIN:
        return None
    code = (request.GET.get("area") or "").strip()
    return code if code and registry.areas_for(user).filter(code=code).exists() else None


def _base(request: HttpRequest, user: User, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "areas": registry.areas_for(user).order_by("code")
        if user.role == Role.MINISTRY_ADMIN
        else None,
        "chosen_area": _area_filter(request, user),
    }


# --- the auditors' queue ---------------------------------------------------------------


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("All")), *AlertStatus.choices],
        required=False,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("All")), *AlertKind.choices],
        required=False,
    )
    day = forms.DateField(label=gettext_lazy("Day"), required=False, widget=DateInput())


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=2000,
        required=False,  # the service asks for one where it is needed
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _note_form(alert: Alert, data: Any = None) -> NoteForm:
    return NoteForm(data, auto_id=f"id_alert_{alert.pk}_%s")


def _local(value: Any) -> str:
    try:
        return timezone.localtime(dt.datetime.fromisoformat(str(value))).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def alert_summary(alert: Alert) -> str:
    values: dict[str, Any] = defaultdict(lambda: "—", alert.detail, subject=alert.subject)
    for key in ("first", "last"):
        if key in alert.detail:
            values[key] = _local(alert.detail[key])[-5:]  # the time of day
    return str(ALERT_SUMMARIES.get(alert.kind, "%(subject)s")) % values


def _queue(
    request: HttpRequest,
    user: User,
    *,
    bound: tuple[int, NoteForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = AlertFilterForm(request.GET or {"status": AlertStatus.OPEN})
    rows = selectors.alerts_for(user).select_related("area")
    area_code = _area_filter(request, user)
    if area_code:
        rows = rows.filter(area_id=area_code)
    counts = rows.aggregate(
        open=Count("pk", filter=Q(status=AlertStatus.OPEN)),
        stale=Count(
            "pk",
            filter=Q(status=AlertStatus.OPEN, raised_at__lt=timezone.now() - dt.timedelta(days=7)),
        ),
    )
    if form.is_valid():
        chosen = {key: value for key, value in form.cleaned_data.items() if value}
        rows = rows.filter(**chosen)
    page = Paginator(rows.order_by("-day", "-raised_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    may_handle = can(user, "alert.handle")
    items = []
    shown: dict[str, list[int]] = defaultdict(list)
    for alert in page:
        item: dict[str, Any] = {"alert": alert, "summary": alert_summary(alert)}
        if may_handle and alert.status == AlertStatus.OPEN:
            item["form"] = bound[1] if bound and bound[0] == alert.pk else _note_form(alert)
            item["own"] = alert.subject == f"user:{user.pk}"
        if alert.kind == AlertKind.REPEATED_REPLACEMENTS and "person" in alert.detail:
            shown[alert.area_id].append(alert.detail["person"])
        items.append(item)
    for area, person_ids in shown.items():
        access_record(actor=user, action="alert.list", area_code=area, person_ids=person_ids)
    return render(
        request,
        "web/control/alerts.html",
        {
            **_base(request, user, "alerts"),
            "form": form,
            "page": page,
            "items": items,
            "counts": counts,
            "may_handle": may_handle,
        },
        status=status,
    )


@login_required
def alert_queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, _reader(request))


@login_required
@require_POST
def alert_action(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    user = _reader(request)
    if action not in (alerts.AlertAction.ACKNOWLEDGE, alerts.AlertAction.DISMISS):
        raise Http404
    alert = _found(selectors.alert_get, user, alert_id)
    form = _note_form(alert, request.POST)
    if form.is_valid():
        try:
            alerts.alert_handle(
                actor=user, alert=alert, action=action, note=form.cleaned_data["note"]
            )
        except DomainError as error:
            attach_error(form, error, fallback="note")
        else:
            messages.success(
                request,
                gettext_lazy("The alert is acknowledged.")
                if action == alerts.AlertAction.ACKNOWLEDGE
                else gettext_lazy("The alert is dismissed."),
            )
            return redirect(reverse("web:control") + f"#alert-{alert.pk}")
    return _queue(request, user, bound=(alert.pk, form), status=400)


# --- reconciliations -------------------------------------------------------------------


@login_required
def reconciliations(request: HttpRequest) -> HttpResponse:
    """The last month's days, one column per kind, days with differences highlighted;
    `?day=` opens a day's differences."""
    user = _reader(request)
    rows = selectors.reconciliations_for(user).select_related("area")
    area_code = _area_filter(request, user)
    if area_code:
        rows = rows.filter(area_id=area_code)
    since = timezone.localdate() - dt.timedelta(days=RECONCILIATION_DAYS)
    grid: dict[tuple[dt.date, str], dict[str, Any]] = {}
    for row in rows.filter(day__gte=since).order_by("-day", "area_id", "kind"):
        line = grid.setdefault(
            (row.day, row.area_id), {"day": row.day, "area": row.area, "cells": {}, "ok": True}
        )
        line["cells"][row.kind] = row
        line["ok"] = line["ok"] and row.ok
    for line in grid.values():
        line["cells"] = [line["cells"].get(kind) for kind in ReconciliationKind.values]
    chosen: dt.date | None = None
    try:
        chosen = dt.date.fromisoformat(request.GET.get("day") or "")
    except ValueError:
        chosen = None
    details = list(rows.filter(day=chosen).order_by("area_id", "kind")) if chosen else []
    return render(
        request,
        "web/control/reconciliations.html",
        {
            **_base(request, user, "reconciliations"),
            "kinds": ReconciliationKind.choices,
            "lines": list(grid.values()),
            "chosen": chosen,
            "details": details,
        },
    )


# --- samples ---------------------------------------------------------------------------


class SampleForm(forms.Form):
    period_start = forms.DateField(label=gettext_lazy("First day"), widget=DateInput())
    period_end = forms.DateField(label=gettext_lazy("Last day"), widget=DateInput())
    size = forms.IntegerField(
        label=gettext_lazy("Actions to draw"), min_value=1, max_value=sampling.MAX_SAMPLE
    )
    seed = forms.IntegerField(
        label=gettext_lazy("Seed"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("Leave empty for a new random draw; give a seed to redo one."),
    )


class MarkForm(forms.Form):
    verdict = forms.ChoiceField(
        label=gettext_lazy("Verdict"),
        choices=[
            (SampleVerdict.OK, SampleVerdict.OK.label),
            (SampleVerdict.FINDING, SampleVerdict.FINDING.label),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _samples_page(
    request: HttpRequest, user: User, form: SampleForm | None = None, status: int = 200
) -> HttpResponse:
    rows = selectors.samples_for(user).select_related("area")
    area_code = _area_filter(request, user)
    if area_code:
        rows = rows.filter(area_id=area_code)
    rows = rows.annotate(
        checked=Count("items", filter=~Q(items__verdict=SampleVerdict.PENDING)),
        findings=Count("items", filter=Q(items__verdict=SampleVerdict.FINDING)),
        drawn=Count("items"),
    )
    page = Paginator(rows.order_by("-drawn_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    may_draw = can(user, "sample.draw")
    if may_draw and form is None:
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        form = SampleForm(
            initial={
                "period_start": yesterday - dt.timedelta(days=6),
                "period_end": yesterday,
                "size": 25,
            }
        )
    return render(
        request,
        "web/control/samples.html",
        {**_base(request, user, "samples"), "page": page, "form": form, "may_draw": may_draw},
        status=status,
    )


@login_required
def sample_list(request: HttpRequest) -> HttpResponse:
    return _samples_page(request, _reader(request))


@login_required
@require_POST
def sample_draw(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = SampleForm(request.POST)
    if form.is_valid() and user.area is not None:
        try:
            sample = sampling.sample_draw(actor=user, area=user.area, **form.cleaned_data)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                gettext_lazy("%(count)d actions drawn of %(population)d.")
                % {"count": sample.items.count(), "population": sample.population},
            )
            return redirect("web:control_sample", sample_id=sample.pk)
    elif user.area is None:
        form.add_error(None, gettext_lazy("Only an auditor of an area draws its samples."))
    return _samples_page(request, user, form, status=400)


def _sample_page(
    request: HttpRequest,
    user: User,
    sample: Sample,
    *,
    bound: tuple[int, MarkForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    may_mark = can(user, "sample.draw")
    items = []
    for item in selectors.sample_items(sample):
        row: dict[str, Any] = {"item": item, "own": item.event.actor_id == user.pk}
        if may_mark and item.verdict == SampleVerdict.PENDING and not row["own"]:
            row["form"] = (
                bound[1]
                if bound and bound[0] == item.pk
                else MarkForm(auto_id=f"id_item_{item.pk}_%s")
            )
        items.append(row)
    reproduced = None
    if request.GET.get("redraw"):
        same, events = sampling.sample_redraw(sample)
        drawn = sorted(row["item"].event_id for row in items)
        reproduced = {"same_population": same, "same_events": events == drawn}
    return render(
        request,
        "web/control/sample.html",
        {
            **_base(request, user, "samples"),
            "sample": sample,
            "items": items,
            "reproduced": reproduced,
            "counts": {
                verdict: sum(1 for row in items if row["item"].verdict == verdict)
                for verdict in SampleVerdict.values
            },
        },
        status=status,
    )


@login_required
def sample_detail(request: HttpRequest, sample_id: int) -> HttpResponse:
    user = _reader(request)
    return _sample_page(request, user, _found(selectors.sample_get, user, sample_id))


@login_required
@require_POST
def sample_mark(request: HttpRequest, sample_id: int, item_id: int) -> HttpResponse:
    user = _reader(request)
    sample = _found(selectors.sample_get, user, sample_id)
    item = _found(selectors.sample_item_get, sample, item_id)
    form = MarkForm(request.POST, auto_id=f"id_item_{item.pk}_%s")
    if form.is_valid():
        try:
            sampling.sample_mark(
                actor=user,
                item=item,
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            attach_error(form, error, fallback="note")
        else:
            return redirect(reverse("web:control_sample", args=[sample.pk]) + f"#item-{item.pk}")
    return _sample_page(request, user, sample, bound=(item.pk, form), status=400)


# --- chain checks and the rules ----------------------------------------------------------


@login_required
def chain_checks(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    rows = selectors.chain_checks_for(user)
    area_code = _area_filter(request, user)
    if area_code:
        rows = rows.filter(chain=area_code)
    page = Paginator(rows.order_by("-at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    rules_area = area_code or user.area_id
    rules = [
        {
            "rule": rule,
            "on": bool(area_setting(rules_area, rule.setting))
            if rule.setting and rules_area
            else None,
        }
        for rule in SEPARATION_RULES
    ]
    return render(
        request,
        "web/control/chain_checks.html",
        {**_base(request, user, "chain"), "page": page, "rules": rules},
    )
