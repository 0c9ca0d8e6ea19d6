"""Area approval pages (DOMAIN.md §2).

For the area: its approval page (status, holds, filed vendors, applications,
a new application, a changed card face or file structure), an application
with its documents, the checklist with each live check's result now beside
the recorded one, the evidence forms and the submit button; the drill
records. For the ministry: the queue of submitted applications, the decision
on an application page, the overview of every area, the extra conditions.

Who may not see a page gets 404. Thin like the other pages: reads through
`approval.selectors` (scoped), writes through `approval.services`, whose
refusal is shown at the form field it names, or above the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.approval import selectors, services
from shebao.approval.models import (
    CHECKED_KINDS,
    ApplicationDocument,
    ApplicationKind,
    ApplicationStatus,
    AreaApplication,
    DocumentKind,
    DrillKind,
    DrillOutcome,
    ItemSource,
    ItemStatus,
)
from shebao.core.errors import DomainError
from shebao.registry import selectors as registry
from shebao.registry.models import Area, AreaStatus
from shebao.web.employer_contrib_views import yuan
from shebao.web.forms import DateInput, attach_error
from shebao.web.views import _found, _user

# --- who may see these pages ---------------------------------------------------------


def _reader(request: HttpRequest) -> User:
    """The ministry, or an area's administrator or auditor; anyone else gets 404."""
    user = _user(request)
    if not can(user, "approval.read") or (user.role != Role.MINISTRY_ADMIN and not user.area_id):
        raise Http404
    return user


def _ministry(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "approval.decide"):
        raise Http404
    return user


def _applicant(request: HttpRequest) -> User:
    user = _reader(request)
    if not can(user, "approval.apply"):
        raise Http404
    return user


def _own_area(user: User) -> Area:
    return _found(registry.area_get, user, user.area_id or "")


def _application(user: User, application_id: int) -> AreaApplication:
    application: AreaApplication = _found(selectors.application_get, user, application_id)
    return application


# --- forms -----------------------------------------------------------------------------


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ApplicationKind.choices)
    vendor = forms.CharField(
        label=gettext_lazy("Card vendor or product"),
        max_length=100,
        required=False,
        help_text=gettext_lazy(
            "Initial approval: the vendor the area prepared with. Filing: the new vendor "
            "or product."
        ),
    )
    added_volume = forms.IntegerField(
        label=gettext_lazy("Added volume (cards)"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Filing only: how many more cards than planned."),
    )
    note = forms.CharField(
        label=gettext_lazy("What the application is about"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Document"), choices=DocumentKind.choices)
    file = forms.FileField(label=gettext_lazy("File"))


class ChangeForm(forms.Form):
    CHOICES = [
        (DocumentKind.CARD_FACE, gettext_lazy("A new card-face design")),
        (DocumentKind.FILE_STRUCTURE, gettext_lazy("A new card file structure")),
    ]
    kind = forms.ChoiceField(label=gettext_lazy("What changed"), choices=CHOICES)
    file = forms.FileField(label=gettext_lazy("File"))


class EvidenceForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[
            (ItemStatus.MET, ItemStatus.MET.label),
            (ItemStatus.NOT_MET, ItemStatus.NOT_MET.label),
        ],
    )
    evidence = forms.CharField(
        label=gettext_lazy("Evidence"),
        max_length=2000,
        required=False,  # the service asks for it when the item is met
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    document: forms.ModelChoiceField[ApplicationDocument] = forms.ModelChoiceField(
        label=gettext_lazy("Document (optional)"),
        queryset=ApplicationDocument.objects.none(),
        required=False,
    )

    def __init__(self, *args: Any, documents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["document"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = documents


class DecisionForm(forms.Form):
    issuer_id = forms.CharField(
        label=gettext_lazy("Issuer ID"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("Initial approval only: the issuer ID assigned to the area."),
    )
    reasons = forms.CharField(
        label=gettext_lazy("Reasons"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when rejecting."),
    )
    override_reason = forms.CharField(
        label=gettext_lazy("Approve although items are not met, because"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Leave empty unless the ministry overrides the checklist."),
    )


class DrillForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Drill"), choices=DrillKind.choices)
    done_on = forms.DateField(label=gettext_lazy("Done on"), widget=DateInput)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=DrillOutcome.choices)
    evidence = forms.CharField(
        label=gettext_lazy("Evidence"),
        max_length=2000,
        required=False,  # the service asks for it
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What was done, by whom, and what it showed."),
    )


class ExtraConditionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    areas = forms.CharField(
        label=gettext_lazy("Only these areas (codes)"),
        max_length=2000,
        required=False,
        help_text=gettext_lazy("Leave empty for every area; separate codes by spaces or commas."),
    )


# --- the area's approval page ------------------------------------------------------------


def _home_page(
    request: HttpRequest,
    user: User,
    *,
    application_form: ApplicationForm | None = None,
    change_form: ChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    area = _own_area(user)
    return render(
        request,
        "web/approval/home.html",
        {
            "area": area,
            "state": selectors.approval_state(user, area),
            "applications": selectors.applications_for(user).order_by("-created_at", "-pk"),
            "may_apply": can(user, "approval.apply"),
            "approved": area.status == AreaStatus.APPROVED,
            "application_form": application_form or ApplicationForm(),
            "change_form": change_form or ChangeForm(),
        },
        status=status,
    )


@login_required
def approval_home(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    if user.role == Role.MINISTRY_ADMIN:
        return redirect("web:approval_queue")
    return _home_page(request, user)


@login_required
@require_POST
def application_new(request: HttpRequest) -> HttpResponse:
    user = _applicant(request)
    form = ApplicationForm(request.POST)
    if form.is_valid():
        try:
            application = services.application_create(
                actor=user,
                area=_own_area(user),
                kind=form.cleaned_data["kind"],
                vendor=form.cleaned_data["vendor"],
                added_volume=form.cleaned_data["added_volume"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("The application is started as a draft."))
            return redirect("web:approval_application", application_id=application.pk)
    return _home_page(request, user, application_form=form, status=400)


@login_required
@require_POST
def area_change(request: HttpRequest) -> HttpResponse:
    user = _applicant(request)
    form = ChangeForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        change = (
            services.area_change_card_face
            if form.cleaned_data["kind"] == DocumentKind.CARD_FACE
            else services.area_change_file_structure
        )
        try:
            document = change(
                actor=user,
                area=_own_area(user),
                name=upload.name,
                data=upload.read(),
                content_type=upload.content_type or "",
            )
        except DomainError as error:
            attach_error(form, error, fallback="file")
        else:
            messages.warning(
                request,
                _(
                    "The change is on the re-approval application. No card can be produced "
                    "until the ministry approves it."
                ),
            )
            return redirect("web:approval_application", application_id=document.application_id)
    return _home_page(request, user, change_form=form, status=400)


# --- one application ------------------------------------------------------------------------


def _application_page(
    request: HttpRequest,
    user: User,
    application: AreaApplication,
    *,
    document_form: DocumentForm | None = None,
    evidence_forms: dict[int, EvidenceForm] | None = None,
    decision_form: DecisionForm | None = None,
    action_error: str = "",
    status: int = 200,
) -> HttpResponse:
    documents = application.documents.select_related("uploaded_by").order_by("kind", "-version")
    area_documents = selectors.documents_for(user).filter(area_id=application.area_id)
    draft = application.status == ApplicationStatus.DRAFT
    may_apply = can(user, "approval.apply") and draft
    rows = selectors.checklist(application) if application.kind in CHECKED_KINDS else []
    evidence_forms = evidence_forms or {}
    checklist = [
        {
            "row": row,
            "form": evidence_forms.get(row.item.pk)
            or EvidenceForm(
                initial={
                    "status": row.item.status
                    if row.item.status != ItemStatus.NOT_CHECKED
                    else ItemStatus.MET,
                    "evidence": row.item.evidence,
                    "document": row.item.document_id,
                },
                documents=area_documents,
                prefix=f"item{row.item.pk}",
            ),
            "editable": may_apply and row.item.source != ItemSource.CHECK,
        }
        for row in rows
    ]
    met_now = sum(1 for row in rows if row.live_status == ItemStatus.MET)
    return render(
        request,
        "web/approval/application.html",
        {
            "application": application,
            "documents": documents,
            "checklist": checklist,
            "met_now": met_now,
            "may_apply": may_apply,
            "may_withdraw": can(user, "approval.apply")
            and application.status in (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED),
            "may_decide": can(user, "approval.decide")
            and application.status == ApplicationStatus.SUBMITTED,
            "is_filing": application.kind == ApplicationKind.FILING,
            "document_form": document_form or DocumentForm(),
            "decision_form": decision_form or DecisionForm(),
            "action_error": action_error,
        },
        status=status,
    )


@login_required
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    user = _reader(request)
    return _application_page(request, user, _application(user, application_id))


@login_required
@require_POST
def document_new(request: HttpRequest, application_id: int) -> HttpResponse:
    user = _applicant(request)
    application = _application(user, application_id)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            document = services.document_upload(
                actor=user,
                application=application,
                kind=form.cleaned_data["kind"],
                name=upload.name,
                data=upload.read(),
                content_type=upload.content_type or "",
            )
        except DomainError as error:
            attach_error(form, error, fallback="file")
        else:
            messages.success(
                request,
                _("%(kind)s version %(version)d is attached.")
                % {"kind": document.get_kind_display(), "version": document.version},
            )
            return redirect("web:approval_application", application_id=application.pk)
    return _application_page(request, user, application, document_form=form, status=400)


@login_required
def document_download(request: HttpRequest, document_id: int) -> FileResponse:
    user = _reader(request)
    document = _found(selectors.document_get, user, document_id)
    path = services.document_path(document)
    if not path.exists():
        raise Http404
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def item_evidence(request: HttpRequest, application_id: int, item_id: int) -> HttpResponse:
    user = _applicant(request)
    application = _application(user, application_id)
    item = _found(selectors.item_get, user, application, item_id)
    area_documents = selectors.documents_for(user).filter(area_id=application.area_id)
    form = EvidenceForm(request.POST, documents=area_documents, prefix=f"item{item.pk}")
    if form.is_valid():
        try:
            services.item_record(
                actor=user,
                item=item,
                status=form.cleaned_data["status"],
                evidence=form.cleaned_data["evidence"],
                document=form.cleaned_data["document"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("The evidence is recorded."))
            url = reverse("web:approval_application", kwargs={"application_id": application.pk})
            return redirect(f"{url}#item-{item.pk}")
    return _application_page(request, user, application, evidence_forms={item.pk: form}, status=400)


@login_required
@require_POST
def application_submit(request: HttpRequest, application_id: int) -> HttpResponse:
    user = _applicant(request)
    application = _application(user, application_id)
    try:
        services.application_submit(actor=user, application=application)
    except DomainError as error:
        return _application_page(request, user, application, action_error=error.message, status=400)
    messages.success(request, _("The application is submitted to the ministry."))
    return redirect("web:approval_application", application_id=application.pk)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    user = _applicant(request)
    application = _application(user, application_id)
    try:
        services.application_withdraw(actor=user, application=application)
    except DomainError as error:
        return _application_page(request, user, application, action_error=error.message, status=400)
    messages.success(request, _("The application is withdrawn."))
    return redirect("web:approval_application", application_id=application.pk)


@login_required
@require_POST
def application_decide(request: HttpRequest, application_id: int) -> HttpResponse:
    user = _ministry(request)
    application = _application(user, application_id)
    form = DecisionForm(request.POST)
    action = request.POST.get("action", "")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "approve":
                services.application_approve(
                    actor=user,
                    application=application,
                    issuer_id=data["issuer_id"],
                    reasons=data["reasons"],
                    override_reason=data["override_reason"],
                )
                done = _("The application is approved.")
            elif action == "acknowledge":
                services.filing_acknowledge(
                    actor=user, application=application, reasons=data["reasons"]
                )
                done = _("The filing is acknowledged.")
            elif action == "reject":
                services.application_reject(
                    actor=user, application=application, reasons=data["reasons"]
                )
                done = _("The application is rejected.")
            else:
                raise Http404
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, done)
            return redirect("web:approval_application", application_id=application.pk)
    return _application_page(request, user, application, decision_form=form, status=400)


# --- the ministry ---------------------------------------------------------------------------


@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    user = _ministry(request)
    return render(
        request,
        "web/approval/queue.html",
        {
            "waiting": selectors.decision_queue(user),
            "decided": selectors.applications_for(user)
            .filter(decided_at__isnull=False)
            .order_by("-decided_at", "-pk")[:20],
        },
    )


@login_required
def approval_overview(request: HttpRequest) -> HttpResponse:
    user = _ministry(request)
    overview = selectors.ministry_overview(user)
    return render(
        request,
        "web/approval/overview.html",
        {
            "overview": overview,
            "rows": [
                {"figures": row, "arrears": yuan(row.arrears_cents)} for row in overview.areas
            ],
            "arrears_total": yuan(overview.totals["arrears_cents"]),
        },
    )


def _conditions_page(
    request: HttpRequest, user: User, *, form: ExtraConditionForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/approval/conditions.html",
        {
            "conditions": selectors.extra_conditions_for(user).order_by("-active", "pk"),
            "may_decide": can(user, "approval.decide"),
            "form": form or ExtraConditionForm(),
        },
        status=status,
    )


@login_required
def extra_conditions(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    if request.method != "POST":
        return _conditions_page(request, user)
    user = _ministry(request)
    form = ExtraConditionForm(request.POST)
    if form.is_valid():
        codes = form.cleaned_data["areas"].replace("，", ",").replace(",", " ").split()
        try:
            services.extra_condition_create(
                actor=user,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                area_codes=codes,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("The condition is added to the checklists it applies to."))
            return redirect("web:approval_conditions")
    return _conditions_page(request, user, form=form, status=400)


@login_required
@require_POST
def extra_condition_toggle(request: HttpRequest, condition_id: int) -> HttpResponse:
    user = _ministry(request)
    condition = _found(selectors.extra_condition_get, user, condition_id)
    services.extra_condition_set_active(
        actor=user, condition=condition, active=request.POST.get("active") == "1"
    )
    return redirect("web:approval_conditions")


# --- emergency drills --------------------------------------------------------------------------


def _drills_page(
    request: HttpRequest, user: User, *, form: DrillForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/approval/drills.html",
        {
            "drills": selectors.drills_for(user)[:200],
            "may_record": can(user, "drill.record"),
            "form": form or DrillForm(initial={"done_on": timezone.localdate()}),
        },
        status=status,
    )


@login_required
def drills(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    if request.method != "POST":
        return _drills_page(request, user)
    if not can(user, "drill.record"):
        raise Http404
    form = DrillForm(request.POST)
    if form.is_valid():
        done_on = form.cleaned_data["done_on"]
        # A drill done today is recorded at this moment; an earlier one at noon of its day.
        done_at = (
            timezone.now()
            if done_on == timezone.localdate()
            else timezone.make_aware(dt.datetime.combine(done_on, dt.time(12)))
        )
        try:
            services.drill_record(
                actor=user,
                area=_own_area(user),
                kind=form.cleaned_data["kind"],
                done_at=done_at,
                outcome=form.cleaned_data["outcome"],
                evidence=form.cleaned_data["evidence"],
            )
        except DomainError as error:
            attach_error(form, error, fallback="done_on")
        else:
            messages.success(request, _("The drill is recorded."))
            return redirect("web:approval_drills")
    return _drills_page(request, user, form=form, status=400)
