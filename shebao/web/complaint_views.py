"""Supervision and complaint pages (SIL arts. 4, 82).

The person, on a phone: "My employer's payments for me" (the supervision
table, flagged months highlighted, a button to complain about them that
pre-fills the complaint with those months as evidence), "My complaints" with
each case's progress, and one case with its history, where they may add a
comment. Staff who read complaints: the area's queue (overdue first), the
record of a complaint received by phone, letter or at the counter, and the
case page with the actions the status table allows, the transfer form and
the printable transfer letter.

Thin like the other pages: reads go through `complaints.selectors` (scoped,
staff reads of a complainant's case logged), writes through
`complaints.services`, whose refusal is shown at the form field it concerns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.complaints import selectors, services
from shebao.complaints.lifecycle import Op, allowed_operations
from shebao.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
    ComplaintStatus,
)
from shebao.complaints.selectors import FLAG_HELP, Flag, Supervision
from shebao.core.errors import DomainError, NotFound
from shebao.registry import selectors as registry
from shebao.registry.identifiers import (
    mask_identity_number,
    normalize_credit_code,
    normalize_identity_number,
)
from shebao.registry.models import Area
from shebao.web.forms import attach_error
from shebao.web.views import _found, _user

PAGE_SIZE = 50

OPERATION_LABELS: dict[str, Any] = {
    Op.FILE: gettext_lazy("Filed online"),
    Op.RECORD: gettext_lazy("Recorded by staff"),
    Op.TRANSFER_IN: gettext_lazy("Received by transfer"),
    Op.ASSIGN: gettext_lazy("Assigned"),
    Op.ACCEPT: pgettext_lazy("complaint", "Accepted"),
    Op.INVESTIGATE: gettext_lazy("Investigation started"),
    Op.RESOLVE: pgettext_lazy("complaint", "Resolved"),
    Op.REJECT: pgettext_lazy("complaint", "Rejected"),
    Op.TRANSFER: pgettext_lazy("complaint", "Transferred"),
    Op.COMMENT: gettext_lazy("Comment"),
}


# --- who may see which pages ---------------------------------------------------


def _person_user(request: HttpRequest) -> User:
    user = _user(request)
    if user.role != Role.INDIVIDUAL or not user.person_id:
        raise Http404
    return user


def _reader(request: HttpRequest) -> User:
    """Staff of an area who read its complaints; anyone else gets 404."""
    user = _user(request)
    if user.role == Role.INDIVIDUAL or not can(user, "complaint.read") or not user.area_id:
        raise Http404
    return user


# --- forms -----------------------------------------------------------------------


class Textarea(forms.Textarea):
    def __init__(self, rows: int = 4) -> None:
        super().__init__(attrs={"rows": rows})


class FileForm(forms.Form):
    """The person's complaint; the months offered are those the record flags
    for the chosen employer."""

    employer = forms.TypedChoiceField(
        label=gettext_lazy("Employer"), coerce=int, required=False, empty_value=None
    )
    kind = forms.ChoiceField(label=gettext_lazy("About"), choices=ComplaintKind.choices)
    months = forms.MultipleChoiceField(
        label=gettext_lazy("Months from your record"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Their figures are attached from your record as evidence; you need not type them."
        ),
    )
    text = forms.CharField(
        label=gettext_lazy("What happened"),
        required=False,  # the service asks for it, in its own words
        widget=Textarea(5),
        max_length=services.MAX_TEXT,
    )

    def __init__(
        self, *args: Any, employers: list[Any], months: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        employer = self.fields["employer"]
        assert isinstance(employer, forms.TypedChoiceField)
        employer.choices = [("", gettext_lazy("— none —"))] + [(e.pk, e.name) for e in employers]
        months_field = self.fields["months"]
        assert isinstance(months_field, forms.MultipleChoiceField)
        months_field.choices = months


class RecordForm(forms.Form):
    """Staff taking down a complaint that arrived by phone, letter or at the counter."""

    channel = forms.ChoiceField(
        label=gettext_lazy("Received"),
        choices=[
            (value, label)
            for value, label in Complaint._meta.get_field("channel").choices or []
            if value in services.STAFF_CHANNELS
        ],
    )
    kind = forms.ChoiceField(label=gettext_lazy("About"), choices=ComplaintKind.choices)
    id_number = forms.CharField(
        label=gettext_lazy("Complainant's identity number"),
        required=False,
        max_length=24,
        help_text=gettext_lazy("If the complainant is registered; leave empty otherwise."),
    )
    complainant_name = forms.CharField(
        label=gettext_lazy("Complainant's name"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Leave the complainant empty for an anonymous report."),
    )
    contact = forms.CharField(
        label=pgettext_lazy("complaint", "Contact"), required=False, max_length=100
    )
    credit_code = forms.CharField(
        label=gettext_lazy("Employer's unified social credit code"), required=False, max_length=24
    )
    text = forms.CharField(
        label=gettext_lazy("What the complainant said"),
        required=False,
        widget=Textarea(6),
        max_length=services.MAX_TEXT,
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=Textarea(2), max_length=services.MAX_NOTE
    )


class CommentForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        widget=Textarea(3),
        max_length=services.MAX_NOTE,
    )


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        label=gettext_lazy("Outcome for the complainant"),
        required=False,
        widget=Textarea(4),
        max_length=services.MAX_TEXT,
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the complainant"),
        required=False,
        widget=Textarea(3),
        max_length=services.MAX_TEXT,
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assign to"), queryset=User.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, complaint: Complaint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.handlers_of(complaint.area_id)
        if complaint.assignee_id:
            field.initial = complaint.assignee_id


class TransferForm(forms.Form):
    to_area = forms.ModelChoiceField(
        label=gettext_lazy("Transfer to"), queryset=Area.objects.none(), to_field_name="code"
    )
    reason = forms.CharField(
        label=gettext_lazy("Why that area has jurisdiction"),
        required=False,
        widget=Textarea(3),
        max_length=services.MAX_TEXT,
    )

    def __init__(self, *args: Any, complaint: Complaint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_area"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Area.objects.exclude(code=complaint.area_id).order_by("code")


# --- actions on a case ----------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One operation of the status table offered on the case page."""

    slug: str
    capability: str
    label: Any
    done: Any
    form_class: type[forms.Form]
    run: Callable[[User, Complaint, dict[str, Any]], Any]
    danger: bool = False

    def make_form(self, complaint: Complaint, data: Any = None) -> forms.Form:
        if self.form_class is AssignForm:
            return AssignForm(data, prefix=self.slug, complaint=complaint)
        if self.form_class is TransferForm:
            return TransferForm(data, prefix=self.slug, complaint=complaint)
        return self.form_class(data, prefix=self.slug)


ACTIONS: dict[str, Action] = {
    action.slug: action
    for action in [
        Action(
            Op.ASSIGN,
            "complaint.assign",
            gettext_lazy("Assign"),
            gettext_lazy("The case is assigned."),
            AssignForm,
            lambda actor, c, data: services.complaint_assign(
                actor=actor, complaint=c, assignee=data["assignee"]
            ),
        ),
        Action(
            Op.ACCEPT,
            "complaint.handle",
            gettext_lazy("Accept"),
            gettext_lazy("The complaint is accepted."),
            NoteForm,
            lambda actor, c, data: services.complaint_accept(
                actor=actor, complaint=c, note=data["note"]
            ),
        ),
        Action(
            Op.INVESTIGATE,
            "complaint.handle",
            gettext_lazy("Start the investigation"),
            gettext_lazy("The investigation has started."),
            NoteForm,
            lambda actor, c, data: services.complaint_investigate(
                actor=actor, complaint=c, note=data["note"]
            ),
        ),
        Action(
            Op.RESOLVE,
            "complaint.handle",
            gettext_lazy("Resolve"),
            gettext_lazy("The case is resolved."),
            OutcomeForm,
            lambda actor, c, data: services.complaint_resolve(
                actor=actor, complaint=c, outcome=data["outcome"]
            ),
        ),
        Action(
            Op.REJECT,
            "complaint.handle",
            pgettext_lazy("complaint", "Reject"),
            gettext_lazy("The complaint is rejected."),
            ReasonForm,
            lambda actor, c, data: services.complaint_reject(
                actor=actor, complaint=c, reason=data["reason"]
            ),
            danger=True,
        ),
        Action(
            Op.TRANSFER,
            "complaint.handle",
            gettext_lazy("Transfer in writing"),
            gettext_lazy("The case is transferred; the letter is ready to print."),
            TransferForm,
            lambda actor, c, data: services.complaint_transfer(
                actor=actor, complaint=c, to_area=data["to_area"], reason=data["reason"]
            ),
        ),
        Action(
            Op.COMMENT,
            "complaint.handle",
            gettext_lazy("Add a comment"),
            gettext_lazy("The comment is added."),
            CommentForm,
            lambda actor, c, data: services.complaint_comment(
                actor=actor, complaint=c, note=data["note"]
            ),
        ),
    ]
}


def _offered(user: User, complaint: Complaint) -> list[Action]:
    """What the table allows from the case's status and the user's role allows."""
    if user.area_id != complaint.area_id:
        return []
    return [
        ACTIONS[op]
        for op in allowed_operations(complaint.status)
        if op in ACTIONS and can(user, ACTIONS[op].capability)
    ]


# --- how a case looks on a page ----------------------------------------------------------


def _history(events: Any, *, for_person: User | None = None) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        who: Any = event.actor
        if for_person is not None:
            who = (
                gettext_lazy("You")
                if event.actor_id == for_person.pk
                else gettext_lazy("Social insurance agency")
            )
        rows.append(
            {
                "event": event,
                "label": OPERATION_LABELS.get(event.operation, event.operation),
                "from": ComplaintStatus(event.from_status).label if event.from_status else "",
                "to": ComplaintStatus(event.to_status).label,
                "who": who,
            }
        )
    return rows


def _evidence(complaint: Complaint) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "labels": [Flag(flag).label for flag in row.get("flags", []) if flag in Flag.values],
        }
        for row in complaint.evidence
    ]


def _case_context(user: User, complaint: Complaint, *, today: dt.date) -> dict[str, Any]:
    links = selectors.complaint_links(complaint)
    has_letter = complaint.status == ComplaintStatus.TRANSFERRED or bool(
        complaint.transferred_from_id
    )
    return {
        "complaint": complaint,
        "overdue": complaint.is_overdue(today),
        "history": _history(
            selectors.complaint_history(complaint),
            for_person=user if user.role == Role.INDIVIDUAL else None,
        ),
        "evidence": _evidence(complaint),
        "transferred_from": links["transferred_from"],
        "transferred_to": links["transferred_to"],
        "letter_url": reverse("web:complaint_letter", args=[complaint.pk]) if has_letter else "",
    }


# --- the person's pages ------------------------------------------------------------------


def _month_label(period: dt.date, flags: tuple[str, ...]) -> str:
    return f"{period:%Y-%m} · " + ", ".join(str(Flag(flag).label) for flag in flags)


@login_required
def my_supervision(request: HttpRequest) -> HttpResponse:
    """My employer's payments for me: month by month, with what to question flagged."""
    user = _person_user(request)
    person = _found(registry.person_get, user, user.person_id)
    record: Supervision = selectors.supervision_for(user, person)
    new_url = reverse("web:my_complaint_new")
    complain = [
        {
            "employer": employer,
            "months": record.flagged_of(employer.pk),
            "url": f"{new_url}?employer={employer.pk}",
        }
        for employer in record.flagged_employers
    ]
    legend = [(Flag(flag).label, FLAG_HELP[flag]) for flag in Flag.values]
    return render(
        request,
        "web/complaints/supervision.html",
        {"record": record, "complain": complain, "legend": legend, "new_url": new_url},
    )


@login_required
def my_complaint_new(request: HttpRequest) -> HttpResponse:
    """File a complaint; from the supervision table it comes with the flagged
    months of the employer ticked and the kind they suggest."""
    user = _person_user(request)
    person = _found(registry.person_get, user, user.person_id)
    employers = list(registry.employers_for(user).order_by("name"))
    source = request.POST if request.method == "POST" else request.GET
    try:
        employer_id = int(source.get("employer") or 0)
    except ValueError:
        employer_id = 0
    employer = next((e for e in employers if e.pk == employer_id), None)
    flagged = selectors.supervision_for(user, person).flagged_of(employer.pk) if employer else []
    choices = [(f"{m.period:%Y-%m}", _month_label(m.period, m.flags)) for m in flagged]
    # From one row of the table only that month is ticked; from the employer's
    # button, every month flagged for it.
    asked = [value for value in request.GET.get("months", "").split(",") if value]
    initial = {
        "employer": employer.pk if employer else None,
        "months": [value for value, _label in choices if not asked or value in asked],
        "kind": request.GET.get("kind")
        or (flagged[0].suggested_kind if flagged else ComplaintKind.OTHER),
    }
    form = FileForm(
        request.POST if request.method == "POST" else None,
        employers=employers,
        months=choices,
        initial=initial,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_file(
                actor=user,
                kind=data["kind"],
                text=data["text"],
                employer=employer if data["employer"] else None,
                months=[dt.date.fromisoformat(f"{value}-01") for value in data["months"]],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                gettext_lazy("Your complaint %(reference)s is received.")
                % {"reference": complaint.reference},
            )
            return redirect("web:my_complaint", complaint_id=complaint.pk)
    return render(
        request,
        "web/complaints/file.html",
        {"form": form, "employer": employer, "flagged": flagged},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def my_complaints(request: HttpRequest) -> HttpResponse:
    user = _person_user(request)
    today = timezone.localdate()
    rows = [
        {"complaint": c, "overdue": c.is_overdue(today)}
        for c in selectors.complaints_for(user).order_by("-created_at", "-pk")
    ]
    return render(request, "web/complaints/mine.html", {"rows": rows})


@login_required
def my_complaint(request: HttpRequest, complaint_id: int) -> HttpResponse:
    """One of my complaints with its progress; an open one takes a comment (POST)."""
    user = _person_user(request)
    complaint = _found(selectors.complaint_get, user, complaint_id)
    form = CommentForm(request.POST if request.method == "POST" else None, prefix="comment")
    if form.is_bound and form.is_valid():
        try:
            services.complaint_comment(
                actor=user, complaint=complaint, note=form.cleaned_data["note"]
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, str(ACTIONS[Op.COMMENT].done))
            return redirect("web:my_complaint", complaint_id=complaint.pk)
        complaint = _found(selectors.complaint_get, user, complaint_id)
    context = _case_context(user, complaint, today=timezone.localdate())
    context["comment_form"] = form if complaint.status in OPEN_STATUSES else None
    return render(
        request,
        "web/complaints/my_case.html",
        context,
        status=400 if form.is_bound and form.errors else 200,
    )


# --- staff pages -------------------------------------------------------------------------


class QueueForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("open", pgettext_lazy("complaint filter", "Open")),
            ("", gettext_lazy("All")),
            *ComplaintStatus.choices,
        ],
    )
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)


@login_required
def complaint_queue(request: HttpRequest) -> HttpResponse:
    """The area's complaints, the overdue first; "open" by default."""
    user = _reader(request)
    today = timezone.localdate()
    data = request.GET if "status" in request.GET else {"status": "open"}
    form = QueueForm(data)
    status, overdue_only = "open", False
    if form.is_valid():
        status, overdue_only = form.cleaned_data["status"], form.cleaned_data["overdue"]
    rows = selectors.complaint_queue(
        user, status=status or None, overdue_only=overdue_only, today=today
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    open_rows = selectors.complaint_queue(user, status="open", today=today)
    counts = {
        "open": open_rows.count(),
        "overdue": open_rows.filter(overdue=1).count(),
        "mine": open_rows.filter(assignee=user).count(),
    }
    return render(
        request,
        "web/complaints/queue.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "today": today,
            "can_record": can(user, "complaint.record"),
        },
    )


@login_required
def complaint_new(request: HttpRequest) -> HttpResponse:
    """Record a complaint received by phone, letter or at the counter."""
    user = _reader(request)
    if not can(user, "complaint.record"):
        raise Http404
    form = RecordForm(request.POST or None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            person = employer = None
            if data["id_number"]:
                number = normalize_identity_number(data["id_number"])
                person = registry.persons_for(user).filter(id_number=number).first()
                if person is None:
                    raise NotFound(
                        gettext_lazy("Nobody with this identity number is registered in the area."),
                        code="person_unknown",
                        field="id_number",
                    )
            if data["credit_code"]:
                code = normalize_credit_code(data["credit_code"])
                employer = registry.employers_for(user).filter(credit_code=code).first()
                if employer is None:
                    raise NotFound(
                        gettext_lazy(
                            "No employer with this credit code is registered in the area."
                        ),
                        code="employer_unknown",
                        field="credit_code",
                    )
            complaint = services.complaint_record(
                actor=user,
                kind=data["kind"],
                text=data["text"],
                channel=data["channel"],
                person=person,
                complainant_name=data["complainant_name"],
                contact=data["contact"],
                employer=employer,
            )
        except DomainError as error:
            attach_error(form, error, fallback="credit_code" if error.field == "employer" else "")
        else:
            messages.success(
                request,
                gettext_lazy("Complaint %(reference)s is recorded.")
                % {"reference": complaint.reference},
            )
            return redirect("web:complaint", complaint_id=complaint.pk)
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": gettext_lazy("Record a complaint"),
            "subtitle": gettext_lazy(
                "For a complaint or report received by phone, by letter or at the counter "
                "(SIL art. 82: anyone may report)."
            ),
            "submit_label": pgettext_lazy("complaint", "Record"),
            "cancel_url": reverse("web:complaints"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _case_page(
    request: HttpRequest,
    user: User,
    complaint: Complaint,
    *,
    bound: tuple[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _case_context(user, complaint, today=timezone.localdate())
    actions = []
    for action in _offered(user, complaint):
        form = bound[1] if bound and bound[0] == action.slug else action.make_form(complaint)
        actions.append(
            {
                "action": action,
                "form": form,
                "url": reverse("web:complaint_action", args=[complaint.pk, action.slug]),
            }
        )
    person = complaint.person
    context.update(
        {
            "actions": actions,
            "id_number": mask_identity_number(person.id_number) if person else "",
            "contact": complaint.contact or (person.phone if person else ""),
            "assigned_elsewhere": bool(
                complaint.assignee_id
                and complaint.assignee_id != user.pk
                and user.role != Role.AREA_ADMIN
                and actions
            ),
        }
    )
    return render(request, "web/complaints/case.html", context, status=status)


@login_required
def complaint_detail(request: HttpRequest, complaint_id: int) -> HttpResponse:
    user = _reader(request)
    complaint = _found(selectors.complaint_get, user, complaint_id)
    return _case_page(request, user, complaint)


@login_required
@require_POST
def complaint_action(request: HttpRequest, complaint_id: int, action: str) -> HttpResponse:
    user = _reader(request)
    if action not in ACTIONS:
        raise Http404
    act = ACTIONS[action]
    complaint = _found(selectors.complaint_get, user, complaint_id)
    form = act.make_form(complaint, request.POST)
    if form.is_valid():
        try:
            act.run(user, complaint, form.cleaned_data)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, str(act.done))
            # After a transfer the letter is printed; the case goes on elsewhere.
            page = "web:complaint_letter" if act.slug == Op.TRANSFER else "web:complaint"
            return redirect(page, complaint_id=complaint.pk)
    fresh = _found(selectors.complaint_get, user, complaint_id)
    return _case_page(request, user, fresh, bound=(act.slug, form), status=400)


@login_required
def complaint_letter(request: HttpRequest, complaint_id: int) -> HttpResponse:
    """The transfer letter to print: for the staff of either area and the complainant."""
    user = _user(request)
    complaint = _found(selectors.complaint_get, user, complaint_id)
    try:
        event: ComplaintEvent = selectors.transfer_letter(complaint)
    except NotFound:
        raise Http404 from None
    back = (
        reverse("web:my_complaint", args=[complaint.pk])
        if user.role == Role.INDIVIDUAL
        else reverse("web:complaint", args=[complaint.pk])
    )
    return render(
        request,
        "web/complaints/letter.html",
        {"event": event, "original": event.complaint, "back": back, "complaint": complaint},
    )
