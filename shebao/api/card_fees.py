"""REST endpoints: card fees (the cashier's counter and the day's reconciliation)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, actor, responses
from shebao.cards import fees
from shebao.cards.models import CardFee, FeeStatus
from shebao.registry import selectors as registry_selectors

router = Router(tags=["card fees"])


class FeeOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    card: int = Field(alias="card_id")
    card_number: str | None = Field(None, alias="card.card_number")
    reason: str = Field(description="Replacement reason the fee is for")
    amount: Decimal = Field(description="CNY, two decimals")
    status: str = Field(description="due, paid or waived")
    handled_by: str = Field(alias="handled_by.username", description="Officer who took it")
    cashier: str | None = None
    receipt_number: str | None = Field(None, description="<area>-<YYYYMMDD>-<sequence>")
    created_at: dt.datetime
    paid_at: dt.datetime | None

    @staticmethod
    def resolve_cashier(obj: CardFee) -> str | None:
        return obj.cashier.username if obj.cashier else None


class FeeQuery(PageQuery):
    status: FeeStatus | None = None
    card: int | None = None


class WaiveIn(Schema):
    reason: str = Field(description="Why the fee is waived; kept in the audit trail")


class ReceiptOut(Schema):
    number: str
    fee: int = Field(alias="fee_id")
    card: int = Field(alias="card_id")
    card_number: str | None
    amount: Decimal
    cashier: str
    paid_at: dt.datetime


class DueFeeOut(Schema):
    fee: int = Field(alias="fee_id")
    card: int = Field(alias="card_id")
    card_number: str | None
    amount: Decimal
    reason: str
    created_at: dt.datetime


class DifferenceOut(Schema):
    code: str = Field(
        description="fee_missing, handed_over_unpaid, paid_after_hand_over, "
        "fee_of_ended_application"
    )
    card: int = Field(alias="card_id")
    card_number: str | None
    fee: int | None = Field(alias="fee_id")
    amount: Decimal | None
    message: str


class ReconciliationOut(Schema):
    area: str
    day: dt.date
    receipts: list[ReceiptOut]
    total: Decimal
    per_cashier: dict[str, Decimal] = Field(description="Cashier's username → amount collected")
    due: list[DueFeeOut] = Field(description="Fees still due at the end of the day")
    due_total: Decimal
    differences: list[DifferenceOut]


class ReconciliationQuery(Schema):
    day: dt.date | None = Field(None, description="The local day; defaults to today")


@router.get(
    "/card-fees",
    response=responses(200, page_of(FeeOut)),
    summary="List the card fees of the caller's area (cashiers, card officers, administrators)",
)
def fee_list(request: HttpRequest, query: Query[FeeQuery]) -> Any:
    rows = fees.fees_for(actor(request))
    if query.status:
        rows = rows.filter(status=query.status)
    if query.card:
        rows = rows.filter(card_id=query.card)
    return paginate(rows.order_by("-created_at", "-pk"), query.page, query.page_size)


@router.post(
    "/card-fees/{fee_id}/pay",
    response=responses(200, FeeOut),
    summary="Record the payment of a due fee and issue its receipt (cashier)",
)
def fee_pay(request: HttpRequest, fee_id: int) -> Any:
    fee = fees.fee_get(actor(request), fee_id)
    return fees.fee_pay(actor=actor(request), fee=fee)


@router.post(
    "/card-fees/{fee_id}/waive",
    response=responses(200, FeeOut),
    summary="Waive a due fee, with the reason (area administrator)",
)
def fee_waive(request: HttpRequest, fee_id: int, payload: WaiveIn) -> Any:
    fee = fees.fee_get(actor(request), fee_id)
    return fees.fee_waive(actor=actor(request), fee=fee, reason=payload.reason)


@router.get(
    "/card-fees/reconciliation",
    response=responses(200, ReconciliationOut),
    summary="The day's receipts, totals per cashier, fees still due and differences",
)
def fee_reconciliation(request: HttpRequest, query: Query[ReconciliationQuery]) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, user.area_id or "")
    return fees.fees_daily_reconciliation(
        actor=user, area=area, day=query.day or timezone.localdate()
    )
