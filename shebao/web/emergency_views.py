"""The emergency plan's page (docs/emergency.md): read-only maintenance mode with its
switch, the backups with their verification, "back up now", verify and restore.

The area administrator and the ministry act (`emergency.manage`); auditors see
the page without its buttons (`emergency.read`); everyone else gets 404. Backing
up, verifying and restoring are background jobs: each form leads to the job's
page. A restore asks for the backup's file name typed again. The page and its
forms stay open in read-only mode (READ_ONLY_OPEN): they are what it is for.

Thin like the other pages: reads and writes through `emergency.services`, the
jobs through `jobs.services.job_submit`, whose refusals are shown at the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import can
from shebao.core.errors import DomainError
from shebao.emergency import jobs as emergency_jobs
from shebao.emergency import services
from shebao.jobs.services import job_submit
from shebao.web.forms import attach_error
from shebao.web.views import _user


class ReadOnlyForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason, shown to every user"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class RestoreForm(forms.Form):
    confirm = forms.CharField(
        label=gettext_lazy("Type the file name to confirm"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _reader(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "emergency.read"):
        raise Http404
    return user


def _manager(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "emergency.manage"):
        raise Http404
    return user


def _restore_form(index: int, data: Any = None) -> RestoreForm:
    return RestoreForm(data, auto_id=f"id_restore_{index}_%s")


def _page(
    request: HttpRequest,
    user: User,
    *,
    read_only_form: ReadOnlyForm | None = None,
    restore: tuple[str, RestoreForm] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    state = services.emergency_status()
    manage = can(user, "emergency.manage")
    for index, row in enumerate(state["backups"]):
        if manage:
            row["restore_form"] = (
                restore[1] if restore and restore[0] == row["file"] else _restore_form(index)
            )
    age = state["latest_verified_age_seconds"]
    return render(
        request,
        "web/emergency.html",
        {
            "state": state,
            "manage": manage,
            "read_only_form": read_only_form or ReadOnlyForm(),
            "latest_age_hours": None if age is None else round(age / 3600, 1),
            "error": error,
        },
        status=status,
    )


@login_required
def emergency(request: HttpRequest) -> HttpResponse:
    return _page(request, _reader(request))


@login_required
@require_POST
def read_only_enter(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    form = ReadOnlyForm(request.POST)
    if form.is_valid():
        try:
            services.read_only_enter(actor=user, reason=form.cleaned_data["reason"])
        except DomainError as refusal:
            attach_error(form, refusal, fallback="reason")
        else:
            messages.success(request, gettext_lazy("The system is read-only now."))
            return redirect("web:emergency")
    return _page(request, user, read_only_form=form, status=400)


@login_required
@require_POST
def read_only_leave(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    try:
        services.read_only_leave(actor=user)
    except DomainError as refusal:
        return _page(request, user, error=refusal.message, status=refusal.status)
    messages.success(request, gettext_lazy("The system is writable again."))
    return redirect("web:emergency")


def _start(request: HttpRequest, user: User, kind: str, params: dict[str, Any]) -> HttpResponse:
    try:
        job = job_submit(actor=user, kind=kind, params=params)
    except DomainError as refusal:
        return _page(request, user, error=refusal.message, status=refusal.status)
    return redirect("web:job", job_id=job.pk)


@login_required
@require_POST
def backup_start(request: HttpRequest) -> HttpResponse:
    return _start(request, _manager(request), emergency_jobs.BACKUP, {})


@login_required
@require_POST
def backup_verify(request: HttpRequest, name: str) -> HttpResponse:
    return _start(request, _manager(request), emergency_jobs.VERIFY, {"file": name})


@login_required
@require_POST
def backup_restore(request: HttpRequest, name: str) -> HttpResponse:
    user = _manager(request)
    form = RestoreForm(request.POST)
    if form.is_valid():
        try:
            job = job_submit(
                actor=user,
                kind=emergency_jobs.RESTORE,
                params={"file": name, "confirm": form.cleaned_data["confirm"]},
            )
        except DomainError as refusal:
            if refusal.status == 404:
                return _page(request, user, error=refusal.message, status=404)
            attach_error(form, refusal, fallback="confirm")
        else:
            return redirect("web:job", job_id=job.pk)
    return _page(request, user, restore=(name, form), status=400)
