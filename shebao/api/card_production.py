"""REST endpoints: card production, distribution and stock.

The vendor round trip: create a batch of approved cards, export its
production file (`?format=csv|json`, streamed), upload the vendor's result
file (multipart, field `file`); the answer is a per-row report. Then ship the
produced cards to an outlet, receive them there by their numbers, count the
stock, seal unclaimed cards, return or destroy cards never handed over, and
reconcile. File formats: docs/production-files.md. Everything is scoped to
the caller's area: another area's batches, outlets and cards answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from shebao.accounts.models import User
from shebao.api.paging import page_of, paginate
from shebao.api.registry import ERRORS, PageQuery, acting_area, responses
from shebao.cards import production
from shebao.cards.models import Card, ProductionBatch
from shebao.cards.selectors import card_get
from shebao.registry import selectors as registry_selectors

router = Router(tags=["card production"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- schemas -----------------------------------------------------------------------


class BatchOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    number: str = Field(description="Area code, date and sequence: 320100-20261127-001")
    vendor: str
    status: str = Field(description="open, exported (sent to the vendor) or completed")
    card_count: int = Field(description="Cards grouped into the batch when it was created")
    created_at: dt.datetime
    exported_at: dt.datetime | None
    frozen_at: dt.datetime | None = Field(description="Set while the batch is frozen")
    frozen_reason: str


class BatchDetailOut(BatchOut):
    cards_by_state: dict[str, int] = Field(description="The batch's cards by their state now")

    @staticmethod
    def resolve_cards_by_state(obj: ProductionBatch) -> dict[str, int]:
        return production.batch_card_states(obj)


class BatchIn(Schema):
    vendor: str = Field("", description="The card vendor or bank the batch goes to")
    limit: int | None = Field(None, ge=1, description="At most this many cards (oldest first)")


class BatchQuery(PageQuery):
    status: str | None = Field(None, description="open, exported or completed")


class FormatQuery(Schema):
    format: str = Field("csv", description="csv or json")


class FreezeIn(Schema):
    reason: str = Field(description="Why the batch is frozen (at most 200 characters)")


class RejectionOut(Schema):
    line: int = Field(description="Line of the file where the record starts")
    record_id: str
    code: str
    message: str


class ImportReportOut(Schema):
    batch: str
    sha256: str = Field(description="SHA-256 of the uploaded file")
    rows: int
    accepted: int = Field(description="Results recorded now (produced + failed)")
    produced: int
    failed: int = Field(description="Cards the vendor could not make, back in the queue")
    unchanged: int = Field(description="Results already recorded by an earlier import")
    completed: bool = Field(description="No card of the batch is still in production")
    rejected: list[RejectionOut]


class ShipIn(Schema):
    outlet: int = Field(description="Outlet id")
    card_numbers: list[str] | None = Field(
        None, description="Only these cards; by default every produced card of the batch"
    )


class CardNumbersIn(Schema):
    card_numbers: list[str] = Field(description="Card numbers as printed (9 letters or digits)")


class NumberRejectionOut(Schema):
    card_number: str
    code: str
    message: str


class MoveOut(Schema):
    count: int = Field(description="Cards moved")
    rejected: list[NumberRejectionOut]


class SealOut(Schema):
    sealed: int


class ReasonIn(Schema):
    reason: str
    expected_version: int | None = Field(
        None, description="The card's version you read; a conflict if it changed since"
    )


class CardStateOut(Schema):
    id: int
    card_number: str | None
    state: str
    version: int


class StockCardOut(Schema):
    id: int
    card_number: str | None
    state: str = Field(description="at_outlet or sealed")
    batch: str | None = Field(None, description="Batch number")
    received_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_batch(obj: Card) -> str | None:
        return obj.batch.number if obj.batch is not None else None


class StockCountOut(Schema):
    id: int
    outlet: int = Field(alias="outlet_id")
    counted_at: dt.datetime
    counted_by: str = Field(alias="counted_by.username")
    counted: list[str]
    missing: list[str] = Field(description="In stock by the records, not found")
    unexpected: list[str] = Field(description="Found, not in this outlet's stock by the records")


class LineOut(Schema):
    key: str
    label: str
    count: int


class DiscrepancyOut(Schema):
    card_id: int | None
    card_number: str
    state: str
    outlet_id: int | None
    code: str
    message: str


class ReconciliationOut(Schema):
    area: str
    outlet_id: int | None
    produced: int = Field(description="Cards with a production result")
    accounted: int = Field(description="The sum of the lines")
    balanced: bool
    lines: list[LineOut]
    discrepancies: list[DiscrepancyOut] = Field(description="Every card that does not fit")


# --- batches -----------------------------------------------------------------------


@router.get(
    "/card-batches",
    response=responses(200, page_of(BatchOut)),
    summary="List production batches",
)
def batch_list(request: HttpRequest, query: Query[BatchQuery]) -> Any:
    rows = production.batches_for(actor(request))
    if query.status:
        rows = rows.filter(status=query.status)
    return paginate(rows.order_by("-created_at", "-pk"), query.page, query.page_size)


@router.post(
    "/card-batches",
    response=responses(201, BatchDetailOut),
    summary="Group the area's approved cards into a production batch",
)
def batch_create(request: HttpRequest, payload: BatchIn) -> Any:
    area = acting_area(request, None)
    batch = production.batch_create(
        actor=actor(request), area=area, vendor=payload.vendor, limit=payload.limit
    )
    return Status(201, batch)


@router.get(
    "/card-batches/{batch_id}",
    response=responses(200, BatchDetailOut),
    summary="One production batch with its cards by state",
)
def batch_detail(request: HttpRequest, batch_id: int) -> ProductionBatch:
    return production.batch_get(actor(request), batch_id)


@router.post(
    "/card-batches/{batch_id}/export",
    response=ERRORS,
    summary="Download the batch's production file for the vendor (marks it sent)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The production file, one record per card",
                "content": {"text/csv": {}, "application/json": {}},
            }
        }
    },
)
def batch_export(request: HttpRequest, batch_id: int, query: Query[FormatQuery]) -> Any:
    batch = production.batch_get(actor(request), batch_id)
    stream = production.batch_export(actor=actor(request), batch=batch, file_format=query.format)
    content_type = "text/csv" if query.format == "csv" else "application/json"
    response = StreamingHttpResponse(
        (piece.encode() for piece in stream), content_type=f"{content_type}; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{batch.number}.{query.format}"'
    return response


@router.post(
    "/card-batches/{batch_id}/import",
    response=responses(200, ImportReportOut),
    summary="Upload the vendor's result file; answers with a report per row",
)
def batch_import(
    request: HttpRequest, batch_id: int, file: File[UploadedFile], query: Query[FormatQuery]
) -> Any:
    batch = production.batch_get(actor(request), batch_id)
    return production.batch_import(
        actor=actor(request), batch=batch, data=file.read(), file_format=query.format
    )


@router.post(
    "/card-batches/{batch_id}/freeze",
    response=responses(200, BatchDetailOut),
    summary="Emergency freeze of a batch and all its cards",
)
def batch_freeze(request: HttpRequest, batch_id: int, payload: FreezeIn) -> Any:
    batch = production.batch_get(actor(request), batch_id)
    return production.batch_freeze(actor=actor(request), batch=batch, reason=payload.reason)


@router.post(
    "/card-batches/{batch_id}/release",
    response=responses(200, BatchDetailOut),
    summary="Lift the freeze of a batch",
)
def batch_release(request: HttpRequest, batch_id: int) -> Any:
    batch = production.batch_get(actor(request), batch_id)
    return production.batch_release(actor=actor(request), batch=batch)


@router.post(
    "/card-batches/{batch_id}/ship",
    response=responses(200, MoveOut),
    summary="Ship the batch's produced cards to a service outlet",
)
def batch_ship(request: HttpRequest, batch_id: int, payload: ShipIn) -> Any:
    user = actor(request)
    batch = production.batch_get(user, batch_id)
    outlet = registry_selectors.outlet_get(user, payload.outlet)
    return production.batch_ship(
        actor=user, batch=batch, outlet=outlet, card_numbers=payload.card_numbers
    )


# --- outlets -----------------------------------------------------------------------


class OutletFreezeOut(Schema):
    outlet: int
    cards: int = Field(description="Cards whose freeze changed")


@router.post(
    "/outlets/{outlet_id}/freeze",
    response=responses(200, OutletFreezeOut),
    summary="Emergency freeze of every card held at the outlet and not yet handed over",
)
def outlet_freeze(request: HttpRequest, outlet_id: int, payload: FreezeIn) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    frozen = production.outlet_freeze(actor=user, outlet=outlet, reason=payload.reason)
    return {"outlet": outlet.pk, "cards": len(frozen)}


@router.post(
    "/outlets/{outlet_id}/release",
    response=responses(200, OutletFreezeOut),
    summary="Lift the freeze of an outlet's stock",
)
def outlet_release(request: HttpRequest, outlet_id: int) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    released = production.outlet_release(actor=user, outlet=outlet)
    return {"outlet": outlet.pk, "cards": len(released)}


@router.post(
    "/outlets/{outlet_id}/receive-cards",
    response=responses(200, MoveOut),
    summary="Receive shipped cards at the outlet by their numbers",
)
def outlet_receive(request: HttpRequest, outlet_id: int, payload: CardNumbersIn) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    return production.outlet_receive(actor=user, outlet=outlet, card_numbers=payload.card_numbers)


@router.get(
    "/outlets/{outlet_id}/card-stock",
    response=responses(200, page_of(StockCardOut)),
    summary="The cards an outlet holds (at the outlet or sealed)",
)
def outlet_stock(request: HttpRequest, outlet_id: int, query: Query[PageQuery]) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    return paginate(production.outlet_stock(user, outlet), query.page, query.page_size)


@router.get(
    "/outlets/{outlet_id}/stock-counts",
    response=responses(200, page_of(StockCountOut)),
    summary="The outlet's stock counts, latest first",
)
def stock_count_list(request: HttpRequest, outlet_id: int, query: Query[PageQuery]) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    return paginate(production.stock_counts_for(user, outlet), query.page, query.page_size)


@router.post(
    "/outlets/{outlet_id}/stock-counts",
    response=responses(201, StockCountOut),
    summary="Record a physical count of the outlet's cards; answers with the differences",
)
def stock_count_create(request: HttpRequest, outlet_id: int, payload: CardNumbersIn) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    return Status(
        201, production.stock_count(actor=user, outlet=outlet, card_numbers=payload.card_numbers)
    )


@router.get(
    "/outlets/{outlet_id}/card-reconciliation",
    response=responses(200, ReconciliationOut),
    summary="Reconcile the cards sent to one outlet",
)
def outlet_reconciliation(request: HttpRequest, outlet_id: int) -> Any:
    user = actor(request)
    outlet = registry_selectors.outlet_get(user, outlet_id)
    area = registry_selectors.area_get(user, outlet.area_id)
    return production.card_reconciliation(user, area=area, outlet=outlet)


# --- areas and cards ---------------------------------------------------------------


@router.get(
    "/areas/{code}/card-reconciliation",
    response=responses(200, ReconciliationOut),
    summary="Reconcile every card the area produced",
)
def area_reconciliation(request: HttpRequest, code: str) -> Any:
    user = actor(request)
    return production.card_reconciliation(user, area=registry_selectors.area_get(user, code))


@router.post(
    "/areas/{code}/seal-unclaimed-cards",
    response=responses(200, SealOut),
    summary="Seal cards unclaimed at the area's outlets longer than its setting",
)
def seal_unclaimed(request: HttpRequest, code: str) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, code)
    return {"sealed": production.cards_seal_unclaimed(actor=user, area=area)}


@router.post(
    "/cards/{card_id}/return",
    response=responses(200, CardStateOut),
    summary="Return a card never handed over to the vendor or bank",
)
def card_return(request: HttpRequest, card_id: int, payload: ReasonIn) -> Any:
    user = actor(request)
    card = card_get(user, card_id, log=False)
    return production.card_return(
        actor=user, card=card, reason=payload.reason, expected_version=payload.expected_version
    )


@router.post(
    "/cards/{card_id}/destroy",
    response=responses(200, CardStateOut),
    summary="Destroy a card never handed over (in stock, sealed or returned)",
)
def card_destroy(request: HttpRequest, card_id: int, payload: ReasonIn) -> Any:
    user = actor(request)
    card = card_get(user, card_id, log=False)
    return production.card_destroy(
        actor=user, card=card, reason=payload.reason, expected_version=payload.expected_version
    )
