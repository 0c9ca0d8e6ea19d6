"""REST endpoints: personal rights record statements.

The holder lists their statements, asks for one as of today, downloads its
PDF and chooses what the verify page shows; staff who read statements list
and open their area's (each opening logged), the contributions officer makes
one at the counter and starts the area's yearly batch (a background job).

The two verify endpoints are public, without authentication, on purpose:
whoever is shown a statement must be able to check it, and the answer shows
only what the holder chose to share. They are rate-limited per address.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from shebao.accounts.roles import can
from shebao.api.files import uploaded_stream
from shebao.api.jobs import JobOut
from shebao.api.paging import page_of, paginate
from shebao.api.registry import ErrorOut, PageQuery, actor, responses
from shebao.core.errors import Conflict, InvalidInput
from shebao.inquiry import pdf, selectors, services
from shebao.inquiry.models import Statement
from shebao.inquiry.statements import SHAREABLE, display_code, parse
from shebao.jobs import selectors as job_selectors
from shebao.jobs.services import job_submit
from shebao.registry import selectors as registry_selectors

router = Router(tags=["statements"])


class StatementOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    person: int = Field(alias="person_id")
    kind: str = Field(description="yearly or on_request")
    year: int
    as_of: dt.date = Field(description="The day the figures are as of")
    code: str = Field(description="The public verification code, e.g. ABCD-EFGH-JKLM-NPQR")
    digest: str = Field(description="SHA-256 of the canonical content, hex")
    shared_fields: list[str] = Field(description="What the public verify page shows")
    created_at: dt.datetime

    @staticmethod
    def resolve_code(obj: Statement) -> str:
        return display_code(obj.code)


class StatementDetailOut(StatementOut):
    content: dict[str, Any] = Field(description="The statement's content, as signed")
    canonical: str = Field(description="The exact text that was signed (UTF-8)")
    signature: str = Field(description="Ed25519 signature of `canonical`, standard base64")
    key_id: str = Field(alias="key.key_id", description="The area key that signed it")

    @staticmethod
    def resolve_content(obj: Statement) -> dict[str, Any]:
        return parse(obj.canonical)

    @staticmethod
    def resolve_signature(obj: Statement) -> str:
        return base64.b64encode(bytes(obj.signature)).decode("ascii")


class StatementQuery(PageQuery):
    person: int | None = Field(None, description="Only this person's statements (staff)")


class RequestIn(Schema):
    person: int | None = Field(
        None, description="The person (staff at the counter); the holder leaves it out"
    )


class ShareIn(Schema):
    fields: list[str] = Field(description="Any of: " + ", ".join(SHAREABLE))


class SharedOut(Schema):
    area: dict[str, str]
    kind: str
    year: int
    as_of: str
    issued_at: str
    name: str = Field(description="Masked unless the holder shares the full name")
    id_number: str = Field(description="Always masked")
    totals: dict[str, Any] | None = None
    employers: list[dict[str, Any]] | None = None
    contribution_years: list[dict[str, Any]] | None = None
    account: dict[str, Any] | None = None
    eligibility: dict[str, Any] | None = None
    arrears: dict[str, Any] | None = None
    months: list[dict[str, Any]] | None = None


class VerificationOut(Schema):
    genuine: bool
    reason: str = Field(
        description="ok, or why not: unknown_code, record_altered, pdf_unreadable, "
        "pdf_without_statement, pdf_altered, pdf_not_on_record"
    )
    message: str
    code: str | None = None
    shared: SharedOut | None = Field(None, description="What the holder shares; only if genuine")

    @staticmethod
    def resolve_shared(obj: selectors.Verification) -> dict[str, Any] | None:
        return obj.shared or None

    @staticmethod
    def resolve_code(obj: selectors.Verification) -> str | None:
        return display_code(obj.code) if obj.code else None


class BatchOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    year: int
    total: int = Field(description="Persons of the area registered by the end of the year")
    done: int = Field(description="Of them, those who have the year's statement")
    status: str = Field(description="running, done or failed")
    error: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


class BatchIn(Schema):
    year: int = Field(description="A year that has ended")
    area: str | None = Field(None, description="By default the caller's area")


def _public(ok: type[Schema]) -> dict[int, Any]:
    return {200: ok, 422: ErrorOut, 429: ErrorOut}


# --- public (first, so "/statements/verify" is not taken for a statement id) ------


@router.get(
    "/statements/verify/{code}",
    auth=None,
    response=_public(VerificationOut),
    summary="Check a statement's verification code (public, no sign-in; shows only what "
    "the holder shares; rate-limited)",
)
def verify_code(request: HttpRequest, code: str) -> Any:
    return selectors.statement_verify(code, address=request.META.get("REMOTE_ADDR"))


@router.post(
    "/statements/verify",
    auth=None,
    response=_public(VerificationOut),
    summary="Check a statement PDF file: its signed content and the record (public, no "
    "sign-in; rate-limited)",
)
def verify_pdf(request: HttpRequest, file: File[UploadedFile]) -> Any:
    stream = uploaded_stream(file)
    data = stream.read(pdf.MAX_UPLOAD_BYTES + 1)
    return selectors.statement_verify_pdf(data, address=request.META.get("REMOTE_ADDR"))


# --- the holder and staff -------------------------------------------------------------


@router.get(
    "/statements",
    response=responses(200, page_of(StatementOut)),
    summary="Rights record statements: the holder's own, or (staff) the area's",
)
def statement_list(request: HttpRequest, query: Query[StatementQuery]) -> Any:
    rows = selectors.statements_for(actor(request)).order_by("-created_at", "-pk")
    if query.person is not None:
        rows = rows.filter(person_id=query.person)
    return paginate(rows, query.page, query.page_size)


@router.post(
    "/statements",
    response=responses(201, StatementOut),
    summary="A statement as of today, free (holder: their own; staff: a person of the area)",
)
def statement_request(request: HttpRequest, payload: RequestIn) -> Any:
    user = actor(request)
    person_id = payload.person
    if can(user, "statement.own"):
        person_id = person_id or user.person_id
    if person_id is None:
        raise InvalidInput(_("Name the person (their id)."), code="required", field="person")
    person = registry_selectors.person_get(user, person_id, purpose="statement.request")
    return Status(201, services.statement_request(actor=user, person=person))


@router.get(
    "/statements/{statement_id}",
    response=responses(200, StatementDetailOut),
    summary="A statement with its signed content (a reader other than the holder is logged)",
)
def statement_detail(request: HttpRequest, statement_id: int) -> Any:
    return selectors.statement_get(actor(request), statement_id)


@router.put(
    "/statements/{statement_id}/shared-fields",
    response=responses(200, StatementOut),
    summary="Choose what the public verify page shows of my statement (holder)",
)
def statement_share(request: HttpRequest, statement_id: int, payload: ShareIn) -> Any:
    user = actor(request)
    statement = selectors.statement_get(user, statement_id)
    return services.statement_share(actor=user, statement=statement, fields=payload.fields)


@router.get(
    "/statements/{statement_id}/pdf",
    response=responses(200, None),
    summary="The statement as PDF, with its verification code and QR code",
)
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    statement = selectors.statement_get(actor(request), statement_id, purpose="statement.pdf")
    if selectors.stored_reason(statement) != "ok":
        raise Conflict(
            selectors.REASONS["record_altered"], code="record_altered", field="statement"
        )
    data = pdf.render(
        parse(statement.canonical),
        canonical=statement.canonical,
        signature=bytes(statement.signature),
        verify_url=pdf.verify_url(request, statement.code),
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{statement.year}-{statement.code}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


# --- the yearly batch (staff) -------------------------------------------------------------


@router.get(
    "/statement-batches",
    response=responses(200, list[BatchOut]),
    summary="The area's yearly statement batches and their progress (staff)",
)
def batch_list(request: HttpRequest) -> Any:
    return list(selectors.batches_for(actor(request)).order_by("-year"))


@router.post(
    "/statement-batches",
    response=responses(201, JobOut),
    summary="Start (or resume) the area's yearly statement batch as a background job (staff)",
)
def batch_start(request: HttpRequest, payload: BatchIn) -> Any:
    user = actor(request)
    job = job_submit(
        actor=user,
        kind="statement_batch",
        params={"area": payload.area or user.area_id, "year": payload.year},
    )
    return Status(201, job_selectors.job_state(job))
