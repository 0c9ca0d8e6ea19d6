"""Personal rights record statements on the portal.

- "My statements" (the holder): the statements they received, each with its
  PDF and what it shows on the public verify page (which they choose), and a
  button to get one as of today. Free of charge, like every statement.
- The person page shows staff a person's statements (`inquiry` template tag)
  and lets the contributions officer make one as of today at the counter.
- The area's yearly batch (staff): start it (a background job whose page
  follows it) and see each year's progress.
- `/verify/` and `/verify/<code>` are public: anyone shown a statement checks
  its code, or sends its PDF file, and sees whether it is genuine and only
  what the holder shares. Rate-limited per address.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shebao.accounts.backends import client_address
from shebao.accounts.models import User
from shebao.accounts.roles import can
from shebao.core.errors import DomainError, NotFound
from shebao.inquiry import pdf, selectors, services
from shebao.inquiry.models import Statement
from shebao.inquiry.pdf import verify_url
from shebao.inquiry.statements import SHAREABLE, display_code, normalize_code, parse
from shebao.jobs.services import job_submit
from shebao.registry import selectors as registry_selectors
from shebao.web.forms import attach_error


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _statement_row(request: HttpRequest, statement: Statement) -> dict[str, Any]:
    return {
        "statement": statement,
        "code": display_code(statement.code),
        "verify_url": verify_url(request, statement.code),
        "pdf_url": reverse("web:statement_pdf", args=[statement.pk]),
        "shared": set(statement.shared_fields),
    }


# --- the holder ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def my_statements(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (can(user, "statement.own") and user.person_id):
        raise Http404
    if request.method == "POST":
        try:
            if request.POST.get("action") == "share":
                statement = selectors.statement_get(user, _int(request.POST.get("statement")))
                services.statement_share(
                    actor=user, statement=statement, fields=request.POST.getlist("fields")
                )
                messages.success(request, _("What the verify page shows is saved."))
            else:
                person = registry_selectors.person_get(user, user.person_id)
                statement = services.statement_request(actor=user, person=person)
                messages.success(
                    request,
                    _("Your statement as of %(day)s is ready; download it below.")
                    % {"day": statement.as_of.isoformat()},
                )
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("web:my_statements")
        return redirect(reverse("web:my_statements") + f"#statement-{statement.pk}")
    rows = selectors.statements_for(user).order_by("-created_at", "-pk")
    return render(
        request,
        "web/inquiry/mine.html",
        {
            "items": [_statement_row(request, statement) for statement in rows],
            "shareable": [(name, label) for name, (label, _section) in SHAREABLE.items()],
        },
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(_("No such statement.")) from None


# --- the PDF ----------------------------------------------------------------------------


@login_required
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    """The statement as PDF, rendered now; a reader other than the holder is logged."""
    try:
        statement = selectors.statement_get(_user(request), statement_id, purpose="statement.pdf")
    except NotFound:
        raise Http404 from None
    if selectors.stored_reason(statement) != "ok":
        return HttpResponse(
            _("This statement's record is damaged and cannot be printed; tell the agency."),
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    try:
        data = pdf.render(
            parse(statement.canonical),
            canonical=statement.canonical,
            signature=bytes(statement.signature),
            verify_url=verify_url(request, statement.code),
        )
    except pdf.PdfFontMissing as error:
        return HttpResponse(error.message, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{statement.year}-{statement.code}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


# --- staff: a statement at the counter, the yearly batch -----------------------------------


@login_required
@require_POST
def person_statement_new(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    if not can(user, "statement.issue"):
        raise Http404
    try:
        person = registry_selectors.person_get(user, person_id)
        statement = services.statement_request(actor=user, person=person)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("A statement as of %(day)s is made; hand the person its PDF.")
            % {"day": statement.as_of.isoformat()},
        )
    return redirect(reverse("web:person", args=[person_id]) + "#statements")


class BatchForm(forms.Form):
    year = forms.IntegerField(
        label=gettext_lazy("Year"),
        min_value=services.FIRST_YEAR,
        help_text=gettext_lazy(
            "Every person of the area registered by the end of the year gets the year's "
            "statement; persons who have it are skipped, so a stopped batch is completed by "
            "starting it again."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def statement_batches(request: HttpRequest) -> HttpResponse:
    """The area's yearly batches and their progress; the form starts one as a job."""
    user = _user(request)
    issuer = can(user, "statement.issue")
    if not ((issuer or can(user, "statement.read")) and user.area_id):
        raise Http404
    if request.method == "POST" and not issuer:
        raise Http404
    last_year = timezone.localdate().year - 1
    form = BatchForm(request.POST or None, initial={"year": last_year}) if issuer else None
    if form is not None and form.is_bound and form.is_valid():
        try:
            job = job_submit(
                actor=user,
                kind="statement_batch",
                params={"area": user.area_id, "year": form.cleaned_data["year"]},
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            return redirect("web:job", job_id=job.pk)
    return render(
        request,
        "web/inquiry/batches.html",
        {
            "form": form,
            "batches": selectors.batches_for(user).order_by("-year"),
        },
        status=400 if form is not None and form.is_bound else 200,
    )


# --- the public check -------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Verification code"),
        max_length=40,
        help_text=gettext_lazy("16 letters and digits, printed under the QR code."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "class": "mono"}
        ),
    )


class PdfForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Statement PDF"),
        help_text=gettext_lazy("The PDF file of the statement, as the agency issued it."),
    )


def _verdict(
    request: HttpRequest, result: selectors.Verification | None, *, status: int = 200, **extra: Any
) -> HttpResponse:
    response = render(
        request,
        "web/inquiry/verify.html",
        {
            "result": result,
            "code_form": extra.pop("code_form", None) or CodeForm(),
            "pdf_form": extra.pop("pdf_form", None) or PdfForm(),
            "throttled": extra.pop("throttled", ""),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "POST"])
def verify_form(request: HttpRequest) -> HttpResponse:
    """Type a code (GET ?code=… goes to its page) or send a statement's PDF (POST)."""
    if request.method == "GET":
        code_form = CodeForm(request.GET or None)
        if code_form.is_bound and code_form.is_valid():
            code = normalize_code(code_form.cleaned_data["code"])
            return redirect("web:statement_verify", code=code if code.isalnum() else "-")
        return _verdict(request, None, code_form=code_form if code_form.is_bound else None)
    pdf_form = PdfForm(request.POST, request.FILES)
    if not pdf_form.is_valid():
        return _verdict(request, None, status=400, pdf_form=pdf_form)
    upload = pdf_form.cleaned_data["file"]
    # A file over the limit is refused as unreadable without being read.
    data = b"" if upload.size > pdf.MAX_UPLOAD_BYTES else upload.read()
    try:
        result = selectors.statement_verify_pdf(data, address=client_address(request))
    except selectors.VerifyThrottled as error:
        return _verdict(request, None, status=429, throttled=error.message)
    return _verdict(request, result)


@require_http_methods(["GET"])
def verify(request: HttpRequest, code: str) -> HttpResponse:
    try:
        result = selectors.statement_verify(code, address=client_address(request))
    except selectors.VerifyThrottled as error:
        return _verdict(request, None, status=429, throttled=error.message)
    return _verdict(request, result)
