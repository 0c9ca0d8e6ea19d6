"""REST endpoints: approval of card issuing areas (DOMAIN.md §2).

The area (its administrator) starts an application (initial approval,
re-approval, filing), attaches documents (multipart: `kind` and `file`),
records evidence for the items the system cannot check, and submits; the
live checks of conditions (a)–(e) can be run at any time. The ministry
approves (initial approval assigns the issuer ID), rejects with reasons or
acknowledges a filing, sets extra conditions (e) and reads the overview of
every area. A new card face or file structure (`/areas/{area}/approval-changes`)
stops card production until re-approval. Emergency drills are recorded here
too. Another area's records answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from shebao.accounts.models import User
from shebao.api.paging import page_of, paginate
from shebao.api.registry import ERRORS, PageQuery, acting_area, responses
from shebao.approval import selectors, services
from shebao.approval.models import (
    ApplicationDocument,
    AreaApplication,
    ConditionItem,
    DocumentKind,
    DrillRecord,
    ExtraCondition,
)
from shebao.core.errors import InvalidInput
from shebao.registry import selectors as registry_selectors

router = Router(tags=["area approval"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- schemas -----------------------------------------------------------------------


class DocumentOut(Schema):
    id: int
    application: int = Field(alias="application_id")
    kind: str = Field(
        description="preparation_report, card_face, file_structure, local_rules or other"
    )
    version: int = Field(description="1 for the first file of its kind in the area, then 2, …")
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str = Field(alias="uploaded_by.username")
    uploaded_at: dt.datetime


class ItemOut(Schema):
    id: int
    code: str
    condition: str = Field(description="a, b, c, d or e")
    title: str
    source: str = Field(description="check (the system), manual (the area) or extra (ministry)")
    status: str = Field(description="met, not_met or not_checked")
    evidence: str
    evidence_data: dict[str, Any]
    document: int | None = Field(alias="document_id")
    checked_by: str | None = None
    checked_at: dt.datetime | None

    @staticmethod
    def resolve_title(obj: ConditionItem) -> str:
        return selectors.item_title(obj)

    @staticmethod
    def resolve_checked_by(obj: ConditionItem) -> str | None:
        return obj.checked_by.username if obj.checked_by else None


class ApplicationOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    kind: str = Field(description="initial, reapproval or filing")
    status: str = Field(
        description="draft, submitted, approved (filing: acknowledged), rejected or withdrawn"
    )
    vendor: str
    added_volume: int | None
    note: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    reasons: str
    override_reason: str
    issuer_id: str


class ApplicationDetailOut(ApplicationOut):
    documents: list[DocumentOut]
    items: list[ItemOut]

    @staticmethod
    def resolve_documents(obj: AreaApplication) -> list[ApplicationDocument]:
        return list(obj.documents.select_related("uploaded_by").order_by("kind", "-version"))

    @staticmethod
    def resolve_items(obj: AreaApplication) -> list[ConditionItem]:
        return list(obj.items.select_related("checked_by").order_by("condition", "code"))


class ApplicationIn(Schema):
    area: str | None = Field(None, description="Area code (default: the caller's area)")
    kind: str = Field(description="initial, reapproval or filing")
    vendor: str = Field("", description="Initial: the card vendor; filing: the new vendor")
    added_volume: int | None = Field(None, description="Filing: cards added to the plan")
    note: str = ""


class ApplicationQuery(PageQuery):
    status: str | None = None
    kind: str | None = None
    area: str | None = None


class EvidenceIn(Schema):
    status: str = Field(description="met or not_met")
    evidence: str = ""
    document: int | None = Field(None, description="A document of the area, as evidence")


class DecisionIn(Schema):
    issuer_id: str = Field("", description="Initial approval: the issuer ID assigned")
    reasons: str = ""
    override_reason: str = Field(
        "", description="Approve although items are not met, for this reason (audited)"
    )


class RejectIn(Schema):
    reasons: str


class CheckOut(Schema):
    code: str
    condition: str
    title: str
    ok: bool
    detail: str
    evidence: dict[str, Any]


class HoldOut(Schema):
    id: int
    document: int = Field(alias="document_id")
    raised_at: dt.datetime


class ApprovalStateOut(Schema):
    area: str
    status: str = Field(description="The area's status: preparing, approved or suspended")
    issuer_id: str | None
    may_produce: bool = Field(description="Approved and no change waits for re-approval")
    reapproval_required: bool
    holds: list[HoldOut]
    filed_vendors: list[str]
    open_application: int | None
    checks: list[CheckOut] = Field(description="Every registered check, run now")


class AreaFiguresOut(Schema):
    area: str
    name: str
    status: str
    issuer_id: str | None
    reapproval_required: bool
    application: int | None = Field(description="The area's newest approval application")
    application_status: str | None
    conditions_met: int
    conditions_total: int
    cards_held: int = Field(description="Cards issued, active, temporarily lost or PIN-locked")
    persons: int = Field(description="Insured persons")
    arrears_cents: int = Field(description="Contributions overdue and unpaid (no late fees)")
    arrears_employers: int


class OverviewOut(Schema):
    on: dt.date
    areas: list[AreaFiguresOut]
    totals: dict[str, int]


class DrillOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    kind: str = Field(description="backup_restore, read_only or mass_freeze")
    done_at: dt.datetime
    by: str = Field(alias="by.username")
    outcome: str = Field(description="passed or failed")
    evidence: str


class DrillIn(Schema):
    area: str | None = Field(None, description="Area code (default: the caller's area)")
    kind: str
    done_at: dt.datetime
    outcome: str
    evidence: str


class ExtraConditionOut(Schema):
    id: int
    title: str
    description: str
    all_areas: bool
    areas: list[str]
    active: bool

    @staticmethod
    def resolve_areas(obj: ExtraCondition) -> list[str]:
        return sorted(area.code for area in obj.areas.all())


class ExtraConditionIn(Schema):
    title: str
    description: str = ""
    areas: list[str] = Field(default_factory=list, description="Empty: every area")


class ExtraConditionPatch(Schema):
    active: bool


# --- applications ------------------------------------------------------------------------


@router.get(
    "/area-applications",
    response=responses(200, page_of(ApplicationOut)),
    summary="List area applications (the ministry: every area's)",
)
def application_list(request: HttpRequest, query: Query[ApplicationQuery]) -> Any:
    rows = selectors.applications_for(actor(request))
    for name in ("status", "kind", "area"):
        value = getattr(query, name)
        if value:
            rows = rows.filter(**{"area_id" if name == "area" else name: value})
    return paginate(rows.order_by("-created_at", "-pk"), query.page, query.page_size)


@router.post(
    "/area-applications",
    response=responses(201, ApplicationDetailOut),
    summary="Start an application: initial approval, re-approval or filing",
)
def application_create(request: HttpRequest, payload: ApplicationIn) -> Any:
    area = acting_area(request, payload.area)
    application = services.application_create(
        actor=actor(request),
        area=area,
        kind=payload.kind,
        vendor=payload.vendor,
        added_volume=payload.added_volume,
        note=payload.note,
    )
    return Status(201, application)


@router.get(
    "/area-applications/{application_id}",
    response=responses(200, ApplicationDetailOut),
    summary="One application with its documents and checklist",
)
def application_detail(request: HttpRequest, application_id: int) -> AreaApplication:
    return selectors.application_get(actor(request), application_id)


@router.post(
    "/area-applications/{application_id}/documents",
    response=responses(201, DocumentOut),
    summary="Attach a document (multipart: kind, file); a new upload is the next version",
)
def document_upload(
    request: HttpRequest, application_id: int, kind: Form[str], file: File[UploadedFile]
) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    document = services.document_upload(
        actor=user,
        application=application,
        kind=kind,
        name=file.name or "document",
        data=file.read(),
        content_type=file.content_type or "",
    )
    return Status(201, document)


@router.get(
    "/area-documents/{document_id}",
    response=ERRORS,
    summary="Download a document",
    openapi_extra={"responses": {"200": {"description": "The file as uploaded"}}},
)
def document_download(request: HttpRequest, document_id: int) -> FileResponse:
    document = selectors.document_get(actor(request), document_id)
    path = services.document_path(document)
    if not path.exists():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type or "application/octet-stream",
    )


@router.post(
    "/area-applications/{application_id}/items/{item_id}",
    response=responses(200, ItemOut),
    summary="Record the evidence of an item the system does not check",
)
def item_record(
    request: HttpRequest, application_id: int, item_id: int, payload: EvidenceIn
) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    item = selectors.item_get(user, application, item_id)
    document = None
    if payload.document is not None:
        document = selectors.document_get(user, payload.document)
    return services.item_record(
        actor=user,
        item=item,
        status=payload.status,
        evidence=payload.evidence,
        document=document,
    )


@router.post(
    "/area-applications/{application_id}/submit",
    response=responses(200, ApplicationDetailOut),
    summary="Submit to the ministry; the live checks are recorded",
)
def application_submit(request: HttpRequest, application_id: int) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    return services.application_submit(actor=user, application=application)


@router.post(
    "/area-applications/{application_id}/withdraw",
    response=responses(200, ApplicationDetailOut),
    summary="Withdraw an application (a change it carries is abandoned)",
)
def application_withdraw(request: HttpRequest, application_id: int) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    return services.application_withdraw(actor=user, application=application)


@router.post(
    "/area-applications/{application_id}/approve",
    response=responses(200, ApplicationDetailOut),
    summary="The ministry approves; refused while items are not met, unless overridden",
)
def application_approve(request: HttpRequest, application_id: int, payload: DecisionIn) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    return services.application_approve(
        actor=user,
        application=application,
        issuer_id=payload.issuer_id,
        reasons=payload.reasons,
        override_reason=payload.override_reason,
    )


@router.post(
    "/area-applications/{application_id}/reject",
    response=responses(200, ApplicationDetailOut),
    summary="The ministry rejects, with its reasons",
)
def application_reject(request: HttpRequest, application_id: int, payload: RejectIn) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    return services.application_reject(actor=user, application=application, reasons=payload.reasons)


@router.post(
    "/area-applications/{application_id}/acknowledge",
    response=responses(200, ApplicationDetailOut),
    summary="The ministry acknowledges a filing",
)
def filing_acknowledge(request: HttpRequest, application_id: int, payload: DecisionIn) -> Any:
    user = actor(request)
    application = selectors.application_get(user, application_id)
    return services.filing_acknowledge(actor=user, application=application, reasons=payload.reasons)


# --- an area ---------------------------------------------------------------------------


@router.get(
    "/areas/{area}/approval",
    response=responses(200, ApprovalStateOut),
    summary="The area's approval state and every check run now",
)
def approval_state(request: HttpRequest, area: str) -> Any:
    user = actor(request)
    found = registry_selectors.area_get(user, area)
    state = selectors.approval_state(user, found)
    return {
        "area": found.code,
        "status": found.status,
        "issuer_id": found.issuer_id,
        "may_produce": state.may_produce,
        "reapproval_required": state.reapproval_required,
        "holds": state.holds,
        "filed_vendors": state.filed_vendors,
        "open_application": state.open_application.pk if state.open_application else None,
        "checks": [
            {
                "code": check.code,
                "condition": check.condition,
                "title": check.title,
                "ok": check.result.ok,
                "detail": check.result.detail,
                "evidence": check.result.evidence,
            }
            for check in selectors.area_checks(user, found)
        ],
    }


CHANGES = {
    DocumentKind.CARD_FACE.value: services.area_change_card_face,
    DocumentKind.FILE_STRUCTURE.value: services.area_change_file_structure,
}


@router.post(
    "/areas/{area}/approval-changes",
    response=responses(201, DocumentOut),
    summary="A new card face or file structure after approval (multipart: kind, file); "
    "card production stops until re-approval",
)
def area_change(request: HttpRequest, area: str, kind: Form[str], file: File[UploadedFile]) -> Any:
    user = actor(request)
    found = registry_selectors.area_get(user, area)
    if kind not in CHANGES:
        raise InvalidInput(
            _("What changed is card_face or file_structure, not %(kind)s."),
            code="invalid_choice",
            field="kind",
            params={"kind": kind},
        )
    document = CHANGES[kind](
        actor=user,
        area=found,
        name=file.name or "document",
        data=file.read(),
        content_type=file.content_type or "",
    )
    return Status(201, document)


@router.get(
    "/approval-overview",
    response=responses(200, OverviewOut),
    summary="The ministry's overview: every area's approval and figures, national totals",
)
def overview(request: HttpRequest) -> Any:
    found = selectors.ministry_overview(actor(request))
    return {
        "on": found.on,
        "areas": [
            {
                "area": row.area.code,
                "name": row.area.name,
                "status": row.area.status,
                "issuer_id": row.area.issuer_id,
                "reapproval_required": row.reapproval_required,
                "application": row.application.pk if row.application else None,
                "application_status": row.application.status if row.application else None,
                "conditions_met": row.conditions_met,
                "conditions_total": row.conditions_total,
                "cards_held": row.cards_held,
                "persons": row.persons,
                "arrears_cents": row.arrears_cents,
                "arrears_employers": row.arrears_employers,
            }
            for row in found.areas
        ],
        "totals": found.totals,
    }


# --- drills and extra conditions ------------------------------------------------------------


@router.get(
    "/drills", response=responses(200, page_of(DrillOut)), summary="Emergency drills recorded"
)
def drill_list(request: HttpRequest, query: Query[PageQuery]) -> Any:
    return paginate(selectors.drills_for(actor(request)), query.page, query.page_size)


@router.post("/drills", response=responses(201, DrillOut), summary="Record an emergency drill")
def drill_record(request: HttpRequest, payload: DrillIn) -> Any:
    area = acting_area(request, payload.area)
    drill: DrillRecord = services.drill_record(
        actor=actor(request),
        area=area,
        kind=payload.kind,
        done_at=payload.done_at,
        outcome=payload.outcome,
        evidence=payload.evidence,
    )
    return Status(201, drill)


@router.get(
    "/extra-conditions",
    response=responses(200, list[ExtraConditionOut]),
    summary="The ministry's extra conditions (an area: those that apply to it)",
)
def extra_condition_list(request: HttpRequest) -> Any:
    return list(selectors.extra_conditions_for(actor(request)).order_by("pk"))


@router.post(
    "/extra-conditions",
    response=responses(201, ExtraConditionOut),
    summary="Set an extra condition (e) for every area or those listed",
)
def extra_condition_create(request: HttpRequest, payload: ExtraConditionIn) -> Any:
    condition = services.extra_condition_create(
        actor=actor(request),
        title=payload.title,
        description=payload.description,
        area_codes=payload.areas,
    )
    return Status(201, condition)


@router.patch(
    "/extra-conditions/{condition_id}",
    response=responses(200, ExtraConditionOut),
    summary="Switch an extra condition on or off",
)
def extra_condition_update(
    request: HttpRequest, condition_id: int, payload: ExtraConditionPatch
) -> Any:
    user = actor(request)
    condition = selectors.extra_condition_get(user, condition_id)
    return services.extra_condition_set_active(
        actor=user, condition=condition, active=payload.active
    )
