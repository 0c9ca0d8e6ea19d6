"""REST endpoints of the employer portal: an employer's employees with the
months declared for them, and the monthly detail it owes each employee (SIL
art. 60) — paged JSON, or the whole company as one streamed CSV file.

An employer user reads its own employer; area staff an employer of their
area (the detail: those who read bills). Identity numbers are masked;
amounts are CNY with two decimals (the database keeps integer cents).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from shebao.api.paging import page_of
from shebao.api.registry import PageQuery, actor, responses
from shebao.contributions import employer_detail
from shebao.contributions.employer_detail import EmployeeMonth, MonthDetail
from shebao.contributions.payments import money_of
from shebao.registry import selectors as registry_selectors

router = Router(tags=["employer portal"])

MONEY = "CNY, two decimals"


# --- schemas -------------------------------------------------------------------------


class DeclaredMonthOut(Schema):
    period: dt.date
    wage: Decimal = Field(description="The wage declared (" + MONEY + ")")


class EmployeeOut(Schema):
    employment: int
    person: int
    name: str
    id_number: str = Field(description="Masked")
    start_date: dt.date
    end_date: dt.date | None
    end_reason: str
    registered_on: dt.date
    late_registration: bool = Field(description="Registered over 30 days late (SIL art. 58)")
    current: bool = Field(description="Employed today")
    months_declared: int
    months: list[DeclaredMonthOut] = Field(description="The months declared, newest first")


class EmployeeQuery(PageQuery):
    q: str | None = Field(None, max_length=100, description="Part of the name")
    state: Literal["current", "ended"] | None = Field(None, description="Both if absent")


class ShareOut(Schema):
    insurance: str
    employer: Decimal = Field(description="The employer's share")
    individual: Decimal = Field(description="The employee's share, withheld from the wage")


class EmployeeMonthOut(Schema):
    person: int
    name: str
    id_number: str = Field(description="Masked")
    base: Decimal = Field(description="Contribution base; 0 for a month assessed (art. 62)")
    assessed: bool = Field(description="No declaration: 110% of the month before (SIL art. 62)")
    insurances: list[ShareOut]
    employer_total: Decimal
    withheld: Decimal = Field(description="The individual share withheld from the wage (art. 60)")
    total: Decimal
    paid: bool = Field(description="The month's whole bill is paid")
    paid_on: dt.date | None


class MonthDetailPage(Schema):
    employer: int
    period: dt.date
    bill: int | None = Field(description="The month's bill; null before the billing run")
    paid: bool
    paid_on: dt.date | None
    items: list[EmployeeMonthOut]
    count: int
    page: int
    pages: int


class DetailQuery(PageQuery):
    period: dt.date = Field(description="The month (its first day)")


class DetailFileQuery(Schema):
    period: dt.date = Field(description="The month (its first day)")


# --- helpers -------------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def _employee_month(employee: EmployeeMonth) -> dict[str, Any]:
    return {
        "person": employee.person_id,
        "name": employee.name,
        "id_number": employee.id_number,
        "base": money_of(employee.base_cents),
        "assessed": employee.assessed,
        "insurances": [
            {
                "insurance": share.insurance,
                "employer": money_of(share.employer_cents),
                "individual": money_of(share.individual_cents),
            }
            for share in employee.shares
        ],
        "employer_total": money_of(employee.employer_cents),
        "withheld": money_of(employee.withheld_cents),
        "total": money_of(employee.total_cents),
        "paid": employee.paid,
        "paid_on": employee.paid_on,
    }


def _detail(request: HttpRequest, employer_id: int, period: dt.date) -> MonthDetail:
    user = actor(request)
    employer = registry_selectors.employer_get(user, employer_id)
    return employer_detail.month_detail(user, employer, period, _today())


# --- endpoints -------------------------------------------------------------------------------


@router.get(
    "/employers/{employer_id}/employees",
    response=responses(200, page_of(EmployeeOut)),
    summary="An employer's employees, current and ended, with the months declared",
)
def employee_list(request: HttpRequest, employer_id: int, query: Query[EmployeeQuery]) -> Any:
    user = actor(request)
    employer = registry_selectors.employer_get(user, employer_id)
    today = _today()
    found = employer_detail.employments(
        user, employer, today, name=query.q or "", state=query.state or ""
    )
    size = query.page_size
    count = found.count()
    start = (query.page - 1) * size
    rows = employer_detail.employee_rows(user, employer, found[start : start + size], today)
    return {
        "items": [
            {
                "employment": row.employment.pk,
                "person": row.employment.person_id,
                "name": row.employment.person.name,
                "id_number": row.id_number,
                "start_date": row.employment.start_date,
                "end_date": row.employment.end_date,
                "end_reason": row.employment.end_reason,
                "registered_on": row.employment.registered_on,
                "late_registration": row.employment.late_registration,
                "current": row.current,
                "months_declared": row.months_declared,
                "months": [
                    {"period": month.period, "wage": money_of(month.wage_cents)}
                    for month in row.months
                ],
            }
            for row in rows
        ],
        "count": count,
        "page": query.page,
        "pages": max(1, math.ceil(count / size)),
    }


@router.get(
    "/employers/{employer_id}/monthly-detail",
    response=responses(200, MonthDetailPage),
    summary="The month's detail for each employee (SIL art. 60), paged",
)
def monthly_detail(request: HttpRequest, employer_id: int, query: Query[DetailQuery]) -> Any:
    detail = _detail(request, employer_id, query.period)
    page, employees = detail.page(query.page, query.page_size)
    return {
        "employer": detail.employer.pk,
        "period": detail.period,
        "bill": detail.bill.pk if detail.bill is not None else None,
        "paid": detail.paid,
        "paid_on": detail.paid_on,
        "items": [_employee_month(employee) for employee in employees],
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


@router.get(
    "/employers/{employer_id}/monthly-detail.csv",
    response={200: None},
    summary="The month's detail for the whole company as a CSV file (streamed)",
    openapi_extra={
        "responses": {"200": {"description": "One row per employee", "content": {"text/csv": {}}}}
    },
)
def monthly_detail_csv(
    request: HttpRequest, employer_id: int, query: Query[DetailFileQuery]
) -> StreamingHttpResponse:
    detail = _detail(request, employer_id, query.period)
    response = StreamingHttpResponse(
        (piece.encode() for piece in employer_detail.detail_csv(detail)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="monthly-detail-{detail.employer.pk}-{detail.period:%Y-%m}.csv"'
    )
    return response
