"""Declaration pages: an employer (or a contributions officer on its behalf)
sends a month's wages as a spreadsheet and sees, row by row, what was kept
and what was refused and why."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.contributions import declarations, selectors
from shebao.core.errors import DomainError, NotFound
from shebao.jobs.services import job_submit
from shebao.registry import selectors as registry_selectors
from shebao.web.forms import attach_error


class MonthInput(forms.DateInput):
    input_type = "month"


class DeclarationUploadForm(forms.Form):
    employer = forms.IntegerField(widget=forms.HiddenInput, required=False)
    period = forms.DateField(
        label=_("Month"), widget=MonthInput(format="%Y-%m"), input_formats=["%Y-%m", "%Y-%m-%d"]
    )
    file = forms.FileField(label=_("Declaration file (CSV or XLSX)"))


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _allowed(user: User) -> None:
    if not can(user, "declaration.submit"):
        raise Http404


@login_required
def declaration_upload(request: HttpRequest) -> HttpResponse:
    """Send a month's declaration file; employers for themselves, officers for an employer."""
    user = _user(request)
    _allowed(user)
    employer_id = (
        user.employer_id
        if user.role == Role.EMPLOYER
        else request.GET.get("employer") or request.POST.get("employer")
    )
    try:
        employer = registry_selectors.employer_get(user, int(employer_id or 0))
    except (NotFound, ValueError):
        raise Http404 from None
    form = DeclarationUploadForm(
        request.POST or None,
        request.FILES or None,
        initial={"employer": employer.pk, "period": timezone.localdate().replace(day=1)},
    )
    if form.is_valid():
        period = form.cleaned_data["period"].replace(day=1)
        uploaded = form.cleaned_data["file"]
        try:  # a large file takes a while: it is read by a job, whose page shows progress
            job = job_submit(
                actor=user,
                kind="declaration_import",
                params={"employer": employer.pk, "period": period.isoformat()},
                files={"file": uploaded},
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            return redirect("web:job", job_id=job.pk)
    uploads = selectors.uploads_for(user).filter(employer=employer).order_by("-created_at")[:20]
    return render(
        request,
        "web/contributions/upload.html",
        {"form": form, "employer": employer, "uploads": uploads},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def declaration_upload_result(request: HttpRequest, upload_id: int) -> HttpResponse:
    user = _user(request)
    try:
        upload = selectors.upload_get(user, upload_id)
    except NotFound:
        raise Http404 from None
    page = Paginator(upload.errors, 100).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "upload": upload,
        "errors": page,
        "can_declare": can(user, "declaration.submit"),
    }
    return render(request, "web/contributions/result.html", context)


@login_required
def declaration_upload_errors(request: HttpRequest, upload_id: int) -> HttpResponse:
    user = _user(request)
    try:
        upload = selectors.upload_get(user, upload_id)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(declarations.errors_csv(upload), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="declaration-{upload.pk}-errors.csv"'
    return response


@login_required
def declaration_template(request: HttpRequest) -> HttpResponse:
    _allowed(_user(request))
    response = HttpResponse(declarations.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="declaration-template.csv"'
    return response
