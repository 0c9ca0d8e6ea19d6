"""Wage declarations (SIL art. 60): the template, file uploads with row-by-row
results, single lines and corrections."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from shebao.accounts.models import User
from shebao.api.files import uploaded_stream
from shebao.api.paging import page_of, paginate
from shebao.api.registry import responses
from shebao.contributions import declarations, selectors
from shebao.registry import selectors as registry_selectors
from shebao.registry.identifiers import mask_identity_number

router = Router(tags=["declarations"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


class UploadOut(Schema):
    id: int
    employer: int = Field(alias="employer_id")
    period: dt.date
    filename: str
    sha256: str
    status: str = Field(description="running, done or failed")
    rows_read: int
    rows_accepted: int
    rows_unchanged: int = Field(description="Already declared with the same wage")
    rows_rejected: int
    errors: list[dict[str, Any]] = Field(
        description="Refused rows: line, id_number (masked), field, code, message"
    )


class LineOut(Schema):
    id: int
    employer: int = Field(alias="employer_id")
    person: int = Field(alias="person_id")
    id_number: str = Field(description="Masked")
    period: dt.date
    kind: str = Field(description="declared, or reversal of an earlier line")
    wage: Decimal
    reverses: int | None = Field(None, alias="reverses_id")
    source: str
    created_at: dt.datetime

    @staticmethod
    def resolve_id_number(obj: Any) -> str:
        return mask_identity_number(obj.person.id_number)


class LineIn(Schema):
    employer: int
    person: int
    period: dt.date = Field(description="First day of the month, e.g. 2026-10-01")
    wage: Decimal = Field(ge=0)


class CorrectIn(Schema):
    wage: Decimal = Field(ge=0)
    reason: str


class LineQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)
    employer: int | None = None
    person: int | None = None
    period: dt.date | None = None


@router.get(
    "/declarations/template", response={200: None}, summary="The declaration file template (CSV)"
)
def template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(declarations.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="declaration-template.csv"'
    return response


@router.post(
    "/declarations/uploads",
    response=responses(201, UploadOut),
    summary="Upload a month's declaration file (CSV or XLSX); results row by row",
)
def upload(
    request: HttpRequest, employer: Form[int], period: Form[dt.date], file: File[UploadedFile]
) -> Any:
    user = actor(request)
    found = registry_selectors.employer_get(user, employer)
    stream = uploaded_stream(file)
    result = declarations.declaration_import(
        actor=user,
        employer=found,
        period=period,
        stream=stream,
        filename=file.name or "upload.csv",
    )
    return Status(201, result)


@router.get(
    "/declarations/uploads/{upload_id}",
    response=responses(200, UploadOut),
    summary="An upload's progress and results",
)
def upload_detail(request: HttpRequest, upload_id: int) -> Any:
    return selectors.upload_get(actor(request), upload_id)


@router.get(
    "/declarations/uploads/{upload_id}/errors.csv",
    response={200: None},
    summary="The refused rows of an upload as a CSV file",
)
def upload_errors(request: HttpRequest, upload_id: int) -> HttpResponse:
    found = selectors.upload_get(actor(request), upload_id)
    response = HttpResponse(declarations.errors_csv(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="declaration-{found.pk}-errors.csv"'
    return response


@router.get(
    "/declarations",
    response=responses(200, page_of(LineOut)),
    summary="Declaration lines (declared and reversals)",
)
def line_list(request: HttpRequest, query: Query[LineQuery]) -> Any:
    rows = selectors.lines_for(actor(request))
    if query.employer is not None:
        rows = rows.filter(employer_id=query.employer)
    if query.person is not None:
        rows = rows.filter(person_id=query.person)
    if query.period is not None:
        rows = rows.filter(period=query.period)
    return paginate(rows.order_by("area_id", "-period", "pk"), query.page, query.page_size)


@router.post(
    "/declarations",
    response=responses(201, LineOut),
    summary="Declare one employee's wage for one month",
)
def line_create(request: HttpRequest, payload: LineIn) -> Any:
    user = actor(request)
    employer = registry_selectors.employer_get(user, payload.employer)
    person = registry_selectors.person_get(user, payload.person, purpose="declaration.declare")
    return Status(
        201,
        declarations.declaration_declare(
            actor=user, employer=employer, person=person, period=payload.period, wage=payload.wage
        ),
    )


@router.post(
    "/declarations/{line_id}/correct",
    response=responses(201, LineOut),
    summary="Correct a declared wage: a reversal plus a new line",
)
def line_correct(request: HttpRequest, line_id: int, payload: CorrectIn) -> Any:
    user = actor(request)
    line = selectors.line_get(user, line_id)
    return Status(
        201,
        declarations.declaration_correct(
            actor=user, line=line, wage=payload.wage, reason=payload.reason
        ),
    )
