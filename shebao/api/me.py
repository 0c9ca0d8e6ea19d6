"""The insured person's own records (SIL arts. 4, 74): their contribution history
by year, their personal account and their pension estimate — free of charge.

Only for an individual's session or token; every other caller is refused
(anonymous 401, anyone else 403), and no person key is taken, so a person can
only ever read their own.

The history's JSON is kept in the history cache (`inquiry.cache`): a person's
app asks for it again and again, and validating and rendering thousands of
nested values each time costs far more than the one query that checks the
kept answer is still that of the records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.renderers import JSONRenderer

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.api.accounts import EstimateOut, EstimateQuery, StatementOut
from shebao.api.registry import responses
from shebao.contributions import personal
from shebao.contributions.payments import money_of
from shebao.core.errors import Forbidden
from shebao.inquiry.cache import history_cached
from shebao.inquiry.history import (
    History,
    HistoryMonth,
    InsuranceMonth,
    Payer,
    person_history_year,
)

router = Router(tags=["me"])
# The API's renderer (NinjaAPI's default), for the JSON kept in the cache.
RENDERER = JSONRenderer()
JSON_TYPE = f"{RENDERER.media_type}; charset={RENDERER.charset}"


def person_of(request: HttpRequest) -> tuple[User, int]:
    """The calling individual and their person key; anyone else is refused."""
    user: User = request.user  # type: ignore[assignment]
    if user.role != Role.INDIVIDUAL or not user.person_id or not user.is_active:
        raise Forbidden(
            _("Only an insured person, signed in with their own account, reads these records.")
        )
    return user, user.person_id


# --- schemas ---------------------------------------------------------------


class InsuranceOut(Schema):
    insurance: str
    base: Decimal
    employer: Decimal = Field(description="The employer's share (0 for a flexible worker)")
    individual: Decimal = Field(description="The person's own share")


class PayerOut(Schema):
    employer: int | None = Field(description="The employer's key; null: the person paid themself")
    name: str
    due_on: dt.date
    status: str = Field(description="paid, part, assessed or unpaid")
    assessed: bool = Field(description="No declaration: 110% of the month before (SIL art. 62)")
    insurances: list[InsuranceOut]


class MonthOut(Schema):
    period: dt.date
    status: str = Field(description="paid, part (partly paid), assessed or unpaid")
    assessed: bool
    overdue: bool = Field(description="Not paid and past the due day")
    withheld_unpaid: bool = Field(
        description="The employer withheld the person's share and has not paid it (art. 60)"
    )
    base: Decimal = Field(description="The pension base of the month")
    employer: Decimal
    individual: Decimal
    insurances: list[InsuranceOut] = Field(description="Each insurance, summed over the payers")
    payers: list[PayerOut]


class HistoryPage(Schema):
    year: int | None = Field(description="The year of this page; null past the last page")
    years: list[int] = Field(description="Every year with a billed month, newest first")
    page: int
    pages: int
    count: int = Field(description="Months on this page")
    items: list[MonthOut] = Field(description="The months of the year, newest first")


class HistoryQuery(Schema):
    page: int = Field(1, ge=1, description="1: the latest year with contributions")


def _insurance(item: InsuranceMonth) -> dict[str, Any]:
    return {
        "insurance": item.insurance,
        "base": money_of(item.base_cents),
        "employer": money_of(item.employer_cents),
        "individual": money_of(item.individual_cents),
    }


def _payer(payer: Payer) -> dict[str, Any]:
    return {
        "employer": payer.employer_id,
        "name": payer.employer_name,
        "due_on": payer.due_on,
        "status": payer.status,
        "assessed": payer.assessed,
        "insurances": [_insurance(i) for i in payer.insurances],
    }


def _month(month: HistoryMonth) -> dict[str, Any]:
    return {
        "period": month.period,
        "status": month.status,
        "assessed": month.assessed,
        "overdue": month.overdue,
        "withheld_unpaid": month.withheld_unpaid,
        "base": money_of(month.base_cents),
        "employer": money_of(month.employer_cents),
        "individual": money_of(month.individual_cents),
        "insurances": [_insurance(i) for i in month.insurances],
        "payers": [_payer(p) for p in month.payers],
    }


# --- operations ------------------------------------------------------------


@router.get(
    "/me/contributions",
    response=responses(200, HistoryPage),
    summary="My contribution history, one year a page, latest first",
)
def contributions(request: HttpRequest, query: Query[HistoryQuery]) -> Any:
    user, person = person_of(request)

    def build() -> tuple[bytes, History]:
        history = person_history_year(user, person, page=query.page)
        shown = HistoryPage.model_validate(
            {
                "year": history.year,
                "years": history.years,
                "page": query.page,
                "pages": max(len(history.years), 1),
                "count": len(history.months),
                "items": [_month(m) for m in history.months],
            }
        )
        content = RENDERER.render(request, shown.model_dump(), response_status=200)
        return content.encode(), history

    content = history_cached(user, f"api:{query.page}", build)
    return HttpResponse(content, content_type=JSON_TYPE)


@router.get(
    "/me/account",
    response=responses(200, StatementOut),
    summary="My pension account: balance, credited this year, entries",
)
def account(request: HttpRequest, year: int | None = None) -> Any:
    user, person = person_of(request)
    return personal.account_statement(user, person, year=year)


@router.get(
    "/me/pension-estimate",
    response=responses(200, EstimateOut),
    summary="An estimate of my pension, with its assumptions, and my unemployment benefit",
)
def pension_estimate(request: HttpRequest, query: Query[EstimateQuery]) -> Any:
    user, person = person_of(request)
    return personal.pension_estimate(
        user,
        person,
        scheme=query.scheme.value if query.scheme else None,
        on=query.on,
        indexed_wage_ratio=query.indexed_wage_ratio,
        interest_rate=query.interest_rate,
        monthly_base=query.monthly_base,
        continue_contributing=query.continue_contributing,
    )
