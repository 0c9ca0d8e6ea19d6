"""Personal pension accounts: a person's statement, contribution record, gaps,
back-payment quotes and pension estimate; yearly interest for an area (staff).

Reads are open to the area's contributions officers, administrators and
auditors (each read is logged) and to the person themselves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from shebao.accounts.models import User
from shebao.api.registry import responses
from shebao.contributions import personal
from shebao.contributions.rules import RetirementScheme
from shebao.registry import selectors as registry_selectors

router = Router(tags=["accounts"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- schemas ---------------------------------------------------------------


class EntryOut(Schema):
    kind: str = Field(description="contribution, interest or reversal")
    period: dt.date | None = Field(None, description="The contribution month")
    year: int | None = Field(None, description="The interest year")
    amount: Decimal
    created_at: dt.datetime


class StatementOut(Schema):
    person: int = Field(alias="person_id")
    year: int
    balance: Decimal
    credited_this_year: Decimal = Field(
        description="Contributions for the year's months and the year's interest"
    )
    cumulative_contributions: Decimal
    cumulative_interest: Decimal
    entries: list[EntryOut]


class InsuranceRecordOut(Schema):
    insurance: str
    months: list[dt.date]
    count: int
    years: Decimal = Field(description="count / 12, two places, rounded down")


class RecordOut(Schema):
    person: int = Field(alias="person_id")
    insurances: list[InsuranceRecordOut]


class GapOut(Schema):
    month: dt.date
    billed: bool = Field(description="Billed but not paid in full; false: never billed")


class GapsQuery(Schema):
    since: dt.date = Field(description="First month, e.g. 2024-01-01")
    until: dt.date = Field(description="Last month, included")


class QuoteLineOut(Schema):
    insurance: str
    employer: Decimal
    individual: Decimal


class BillQuoteOut(Schema):
    bill: int = Field(alias="bill_id")
    due_on: dt.date
    overdue_days: int
    principal: Decimal
    late_fee: Decimal
    lines: list[QuoteLineOut]
    flexible: bool = Field(description="`bill` is the person's own month as a flexible worker")


class QuoteOut(Schema):
    person: int = Field(alias="person_id")
    month: dt.date
    on: dt.date
    billed: bool = Field(description="False: never billed, declare the month first")
    principal: Decimal
    late_fee: Decimal
    total: Decimal
    late_fee_daily_rate: Decimal | None
    bills: list[BillQuoteOut]
    note: str


class QuoteQuery(Schema):
    month: dt.date = Field(description="The gap month, e.g. 2024-03-01")
    on: dt.date | None = Field(None, description="The day of payment; today by default")


class EstimateQuery(Schema):
    scheme: RetirementScheme | None = Field(
        None, description="man, woman_55 or woman_50; by default man or woman_55 by sex"
    )
    on: dt.date | None = Field(None, description="The day of the estimate; today by default")
    indexed_wage_ratio: Decimal = Field(
        Decimal(1), ge=0, le=3, description="Own indexed average wage / area average"
    )
    interest_rate: Decimal | None = Field(
        None, ge=0, lt=1, description="Yearly rate; the last announced crediting rate by default"
    )
    monthly_base: Decimal | None = Field(
        None, ge=0, description="Future contribution base; the current base by default"
    )
    continue_contributing: bool = True


class EstimateOut(Schema):
    person: int = Field(alias="person_id")
    on: dt.date
    scheme: str
    retirement_month: dt.date
    retirement_age_years: int
    retirement_age_months: int
    minimum_years: Decimal
    months_contributed: int
    months_projected: int
    years_contributed: Decimal
    years_at_retirement: Decimal
    eligible: bool
    message: str
    area_average_wage: Decimal
    indexed_wage_ratio: Decimal
    monthly_base: Decimal | None
    monthly_individual_pension: Decimal
    interest_rate: Decimal
    current_balance: Decimal
    projected_balance: Decimal
    basic_pension: Decimal | None
    personal_account_pension: Decimal | None
    monthly_pension: Decimal | None
    unemployment_benefit_months: int
    assumptions: list[str]


class InterestIn(Schema):
    year: int = Field(description="A finished year with an announced crediting rate")


class InterestOut(Schema):
    area: str = Field(alias="area_code")
    year: int
    rate: Decimal
    accounts: int
    credited: int
    already_credited: int
    without_interest: int
    total: Decimal
    chunks: int
    message: str


# --- a person's account ----------------------------------------------------


@router.get(
    "/persons/{person_id}/account",
    response=responses(200, StatementOut),
    summary="A person's pension account: balance, credited this year, entries",
)
def statement(request: HttpRequest, person_id: int, year: int | None = None) -> Any:
    return personal.account_statement(actor(request), person_id, year=year)


@router.get(
    "/persons/{person_id}/contributions",
    response=responses(200, RecordOut),
    summary="A person's paid contribution months and years, per insurance",
)
def record(request: HttpRequest, person_id: int) -> Any:
    return personal.contribution_record(actor(request), person_id)


@router.get(
    "/persons/{person_id}/contributions/gaps",
    response=responses(200, list[GapOut]),
    summary="Months without a paid pension contribution",
)
def gaps(request: HttpRequest, person_id: int, query: Query[GapsQuery]) -> Any:
    return personal.contribution_gaps(actor(request), person_id, query.since, query.until)


@router.get(
    "/persons/{person_id}/contributions/quote",
    response=responses(200, QuoteOut),
    summary="What paying back a gap month costs, with its late fee",
)
def quote(request: HttpRequest, person_id: int, query: Query[QuoteQuery]) -> Any:
    return personal.back_payment_quote(
        actor(request), person_id, query.month, query.on or timezone.localdate()
    )


@router.get(
    "/persons/{person_id}/pension-estimate",
    response=responses(200, EstimateOut),
    summary="An estimate of the pension at retirement, with its assumptions",
)
def estimate(request: HttpRequest, person_id: int, query: Query[EstimateQuery]) -> Any:
    return personal.pension_estimate(
        actor(request),
        person_id,
        scheme=query.scheme.value if query.scheme else None,
        on=query.on,
        indexed_wage_ratio=query.indexed_wage_ratio,
        interest_rate=query.interest_rate,
        monthly_base=query.monthly_base,
        continue_contributing=query.continue_contributing,
    )


# --- an area's interest ----------------------------------------------------


@router.post(
    "/areas/{area_code}/interest-credits",
    response=responses(200, InterestOut),
    summary="Credit a year's interest to the area's accounts (re-runnable)",
)
def credit_interest(request: HttpRequest, area_code: str, payload: InterestIn) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, area_code)
    return personal.interest_credit(actor=user, area=area, year=payload.year)
