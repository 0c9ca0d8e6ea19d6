"""REST endpoints: contribution policies, billing runs and bills.

Area staff see their area's policies, runs and bills; an employer user sees
its area's policies and only its own bills; everyone else sees nothing.
Amounts are CNY with two decimals (the database keeps integer cents).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can
from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, actor, responses
from shebao.contributions import billing, services
from shebao.contributions.models import Bill, BillingRun, BillLine, Policy
from shebao.core.errors import NotFound
from shebao.registry import selectors as registry_selectors
from shebao.registry.identifiers import mask_identity_number

router = Router(tags=["billing"])


def _yuan(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


# --- scoping -----------------------------------------------------------------------


def policies_for(user: User) -> QuerySet[Policy]:
    rows = Policy.objects.prefetch_related("rates", "work_injury_rates")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF or user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id)
    return rows.none()


def runs_for(user: User) -> QuerySet[BillingRun]:
    rows = BillingRun.objects.select_related("started_by")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    return rows.none()


def bills_for(user: User) -> QuerySet[Bill]:
    rows = Bill.objects.all()
    if not can(user, "bill.read"):
        return rows.none()
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id, employer_id=user.employer_id or 0)
    return rows.filter(area_id=user.area_id)


# --- schemas -----------------------------------------------------------------------


class RateOut(Schema):
    insurance: str
    employer_rate: Decimal
    individual_rate: Decimal


class WorkInjuryRateOut(Schema):
    risk_class: int
    rate: Decimal


class PolicyOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    valid_from: dt.date
    valid_to: dt.date | None = Field(description="Exclusive; null while in force")
    average_monthly_wage: Decimal
    base_floor_ratio: Decimal
    base_ceiling_ratio: Decimal
    payment_due_day: int
    late_fee_daily_rate: Decimal
    flexible_pension_rate: Decimal
    flexible_account_rate: Decimal
    note: str
    rates: list[RateOut]
    work_injury_rates: list[WorkInjuryRateOut]

    @staticmethod
    def resolve_rates(obj: Policy) -> list[Any]:
        return sorted(obj.rates.all(), key=lambda r: r.insurance)

    @staticmethod
    def resolve_work_injury_rates(obj: Policy) -> list[Any]:
        return sorted(obj.work_injury_rates.all(), key=lambda r: r.risk_class)


class PolicyQuery(PageQuery):
    area: str | None = None


class CurrentPolicyQuery(Schema):
    area: str | None = Field(None, description="Defaults to the caller's area")
    period: dt.date = Field(description="First day of the month")


class PolicyIn(Schema):
    area: str
    valid_from: dt.date = Field(description="First day of a month")
    average_monthly_wage: Decimal = Field(gt=0)
    rates: dict[str, tuple[Decimal, Decimal]] = Field(
        description="insurance → [employer rate, individual rate] as fractions (8% is 0.08): "
        "pension, medical, maternity, unemployment"
    )
    work_injury_rates: dict[int, Decimal] = Field(description="Risk class 1–8 → rate")
    base_floor_ratio: Decimal | None = None
    base_ceiling_ratio: Decimal | None = None
    payment_due_day: int | None = Field(None, ge=1, le=28)
    late_fee_daily_rate: Decimal | None = None
    note: str = ""


class RunIn(Schema):
    area: str
    period: dt.date = Field(description="First day of the month to bill")


class RunOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    period: dt.date
    started_by: str | None = None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    bills_created: int
    lines_added: int

    @staticmethod
    def resolve_started_by(obj: BillingRun) -> str | None:
        return obj.started_by.username if obj.started_by else None


class RunQuery(PageQuery):
    area: str | None = None
    period: dt.date | None = None


class BillOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    employer: int = Field(alias="employer_id")
    period: dt.date
    kind: str = Field(description="declared, or assessed at 110% (SIL art. 62)")
    employer_amount: Decimal
    individual_amount: Decimal
    total: Decimal
    due_on: dt.date
    created_at: dt.datetime

    @staticmethod
    def resolve_employer_amount(obj: Bill) -> Decimal:
        return _yuan(obj.employer_cents)

    @staticmethod
    def resolve_individual_amount(obj: Bill) -> Decimal:
        return _yuan(obj.individual_cents)

    @staticmethod
    def resolve_total(obj: Bill) -> Decimal:
        return _yuan(obj.employer_cents + obj.individual_cents)


class BillLineOut(Schema):
    id: int
    person: int = Field(alias="person_id")
    id_number: str = Field(description="Masked")
    insurance: str
    kind: str
    base: Decimal
    employer_amount: Decimal
    individual_amount: Decimal
    run: int = Field(alias="run_id")

    @staticmethod
    def resolve_id_number(obj: BillLine) -> str:
        return mask_identity_number(obj.person.id_number)

    @staticmethod
    def resolve_base(obj: BillLine) -> Decimal:
        return _yuan(obj.base_cents)

    @staticmethod
    def resolve_employer_amount(obj: BillLine) -> Decimal:
        return _yuan(obj.employer_cents)

    @staticmethod
    def resolve_individual_amount(obj: BillLine) -> Decimal:
        return _yuan(obj.individual_cents)


class BillDetailOut(BillOut):
    lines: list[BillLineOut] = Field(
        description="Append-only: a correction adds the difference as further lines"
    )

    @staticmethod
    def resolve_lines(obj: Bill) -> list[Any]:
        return list(obj.lines.select_related("person").order_by("person_id", "insurance", "pk"))


class BillQuery(PageQuery):
    employer: int | None = None
    period: dt.date | None = None


# --- policies ----------------------------------------------------------------------


@router.get(
    "/policies", response=responses(200, page_of(PolicyOut)), summary="Contribution policies"
)
def policy_list(request: HttpRequest, query: Query[PolicyQuery]) -> Any:
    rows = policies_for(actor(request))
    if query.area:
        rows = rows.filter(area_id=query.area)
    return paginate(rows.order_by("area_id", "-valid_from"), query.page, query.page_size)


@router.get(
    "/policies/current",
    response=responses(200, PolicyOut),
    summary="The policy in force for a month",
)
def policy_current(request: HttpRequest, query: Query[CurrentPolicyQuery]) -> Any:
    user = actor(request)
    code = query.area or user.area_id or ""
    period = query.period.replace(day=1)
    found = (
        policies_for(user)
        .filter(area_id=code, valid_from__lte=period)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=period))
        .order_by("-valid_from")
        .first()
    )
    if found is None:
        raise NotFound(
            _("No contribution policy visible to you covers %(month)s."),
            code="no_policy",
            params={"month": f"{period:%Y-%m}"},
        )
    return found


@router.post(
    "/policies",
    response=responses(201, PolicyOut),
    summary="Set a new policy from a month on (the one before ends that day)",
)
def policy_create(request: HttpRequest, payload: PolicyIn) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, payload.area)
    options = {
        name: value
        for name, value in {
            "base_floor_ratio": payload.base_floor_ratio,
            "base_ceiling_ratio": payload.base_ceiling_ratio,
            "payment_due_day": payload.payment_due_day,
            "late_fee_daily_rate": payload.late_fee_daily_rate,
        }.items()
        if value is not None
    }
    policy = services.policy_set(
        actor=user,
        area=area,
        valid_from=payload.valid_from,
        average_monthly_wage=payload.average_monthly_wage,
        rates={k: (v[0], v[1]) for k, v in payload.rates.items()},
        work_injury_rates=dict(payload.work_injury_rates),
        note=payload.note,
        **options,
    )
    return Status(201, policies_for(user).get(pk=policy.pk))


# --- billing runs ------------------------------------------------------------------


@router.post(
    "/billing-runs",
    response=responses(201, RunOut),
    summary="Bill an area's month (re-runnable: a second run adds only differences)",
)
def run_create(request: HttpRequest, payload: RunIn) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, payload.area)
    return Status(201, billing.bill_run(actor=user, area=area, period=payload.period))


@router.get("/billing-runs", response=responses(200, page_of(RunOut)), summary="Billing runs")
def run_list(request: HttpRequest, query: Query[RunQuery]) -> Any:
    rows = runs_for(actor(request))
    if query.area:
        rows = rows.filter(area_id=query.area)
    if query.period is not None:
        rows = rows.filter(period=query.period)
    return paginate(rows.order_by("-started_at", "-pk"), query.page, query.page_size)


# --- bills -------------------------------------------------------------------------


@router.get("/bills", response=responses(200, page_of(BillOut)), summary="Bills")
def bill_list(request: HttpRequest, query: Query[BillQuery]) -> Any:
    rows = bills_for(actor(request))
    if query.employer is not None:
        rows = rows.filter(employer_id=query.employer)
    if query.period is not None:
        rows = rows.filter(period=query.period)
    return paginate(rows.order_by("area_id", "-period", "employer_id"), query.page, query.page_size)


@router.get(
    "/bills/{bill_id}",
    response=responses(200, BillDetailOut),
    summary="A bill with its lines (identity numbers masked)",
)
def bill_detail(request: HttpRequest, bill_id: int) -> Any:
    try:
        return bills_for(actor(request)).get(pk=bill_id)
    except Bill.DoesNotExist:
        raise NotFound(_("No bill with that key is visible to you.")) from None
