"""Supervision and complaints (SIL arts. 4, 82): a person's supervision table,
filing and following their complaints; the area staff's queue and the steps of
handling a case (assign, accept, investigate, resolve, reject, transfer,
comment). Thin: scoping in `complaints.selectors`, rules in
`complaints.services`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, actor, responses
from shebao.complaints import selectors, services
from shebao.complaints.models import Complaint
from shebao.core.errors import Forbidden, NotFound
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import Area, Employer, Person

router = Router(tags=["complaints"])

MONEY = "CNY, two decimals"


# --- schemas ---------------------------------------------------------------------------


class SupervisionMonthOut(Schema):
    period: dt.date
    employer: int
    employer_name: str
    employed: bool = Field(description="The registry shows an employment with the employer")
    declared_wage: Decimal | None = Field(description="None: nothing declared")
    billed_employer: Decimal = Field(description=MONEY)
    billed_individual: Decimal = Field(description="The person's own share billed; " + MONEY)
    bill: int | None
    due_on: dt.date | None
    paid: bool | None = Field(
        description="The employer's whole bill paid by `on`; None: not billed"
    )
    overdue: bool = Field(description="Billed, unpaid and past its due day")
    flags: list[str] = Field(
        description="declared_unbilled, withheld_unpaid, unpaid, assessed, undeclared"
    )


class SupervisionOut(Schema):
    person: int
    on: dt.date
    since: dt.date
    until: dt.date
    months: list[SupervisionMonthOut] = Field(description="Newest month first")


class SupervisionQuery(Schema):
    on: dt.date | None = Field(None, description="Payments made after this day do not count")
    since: dt.date | None = Field(None, description="First month; default 23 months before `until`")
    until: dt.date | None = Field(None, description="Last month; default the month of `on`")


class LinkOut(Schema):
    id: int
    reference: str
    area: str


class EventOut(Schema):
    at: dt.datetime
    operation: str
    from_status: str
    to_status: str
    actor: str | None = Field(description="Who; for a complainant, only their own steps are named")
    note: str
    document: str = Field(description="The transfer letter, on a transfer")


class ComplaintOut(Schema):
    id: int
    reference: str = Field(description="<area>-<year>-<sequence>")
    area: str = Field(alias="area_id", description="The area handling the case")
    status: str
    kind: str
    channel: str
    employer: int | None = Field(None, alias="employer_id")
    employer_name: str | None
    person: int | None = Field(
        None, alias="person_id", description="The complainant, if registered"
    )
    complainant_name: str
    assignee: str | None
    deadline: dt.date
    overdue: bool
    outcome: str
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_employer_name(obj: Complaint) -> str | None:
        return obj.employer.name if obj.employer else None

    @staticmethod
    def resolve_assignee(obj: Complaint) -> str | None:
        return obj.assignee.username if obj.assignee else None

    @staticmethod
    def resolve_overdue(obj: Complaint) -> bool:
        return obj.is_overdue(timezone.localdate())


class ComplaintDetailOut(ComplaintOut):
    text: str
    contact: str
    evidence: list[dict[str, Any]] = Field(description="Flagged months from the person's record")
    history: list[EventOut]
    transferred_from: LinkOut | None
    transferred_to: LinkOut | None

    @staticmethod
    def resolve_history(obj: Complaint, context: Any) -> list[dict[str, Any]]:
        user = context["request"].user
        mine = user.role == Role.INDIVIDUAL
        return [
            {
                "at": event.at,
                "operation": event.operation,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor": (
                    None
                    if event.actor is None or (mine and event.actor_id != user.pk)
                    else event.actor.username
                ),
                "note": event.note,
                "document": event.document,
            }
            for event in selectors.complaint_history(obj)
        ]

    @staticmethod
    def resolve_transferred_from(obj: Complaint) -> dict[str, Any] | None:
        return _link(selectors.complaint_links(obj)["transferred_from"])

    @staticmethod
    def resolve_transferred_to(obj: Complaint) -> dict[str, Any] | None:
        return _link(selectors.complaint_links(obj)["transferred_to"])


class FileIn(Schema):
    kind: str = Field(description="unpaid, undeclared, wrong_base, card_service or other")
    text: str
    employer: int | None = None
    months: list[dt.date] = Field(
        default_factory=list, description="Flagged months of the supervision table to attach"
    )


class RecordIn(FileIn):
    channel: str = Field(description="counter, phone or letter")
    person: int | None = Field(None, description="The complainant if registered; else none")
    complainant_name: str = ""
    contact: str = ""


class QueueQuery(PageQuery):
    status: str | None = Field(None, description="A status, or `open` for every open one")
    overdue: bool = Field(False, description="Only open cases past their deadline")


class NoteIn(Schema):
    note: str = ""


class OutcomeIn(Schema):
    outcome: str


class ReasonIn(Schema):
    reason: str


class AssignIn(Schema):
    assignee: int = Field(description="A user of the area who handles complaints")


class TransferIn(Schema):
    to_area: str = Field(description="Code of the area that has jurisdiction")
    reason: str


# --- helpers ------------------------------------------------------------------------------


def _individual(user: User) -> Person:
    if not (user.is_active and user.role == Role.INDIVIDUAL and user.person_id):
        raise Forbidden(_("Only an insured person has a supervision table and complaints here."))
    return Person.objects.get(pk=user.person_id)


def _link(complaint: Complaint | None) -> dict[str, Any] | None:
    if complaint is None:
        return None
    return {"id": complaint.pk, "reference": complaint.reference, "area": complaint.area_id}


def _case(request: HttpRequest, complaint_id: int) -> tuple[User, Complaint]:
    user = actor(request)
    return user, selectors.complaint_get(user, complaint_id)


# --- the person ---------------------------------------------------------------------------


@router.get(
    "/my/supervision",
    response=responses(200, SupervisionOut),
    summary="My employers' declarations, bills and payments for me, with what to question",
)
def my_supervision(request: HttpRequest, query: Query[SupervisionQuery]) -> Any:
    user = actor(request)
    person = _individual(user)
    record = selectors.supervision_for(
        user, person, on=query.on, since=query.since, until=query.until
    )
    return {
        "person": person.pk,
        "on": record.on,
        "since": record.since,
        "until": record.until,
        "months": [
            {
                "period": m.period,
                "employer": m.employer.pk,
                "employer_name": m.employer.name,
                "employed": m.employed,
                "declared_wage": m.declared_wage,
                "billed_employer": m.billed_employer,
                "billed_individual": m.billed_individual,
                "bill": m.bill_id,
                "due_on": m.due_on,
                "paid": m.paid,
                "overdue": m.overdue,
                "flags": list(m.flags),
            }
            for m in record.months
        ],
    }


@router.get(
    "/my/complaints", response=responses(200, page_of(ComplaintOut)), summary="My complaints"
)
def my_complaints(request: HttpRequest, query: Query[PageQuery]) -> Any:
    user = actor(request)
    _individual(user)
    rows = selectors.complaints_for(user).order_by("-created_at", "-pk")
    return paginate(rows, query.page, query.page_size)


@router.post(
    "/my/complaints",
    response=responses(201, ComplaintDetailOut),
    summary="File a complaint about my employer, with flagged months as evidence",
)
def my_complaint_file(request: HttpRequest, payload: FileIn) -> Any:
    user = actor(request)
    person = _individual(user)
    employer = None
    if payload.employer is not None:
        # Any employer of the person's area may be named (kind "other"); the
        # service refuses one the person has no employment with otherwise.
        employer = Employer.objects.filter(area_id=person.area_id, pk=payload.employer).first()
        if employer is None:
            raise NotFound(
                _("No %(what)s with that key is visible to you."),
                field="employer",
                params={"what": _("employer")},
            )
    complaint = services.complaint_file(
        actor=user, kind=payload.kind, text=payload.text, employer=employer, months=payload.months
    )
    return Status(201, complaint)


# --- staff ---------------------------------------------------------------------------------


@router.get(
    "/complaints",
    response=responses(200, page_of(ComplaintOut)),
    summary="The area's complaints, the overdue first",
)
def complaint_queue(request: HttpRequest, query: Query[QueueQuery]) -> Any:
    user = actor(request)
    if user.role == Role.INDIVIDUAL:
        rows = selectors.complaints_for(user).order_by("-created_at", "-pk")
    else:
        rows = selectors.complaint_queue(user, status=query.status, overdue_only=query.overdue)
    return paginate(rows, query.page, query.page_size)


@router.post(
    "/complaints",
    response=responses(201, ComplaintDetailOut),
    summary="Record a complaint received by phone, letter or at the counter",
)
def complaint_record(request: HttpRequest, payload: RecordIn) -> Any:
    user = actor(request)
    person = (
        registry_selectors.person_get(user, payload.person, purpose="complaint.record")
        if payload.person is not None
        else None
    )
    employer = (
        registry_selectors.employer_get(user, payload.employer)
        if payload.employer is not None
        else None
    )
    complaint = services.complaint_record(
        actor=user,
        kind=payload.kind,
        text=payload.text,
        channel=payload.channel,
        person=person,
        complainant_name=payload.complainant_name,
        contact=payload.contact,
        employer=employer,
        months=payload.months,
    )
    return Status(201, complaint)


@router.get(
    "/complaints/{complaint_id}",
    response=responses(200, ComplaintDetailOut),
    summary="One complaint with its history (the complainant's own, or the area's)",
)
def complaint_detail(request: HttpRequest, complaint_id: int) -> Any:
    return _case(request, complaint_id)[1]


@router.post(
    "/complaints/{complaint_id}/assign",
    response=responses(200, ComplaintDetailOut),
    summary="Assign the case to a handler of the area (area administrator)",
)
def complaint_assign(request: HttpRequest, complaint_id: int, payload: AssignIn) -> Any:
    user, complaint = _case(request, complaint_id)
    assignee = User.objects.filter(pk=payload.assignee).first()
    if assignee is None:
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            field="assignee",
            params={"what": _("user")},
        )
    services.complaint_assign(actor=user, complaint=complaint, assignee=assignee)
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/accept",
    response=responses(200, ComplaintDetailOut),
    summary="Accept the complaint (the area has jurisdiction)",
)
def complaint_accept(request: HttpRequest, complaint_id: int, payload: NoteIn) -> Any:
    user, complaint = _case(request, complaint_id)
    services.complaint_accept(actor=user, complaint=complaint, note=payload.note)
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/investigate",
    response=responses(200, ComplaintDetailOut),
    summary="Start the investigation",
)
def complaint_investigate(request: HttpRequest, complaint_id: int, payload: NoteIn) -> Any:
    user, complaint = _case(request, complaint_id)
    services.complaint_investigate(actor=user, complaint=complaint, note=payload.note)
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/resolve",
    response=responses(200, ComplaintDetailOut),
    summary="Resolve the case with its outcome",
)
def complaint_resolve(request: HttpRequest, complaint_id: int, payload: OutcomeIn) -> Any:
    user, complaint = _case(request, complaint_id)
    services.complaint_resolve(actor=user, complaint=complaint, outcome=payload.outcome)
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/reject",
    response=responses(200, ComplaintDetailOut),
    summary="Reject the complaint with the reason",
)
def complaint_reject(request: HttpRequest, complaint_id: int, payload: ReasonIn) -> Any:
    user, complaint = _case(request, complaint_id)
    services.complaint_reject(actor=user, complaint=complaint, reason=payload.reason)
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/transfer",
    response=responses(200, ComplaintDetailOut),
    summary="Transfer the case in writing to the area that has jurisdiction (SIL art. 82)",
)
def complaint_transfer(request: HttpRequest, complaint_id: int, payload: TransferIn) -> Any:
    user, complaint = _case(request, complaint_id)
    to_area = Area.objects.filter(code=payload.to_area).first()
    if to_area is None:
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            field="to_area",
            params={"what": _("issuing area")},
        )
    services.complaint_transfer(
        actor=user, complaint=complaint, to_area=to_area, reason=payload.reason
    )
    return selectors.complaint_get(user, complaint_id)


@router.post(
    "/complaints/{complaint_id}/comment",
    response=responses(200, ComplaintDetailOut),
    summary="Add a comment (handlers, or the complainant on their own open case)",
)
def complaint_comment(request: HttpRequest, complaint_id: int, payload: NoteIn) -> Any:
    user, complaint = _case(request, complaint_id)
    services.complaint_comment(actor=user, complaint=complaint, note=payload.note)
    return selectors.complaint_get(user, complaint_id)
