"""Production batches, vendor files, distribution and stock of cards.

Design notes
- A batch groups approved cards for the card vendor (or bank). The round
  trip is: `batch_create` (approved → in_production), `batch_export` (the
  production file, streamed), `batch_import` (the vendor's result file:
  in_production → produced with numbers, or back to approved for a reprint).
  The file formats are documented in docs/production-files.md.
- Only an area the ministry approved produces cards (DOMAIN.md §2, MOHRSS
  card management measures 2011); `batch_create` refuses any other, and
  one waiting for re-approval or naming an unfiled vendor (approval.gates).
- Work on whole batches is set-based: one UPDATE of the cards, the card
  events inserted in bulk and one audit event for the set (with a SHA-256
  digest of the card ids), never a Python loop over ORM objects. Every
  UPDATE re-checks the from-state on the row it changes, so a card another
  officer changed at the same moment is skipped, not overwritten, and gets
  no event. State changes still come from `lifecycle.next_state`.
- The vendor's result file is staged in a temporary table (COPY on
  PostgreSQL, executemany on SQLite) and applied with UPDATE … FROM, so
  100,000 results cost a few statements. Each row is judged on its own: a
  bad row is reported with its line and reason, the good rows are kept, and
  a row already applied counts as unchanged, so a file can be imported again.
- Operations on a batch lock its row: imports, freezes and shipments of one
  batch run one after another.
- An emergency freeze of a batch stamps the batch and its cards with the same
  `frozen_at`; releasing it clears exactly the cards with that stamp, so a
  card frozen for another reason stays frozen.
- The SQL that the ORM cannot express (UPDATE … FROM, UPDATE … RETURNING,
  the staging table) lives in the "set-based SQL" section of this module.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Field, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, STAFF, Role, require
from shebao.approval.gates import production_gate
from shebao.audit.services import audit_record, json_value
from shebao.cards.lifecycle import Op, next_state
from shebao.cards.models import (
    BatchStatus,
    Card,
    CardEvent,
    CardKind,
    CardState,
    ProductionBatch,
    StockCount,
)
from shebao.cards.selectors import cards_for
from shebao.cards.services import _transition
from shebao.core.dates import add_years
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.core.text import required_text
from shebao.registry.models import Area, AreaStatus, Outlet
from shebao.registry.selectors import area_setting

FILE_FORMATS = ("csv", "json")
# Rows per query where a list of keys goes into IN (…): SQLite allows 999 parameters.
CHUNK = 500
STOCK_STATES = (CardState.AT_OUTLET, CardState.SEALED)

CARD_NUMBER = re.compile(r"[0-9A-Z]{9}")
IDENTIFICATION_CODE = re.compile(r"[0-9A-Z]{16}")
BANK_ACCOUNT = re.compile(r"[0-9]{12,32}")


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _digest(ids: Iterable[int]) -> str:
    """SHA-256 of the sorted card ids, comma-separated: names a set of cards in an audit event."""
    return hashlib.sha256(",".join(str(pk) for pk in sorted(ids)).encode()).hexdigest()


def _check_format(file_format: str) -> str:
    if file_format not in FILE_FORMATS:
        raise InvalidInput(
            _("Unknown file format “%(format)s”; expected csv or json."),
            code="file_format",
            field="format",
            params={"format": file_format},
        )
    return file_format


# --- selectors -----------------------------------------------------------------


def batches_for(user: User) -> QuerySet[ProductionBatch]:
    rows = ProductionBatch.objects.select_related("area")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    return rows.none()


def batch_get(user: User, pk: int) -> ProductionBatch:
    try:
        return batches_for(user).get(pk=pk)
    except (ProductionBatch.DoesNotExist, ValueError):
        raise NotFound(_("No production batch with that key is visible to you.")) from None


def batch_find(user: User, number: str) -> ProductionBatch:
    """A batch by its number (e.g. 320100-20261127-001), as the commands name it."""
    batch = batches_for(user).filter(number=number.strip()).first()
    if batch is None:
        raise NotFound(
            _("No production batch %(number)s is visible to you."), params={"number": number}
        )
    return batch


def batch_card_states(batch: ProductionBatch) -> dict[str, int]:
    """How many of the batch's cards are in each state now."""
    rows = Card.objects.filter(batch=batch).values("state").annotate(count=Count("pk"))
    return {row["state"]: row["count"] for row in rows.order_by("state")}


def _require_staff(user: User) -> None:
    """Stock and reconciliation are the issuing office's books, not the public's."""
    if user.role not in STAFF:
        raise Forbidden(_("Only staff of the issuing area see its card stock."))


def outlet_stock(user: User, outlet: Outlet) -> QuerySet[Card]:
    """The cards an outlet holds: received and not handed over (at outlet or sealed)."""
    _require_staff(user)
    return (
        cards_for(user)
        .filter(area_id=outlet.area_id, outlet=outlet, state__in=STOCK_STATES)
        .select_related("batch")
        .order_by("card_number")
    )


def stock_counts_for(user: User, outlet: Outlet) -> QuerySet[StockCount]:
    _require_staff(user)
    rows = StockCount.objects.select_related("counted_by").filter(outlet=outlet)
    if user.role != Role.MINISTRY_ADMIN:
        rows = rows.filter(area_id=user.area_id)
    return rows.order_by("-counted_at", "-pk")


# --- set-based SQL ---------------------------------------------------------------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _json_object_function() -> str:
    """The SQL function that builds a JSON object (the stored type of JSONField)."""
    return "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"


def _column(name: str, value: Any) -> tuple[str, Any]:
    """A card field's quoted column and `value` as the database takes it."""
    model_field = cast("Field[Any, Any]", Card._meta.get_field(name))
    return _quote(model_field.column), model_field.get_db_prep_save(value, connection)


def _update_cards(
    cards: QuerySet[Card],
    *,
    changes: dict[str, Any],
    recheck: dict[str, Any],
    bump_version: bool,
) -> list[tuple[int, str]]:
    """One UPDATE of the cards `cards` selects; returns (id, state after) of each changed card.

    `recheck` (column → value, None meaning IS NULL) is tested again on the
    row being updated: on PostgreSQL a row changed by a concurrent
    transaction is re-read before it is updated, and a row that no longer
    qualifies is skipped rather than overwritten.
    """
    table = _quote(Card._meta.db_table)
    chosen, chosen_params = cards.values("pk").query.sql_with_params()
    assignments, values = [], []
    for name, value in changes.items():
        column, prepared = _column(name, value)
        assignments.append(f"{column} = %s")
        values.append(prepared)
    if bump_version:
        assignments.append("version = version + 1")
    conditions, condition_values = [], []
    for name, value in recheck.items():
        column, prepared = _column(name, value)
        if value is None:
            conditions.append(f"{column} IS NULL")
        else:
            conditions.append(f"{column} = %s")
            condition_values.append(prepared)
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 - names from the model
        f"WHERE id IN ({chosen}) {''.join(' AND ' + c for c in conditions)} "
        "RETURNING id, state"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *chosen_params, *condition_values])
        return sorted((int(pk), str(state)) for pk, state in cursor.fetchall())


def _bulk_events(
    *,
    actor: User | None,
    area_code: str,
    cards: Iterable[tuple[int, str]],
    operation: str,
    at: dt.datetime,
    detail: dict[str, Any],
    from_state: str | None = None,
) -> None:
    """One card event per (card id, state after); `from_state` None means the state did not change."""
    detail = json_value(detail)
    CardEvent.objects.bulk_create(
        (
            CardEvent(
                area_id=area_code,
                card_id=pk,
                at=at,
                actor=actor,
                operation=operation,
                from_state=from_state if from_state is not None else state,
                to_state=state,
                detail=detail,
            )
            for pk, state in cards
        ),
        batch_size=2000,
    )


def _transition_set(
    *,
    actor: User,
    area_code: str,
    cards: QuerySet[Card],
    operation: str,
    from_state: str,
    at: dt.datetime,
    detail: dict[str, Any],
    **changes: Any,
) -> list[int]:
    """Move every unfrozen card of `cards` that is in `from_state` through `operation`.

    The set-based sibling of `services._transition`: the lifecycle table
    decides the new state, frozen cards are left alone, every moved card
    gets its card event; the caller writes one audit event for the set.
    """
    to_state = next_state(from_state, operation)
    moved = _update_cards(
        cards.filter(state=from_state, frozen_at__isnull=True),
        changes={"state": to_state, **changes},
        recheck={"state": from_state, "frozen_at": None},
        bump_version=True,
    )
    _bulk_events(
        actor=actor,
        area_code=area_code,
        cards=moved,
        operation=operation,
        at=at,
        detail=detail,
        from_state=from_state,
    )
    return [pk for pk, _state in moved]


# --- batches -------------------------------------------------------------------


def _lock_batch(batch: ProductionBatch) -> None:
    """Lock the batch row for this transaction (one import, freeze or shipment at a time)
    and bring `batch` up to date with it."""
    locked = ProductionBatch.objects.select_for_update().get(pk=batch.pk)
    for model_field in ProductionBatch._meta.concrete_fields:
        setattr(batch, model_field.attname, getattr(locked, model_field.attname))


def _refuse_frozen(batch: ProductionBatch) -> None:
    if batch.frozen_at is not None:
        raise Conflict(
            _(
                "Batch %(number)s is frozen (%(reason)s); nothing can be done with it until it "
                "is released."
            ),
            code="batch_frozen",
            params={"number": batch.number, "reason": batch.frozen_reason or "-"},
        )


def _batch_snapshot(batch: ProductionBatch) -> dict[str, Any]:
    return json_value(
        {
            "number": batch.number,
            "vendor": batch.vendor,
            "status": batch.status,
            "card_count": batch.card_count,
            "exported_at": batch.exported_at,
            "frozen_at": batch.frozen_at,
            "frozen_reason": batch.frozen_reason,
        }
    )


@transaction.atomic
def batch_create(
    *, actor: User, area: Area, vendor: str = "", limit: int | None = None
) -> ProductionBatch:
    """Group the area's approved cards, oldest approval first, into a new production batch."""
    require(actor, "card.production", area_code=area.code)
    # The area row is locked: batch numbers of a day are counted, and two
    # officers batching at once must not both take the same queue.
    area = Area.objects.select_for_update().get(pk=area.pk)
    if area.status != AreaStatus.APPROVED:
        raise Conflict(
            _(
                "%(area)s is not approved to issue cards (status: %(status)s); an area without "
                "the ministry's approval cannot produce cards."
            ),
            code="area_not_approved",
            params={"area": area.name, "status": area.get_status_display()},
        )
    vendor = (vendor or "").strip()
    if len(vendor) > 100:
        raise InvalidInput(
            _("At most %(max)d characters are allowed, got %(length)d."),
            code="too_long",
            field="vendor",
            params={"max": 100, "length": len(vendor)},
        )
    # A card face or file structure changed since approval waits for re-approval;
    # a vendor must be filed with the ministry (shebao.approval).
    production_gate(area=area, vendor=vendor)
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise InvalidInput(
            _("The limit is the largest number of cards in the batch: a whole number from 1."),
            code="batch_limit",
            field="limit",
        )
    now = timezone.now()
    prefix = f"{area.code}-{timezone.localdate():%Y%m%d}-"
    sequence = ProductionBatch.objects.filter(area=area, number__startswith=prefix).count() + 1
    batch = ProductionBatch.objects.create(
        area=area, number=f"{prefix}{sequence:03d}", vendor=vendor, created_by=actor
    )
    queue = Card.objects.filter(
        area_id=area.code, state=CardState.APPROVED, frozen_at__isnull=True
    ).order_by(F("approved_at").asc(nulls_first=True), "pk")
    if limit is not None:
        queue = queue[:limit]
    moved = _transition_set(
        actor=actor,
        area_code=area.code,
        cards=Card.objects.filter(pk__in=queue.values("pk")),
        operation=Op.BATCH,
        from_state=CardState.APPROVED,
        at=now,
        detail={"batch": batch.number},
        batch_id=batch.pk,
    )
    if not moved:
        raise Conflict(
            _("No approved card of %(area)s is waiting for production."),
            code="no_approved_cards",
            params={"area": area.name},
        )
    batch.card_count = len(moved)
    batch.save(update_fields=["card_count"])
    audit_record(
        actor=actor,
        action="card_batch.create",
        subject=batch,
        area_code=area.code,
        after={**_batch_snapshot(batch), "card_ids_sha256": _digest(moved)},
    )
    return batch


@transaction.atomic
def batch_freeze(*, actor: User, batch: ProductionBatch, reason: str) -> ProductionBatch:
    """Emergency freeze of a whole batch: every card of it refuses every operation."""
    require(actor, "card.freeze", area_code=batch.area_id)
    reason = required_text(reason, "reason", max_length=200)
    _lock_batch(batch)
    if batch.frozen_at is not None:
        raise Conflict(
            _("Batch %(number)s is already frozen (%(reason)s)."),
            code="batch_frozen",
            params={"number": batch.number, "reason": batch.frozen_reason or "-"},
        )
    before = _batch_snapshot(batch)
    now = timezone.now()
    frozen = _update_cards(
        Card.objects.filter(batch=batch, frozen_at__isnull=True),
        changes={"frozen_at": now, "frozen_reason": reason},
        recheck={"frozen_at": None},
        bump_version=False,
    )
    detail = {"batch": batch.number, "reason": reason}
    _bulk_events(
        actor=actor,
        area_code=batch.area_id,
        cards=frozen,
        operation="freeze",
        at=now,
        detail=detail,
    )
    batch.frozen_at, batch.frozen_reason = now, reason
    batch.save(update_fields=["frozen_at", "frozen_reason"])
    audit_record(
        actor=actor,
        action="card_batch.freeze",
        subject=batch,
        area_code=batch.area_id,
        before=before,
        after={
            **_batch_snapshot(batch),
            "cards": len(frozen),
            "card_ids_sha256": _digest(pk for pk, _state in frozen),
        },
    )
    return batch


@transaction.atomic
def outlet_freeze(*, actor: User, outlet: Outlet, reason: str) -> list[tuple[int, str]]:
    """Emergency freeze of an outlet's stock: every card held there and not yet
    handed over refuses every operation until the freeze is lifted."""
    require(actor, "card.freeze", area_code=outlet.area_id)
    reason = required_text(reason, "reason", max_length=200)
    outlet = Outlet.objects.select_for_update().get(pk=outlet.pk)
    if outlet.stock_frozen_at is not None:
        raise Conflict(
            _("The stock of %(outlet)s is already frozen (%(reason)s)."),
            code="outlet_frozen",
            params={"outlet": outlet.name, "reason": outlet.stock_frozen_reason or "-"},
        )
    now = timezone.now()
    frozen = _update_cards(
        Card.objects.filter(
            area_id=outlet.area_id,
            outlet=outlet,
            state=CardState.AT_OUTLET,
            frozen_at__isnull=True,
        ),
        changes={"frozen_at": now, "frozen_reason": reason},
        recheck={"frozen_at": None},
        bump_version=False,
    )
    _bulk_events(
        actor=actor,
        area_code=outlet.area_id,
        cards=frozen,
        operation="freeze",
        at=now,
        detail={"outlet": outlet.code, "reason": reason},
    )
    outlet.stock_frozen_at, outlet.stock_frozen_reason = now, reason
    outlet.save(update_fields=["stock_frozen_at", "stock_frozen_reason"])
    audit_record(
        actor=actor,
        action="outlet.freeze_stock",
        subject=outlet,
        area_code=outlet.area_id,
        after={
            "outlet": outlet.code,
            "reason": reason,
            "cards": len(frozen),
            "card_ids_sha256": _digest(pk for pk, _state in frozen),
        },
    )
    return frozen


@transaction.atomic
def outlet_release(*, actor: User, outlet: Outlet) -> list[tuple[int, str]]:
    """Lift an outlet's stock freeze; cards frozen for another reason stay frozen."""
    require(actor, "card.freeze", area_code=outlet.area_id)
    outlet = Outlet.objects.select_for_update().get(pk=outlet.pk)
    if outlet.stock_frozen_at is None:
        raise Conflict(
            _("The stock of %(outlet)s is not frozen."),
            code="outlet_not_frozen",
            params={"outlet": outlet.name},
        )
    now = timezone.now()
    released = _update_cards(
        Card.objects.filter(
            area_id=outlet.area_id, outlet=outlet, frozen_at=outlet.stock_frozen_at
        ),
        changes={"frozen_at": None, "frozen_reason": ""},
        recheck={"frozen_at": outlet.stock_frozen_at},
        bump_version=False,
    )
    _bulk_events(
        actor=actor,
        area_code=outlet.area_id,
        cards=released,
        operation="release",
        at=now,
        detail={"outlet": outlet.code},
    )
    before = {"reason": outlet.stock_frozen_reason, "since": outlet.stock_frozen_at}
    outlet.stock_frozen_at, outlet.stock_frozen_reason = None, ""
    outlet.save(update_fields=["stock_frozen_at", "stock_frozen_reason"])
    audit_record(
        actor=actor,
        action="outlet.release_stock",
        subject=outlet,
        area_code=outlet.area_id,
        before=before,
        after={"outlet": outlet.code, "cards": len(released)},
    )
    return released


@transaction.atomic
def batch_release(*, actor: User, batch: ProductionBatch) -> ProductionBatch:
    """Lift a batch freeze; cards frozen for another reason stay frozen."""
    require(actor, "card.freeze", area_code=batch.area_id)
    _lock_batch(batch)
    if batch.frozen_at is None:
        raise Conflict(
            _("Batch %(number)s is not frozen."),
            code="batch_not_frozen",
            params={"number": batch.number},
        )
    before = _batch_snapshot(batch)
    now = timezone.now()
    released = _update_cards(
        Card.objects.filter(batch=batch, frozen_at=batch.frozen_at),
        changes={"frozen_at": None, "frozen_reason": ""},
        recheck={"frozen_at": batch.frozen_at},
        bump_version=False,
    )
    _bulk_events(
        actor=actor,
        area_code=batch.area_id,
        cards=released,
        operation="release",
        at=now,
        detail={"batch": batch.number},
    )
    batch.frozen_at, batch.frozen_reason = None, ""
    batch.save(update_fields=["frozen_at", "frozen_reason"])
    audit_record(
        actor=actor,
        action="card_batch.release",
        subject=batch,
        area_code=batch.area_id,
        before=before,
        after={
            **_batch_snapshot(batch),
            "cards": len(released),
            "card_ids_sha256": _digest(pk for pk, _state in released),
        },
    )
    return batch


# --- the production file (to the vendor) -----------------------------------------

EXPORT_FIELDS = (
    "record_id",
    "batch",
    "area",
    "issuer_id",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "account_class",
    "bank",
    "phone",
    "address",
    "photo_sha256",
    "urgent",
)
EXPORT_CHUNK = 2000  # rows fetched, and rows per piece of the stream


def _export_cards(batch: ProductionBatch) -> QuerySet[Card]:
    return Card.objects.filter(
        batch=batch, state=CardState.IN_PRODUCTION, frozen_at__isnull=True
    ).order_by("pk")


def _export_records(batch: ProductionBatch) -> Iterator[tuple[Any, ...]]:
    """The production file's records, read from the database a chunk at a time."""
    area = Area.objects.get(pk=batch.area_id)
    rows = _export_cards(batch).values_list(
        "pk",
        "person__name",
        "person__id_number",
        "person__sex",
        "person__birth_date",
        "account_class",
        "bank",
        "phone",
        "address",
        "photo__sha256",
        "urgent",
    )
    for (
        pk,
        name,
        id_number,
        sex,
        birth_date,
        account_class,
        bank,
        phone,
        address,
        photo,
        urgent,
    ) in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield (
            pk,
            batch.number,
            area.code,
            area.issuer_id or "",
            name,
            id_number,
            sex,
            birth_date.isoformat(),
            account_class,
            bank,
            phone,
            address,
            photo or "",
            bool(urgent),
        )


class _Echo:
    """A file-like object that hands back what the csv writer writes."""

    def write(self, text: str) -> str:
        return text


def _stream(
    records: Iterator[tuple[Any, ...]],
    head: str,
    line: Callable[[tuple[Any, ...]], str],
    separator: str,
    tail: str,
) -> Iterator[str]:
    yield head
    piece: list[str] = []
    first = True
    for record in records:
        text = line(record)
        piece.append(text if first else separator + text)
        first = False
        if len(piece) >= EXPORT_CHUNK:
            yield "".join(piece)
            piece = []
    piece.append(tail)
    yield "".join(piece)


def export_stream(batch: ProductionBatch, file_format: str) -> Iterator[str]:
    """The production file of a batch as pieces of text, never the whole batch in memory."""
    records = _export_records(batch)
    if file_format == "csv":
        writer = csv.writer(_Echo())

        def csv_line(record: tuple[Any, ...]) -> str:
            values = list(record)
            values[-1] = "1" if values[-1] else "0"
            return str(writer.writerow(values))

        return _stream(records, str(writer.writerow(EXPORT_FIELDS)), csv_line, "", "")

    def json_line(record: tuple[Any, ...]) -> str:
        return json.dumps(dict(zip(EXPORT_FIELDS, record, strict=True)), ensure_ascii=False)

    return _stream(records, "[\n", json_line, ",\n", "\n]\n")


@transaction.atomic
def batch_export(*, actor: User, batch: ProductionBatch, file_format: str) -> Iterator[str]:
    """Mark the batch sent to the vendor and return its production file as a stream.

    The file can be exported again (a vendor that lost it); it holds the
    cards of the batch still in production.
    """
    require(actor, "card.production", area_code=batch.area_id)
    _check_format(file_format)
    _lock_batch(batch)
    _refuse_frozen(batch)
    count = _export_cards(batch).count()
    if not count:
        raise Conflict(
            _("Batch %(number)s has no card in production left to send to the vendor."),
            code="nothing_to_export",
            params={"number": batch.number},
        )
    before = _batch_snapshot(batch)
    if batch.status == BatchStatus.OPEN:
        batch.status = BatchStatus.EXPORTED
        batch.exported_at = timezone.now()
        batch.save(update_fields=["status", "exported_at"])
    audit_record(
        actor=actor,
        action="card_batch.export",
        subject=batch,
        area_code=batch.area_id,
        before=before,
        after={**_batch_snapshot(batch), "format": file_format, "cards": count},
    )
    return export_stream(batch, file_format)


# --- the result file (from the vendor) --------------------------------------------

RESULT_FIELDS = (
    "record_id",
    "result",
    "card_number",
    "identification_code",
    "bank_account",
    "reason",
)
RESULT_OK, RESULT_FAILED = "ok", "failed"


@dataclass(frozen=True)
class Rejection:
    line: int
    record_id: str
    code: str
    message: str


@dataclass(frozen=True)
class _Result:
    line: int
    record_id: int
    result: str
    card_number: str = ""
    identification_code: str = ""
    bank_account: str = ""
    reason: str = ""

    def same_as(self, other: _Result) -> bool:
        return (self.result, self.card_number, self.identification_code, self.bank_account) == (
            other.result,
            other.card_number,
            other.identification_code,
            other.bank_account,
        )


@dataclass
class ImportReport:
    batch: str
    sha256: str
    rows: int = 0
    produced: int = 0
    failed: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    completed: bool = False

    @property
    def accepted(self) -> int:
        return self.produced + self.failed


class _Reject(Exception):
    """A row is refused: code, message and its parameters."""

    def __init__(self, code: str, message: Any, **params: Any) -> None:
        super().__init__(code)
        self.code, self.message, self.params = code, message, params


def _rejection(line: int, record_id: Any, refusal: _Reject) -> Rejection:
    message = str(refusal.message) % refusal.params if refusal.params else str(refusal.message)
    return Rejection(line, str(record_id if record_id is not None else ""), refusal.code, message)


def _csv_rows(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in ("record_id", "result") if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            _(
                "The first line of a CSV result file names its columns; %(missing)s is missing "
                "(expected: %(expected)s)."
            ),
            code="file_header",
            field="file",
            params={"missing": ", ".join(missing), "expected": ", ".join(RESULT_FIELDS)},
        )
    for row in reader:
        yield reader.line_num, row


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _json_rows(text: str) -> Iterator[tuple[int, Any]]:
    """The records of a JSON array with the line each starts on, read without a parse tree."""
    decoder = json.JSONDecoder()
    line, counted = 1, 0

    def line_at(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    def broken(position: int, what: Any) -> InvalidInput:
        return InvalidInput(
            _("The JSON result file is broken at line %(line)d: %(what)s."),
            code="file_syntax",
            field="file",
            params={"line": line_at(position), "what": what},
        )

    position = _skip_space(text, 0)
    if text[position : position + 1] != "[":
        raise broken(position, _("expected an array of records, [ {…}, {…} ]"))
    position = _skip_space(text, position + 1)
    if text[position : position + 1] == "]":
        return
    while True:
        start = position
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise broken(error.pos, error.msg) from None
        yield line_at(start), record
        position = _skip_space(text, position)
        separator = text[position : position + 1]
        if separator == "]":
            return
        if separator != ",":
            raise broken(position, _("expected , or ] after a record"))
        position = _skip_space(text, position + 1)


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _parse_row(line: int, row: Any, area_code: str) -> _Result:
    """One row of a result file, checked on its own (format only), or _Reject."""
    if not isinstance(row, dict):
        raise _Reject("record_format", _("A record is an object with named fields."))
    raw_id = row.get("record_id")
    if isinstance(raw_id, bool) or not re.fullmatch(r"[0-9]{1,18}", _text(row, "record_id")):
        raise _Reject(
            "record_id",
            _(
                "record_id must be the card's record number from the production file, got “%(value)s”."
            ),
            value=_text(row, "record_id"),
        )
    record_id = int(_text(row, "record_id"))
    result = _text(row, "result").lower()
    if result == RESULT_FAILED:
        reason = _text(row, "reason")
        if not reason:
            raise _Reject("reason_required", _("A failed record must say why it failed (reason)."))
        if len(reason) > 200:
            raise _Reject(
                "reason_too_long",
                _("The reason may have at most 200 characters, got %(length)d."),
                length=len(reason),
            )
        return _Result(line, record_id, RESULT_FAILED, reason=reason)
    if result != RESULT_OK:
        raise _Reject(
            "result",
            _("result must be “ok” or “failed”, got “%(value)s”."),
            value=_text(row, "result"),
        )
    card_number = _text(row, "card_number").upper()
    if not CARD_NUMBER.fullmatch(card_number):
        raise _Reject(
            "card_number_format",
            _("The card number must be 9 letters or digits, got “%(value)s”."),
            value=card_number,
        )
    code = _text(row, "identification_code").upper()
    if not IDENTIFICATION_CODE.fullmatch(code):
        raise _Reject(
            "identification_code_format",
            _("The identification code must be 16 letters or digits, got “%(value)s”."),
            value=code,
        )
    if not code.startswith(area_code):
        raise _Reject(
            "identification_code_area",
            _(
                "The identification code must start with the area's division code %(area)s, "
                "got “%(value)s”."
            ),
            area=area_code,
            value=code,
        )
    account = _text(row, "bank_account")
    if not BANK_ACCOUNT.fullmatch(account):
        raise _Reject(
            "bank_account_format",
            _("The bank account number must be 12 to 32 digits, got “%(value)s”."),
            value=account,
        )
    return _Result(line, record_id, RESULT_OK, card_number, code, account)


def _read_results(data: bytes, file_format: str) -> Iterator[tuple[int, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            _("The result file must be UTF-8 text; byte %(position)d is not."),
            code="file_encoding",
            field="file",
            params={"position": error.start},
        ) from None
    return _csv_rows(text) if file_format == "csv" else _json_rows(text)


class _Judge:
    """Decides, row by row, what the result file means for each card of the batch."""

    def __init__(self, batch: ProductionBatch, report: ImportReport) -> None:
        self.batch = batch
        self.report = report
        # The batch's cards as they are now: id → (state, number, code, account, frozen).
        self.cards = {
            pk: rest
            for pk, *rest in Card.objects.filter(batch=batch)
            .values_list(
                "pk", "state", "card_number", "identification_code", "bank_account", "frozen_at"
            )
            .iterator(chunk_size=5000)
        }
        self.seen: dict[int, _Result] = {}
        self.numbers: dict[str, _Result] = {}
        self.codes: dict[str, _Result] = {}
        self.accepted: dict[int, _Result] = {}
        self.elsewhere: list[_Result] = []  # cards not in this batch (now): judged together

    def judge(self, row: _Result) -> None:
        """Accept the row, count it unchanged, or raise _Reject."""
        card = self.cards.get(row.record_id)
        if card is None:
            self.elsewhere.append(row)
            return
        earlier = self.seen.get(row.record_id)
        if earlier is not None:
            if not earlier.same_as(row):
                raise _Reject(
                    "contradicts",
                    _("Record %(id)d already has a different result at line %(line)d."),
                    id=row.record_id,
                    line=earlier.line,
                )
            self.report.unchanged += 1
            return
        state, number, code, account, frozen_at = card
        if frozen_at is not None:
            raise _Reject("card_frozen", _("The card is frozen; its result cannot be recorded."))
        if state != CardState.IN_PRODUCTION:
            if row.result != RESULT_OK or (number, code, account) != (
                row.card_number,
                row.identification_code,
                row.bank_account,
            ):
                raise _Reject(
                    "contradicts",
                    _(
                        "The card was already produced with card number %(number)s; this result "
                        "contradicts it."
                    ),
                    number=number or "-",
                )
            self.seen[row.record_id] = row
            self.report.unchanged += 1
            return
        if row.result == RESULT_OK:
            for value, taken, what in (
                (row.card_number, self.numbers, _("card number")),
                (row.identification_code, self.codes, _("identification code")),
            ):
                other = taken.get(value)
                if other is not None:
                    raise _Reject(
                        "number_taken",
                        _(
                            "The %(what)s %(value)s is also given to record %(id)d at line %(line)d."
                        ),
                        what=what,
                        value=value,
                        id=other.record_id,
                        line=other.line,
                    )
            self.numbers[row.card_number] = row
            self.codes[row.identification_code] = row
        self.seen[row.record_id] = row
        self.accepted[row.record_id] = row

    def judge_elsewhere(self) -> None:
        """Rows for cards that are not (or no longer) in this batch."""
        for chunk in _chunks(self.elsewhere):
            ids = [row.record_id for row in chunk]
            existing = set(
                Card.objects.filter(area_id=self.batch.area_id, pk__in=ids).values_list(
                    "pk", flat=True
                )
            )
            failed_here = set(
                CardEvent.objects.filter(
                    area_id=self.batch.area_id,
                    card_id__in=ids,
                    operation=Op.PRODUCTION_FAILED,
                    detail__batch=self.batch.number,
                ).values_list("card_id", flat=True)
            )
            for row in chunk:
                if row.record_id not in existing:
                    refusal = _Reject(
                        "unknown_record",
                        _("There is no card with record_id %(id)d in this area."),
                        id=row.record_id,
                    )
                elif row.record_id in failed_here and row.result == RESULT_FAILED:
                    self.report.unchanged += 1
                    continue
                elif row.record_id in failed_here:
                    refusal = _Reject(
                        "contradicts",
                        _(
                            "This batch already reported the card as failed and it went back to "
                            "the queue; a later success contradicts that."
                        ),
                    )
                else:
                    refusal = _Reject(
                        "not_in_batch",
                        _("Card %(id)d is not in batch %(number)s."),
                        id=row.record_id,
                        number=self.batch.number,
                    )
                self.report.rejected.append(_rejection(row.line, row.record_id, refusal))


_STAGE = "shebao_card_result_stage"
_STAGE_COLUMNS = (
    "line",
    "record_id",
    "result",
    "card_number",
    "identification_code",
    "bank_account",
    "reason",
)


def _stage(rows: Iterable[_Result]) -> None:
    """Load the accepted rows into a temporary table (COPY on PostgreSQL)."""
    schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
    columns = ", ".join(_STAGE_COLUMNS)
    values = [
        (
            r.line,
            r.record_id,
            r.result,
            r.card_number,
            r.identification_code,
            r.bank_account,
            r.reason,
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {schema}.{_STAGE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_STAGE} (line integer, record_id bigint PRIMARY KEY, "
            "result varchar(8), card_number varchar(9), identification_code varchar(16), "
            "bank_account varchar(32), reason varchar(200))"
        )
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {_STAGE} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                values,
            )


def _stage_collisions() -> list[tuple[int, int, str, str, int]]:
    """Staged numbers already held by another card: (line, record, what, value, other card)."""
    table = _quote(Card._meta.db_table)
    found = []
    with connection.cursor() as cursor:
        for column in ("card_number", "identification_code"):
            cursor.execute(
                f"SELECT s.line, s.record_id, s.{column}, c.id FROM {_STAGE} s "  # noqa: S608
                f"JOIN {table} c ON c.{column} = s.{column} AND c.id <> s.record_id "
                "WHERE s.result = %s",
                [RESULT_OK],
            )
            found += [(line, record, column, value, other) for line, record, value, other in cursor]
    return found


def _apply_stage(
    *, actor: User, batch: ProductionBatch, at: dt.datetime, valid_from: dt.date, valid_to: dt.date
) -> tuple[int, int]:
    """Apply the staged results: produced cards get their numbers, failed ones go back to the queue."""
    table = _quote(Card._meta.db_table)
    events = _quote(CardEvent._meta.db_table)
    ops = connection.ops
    json_object = _json_object_function()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, card_number = s.card_number, "  # noqa: S608
            "identification_code = s.identification_code, bank_account = s.bank_account, "
            f"valid_from = %s, valid_to = %s, version = {table}.version + 1 "
            f"FROM {_STAGE} s WHERE {table}.id = s.record_id AND s.result = %s "
            f"AND {table}.batch_id = %s AND {table}.state = %s AND {table}.frozen_at IS NULL",
            [
                next_state(CardState.IN_PRODUCTION, Op.PRODUCE),
                ops.adapt_datefield_value(valid_from),
                ops.adapt_datefield_value(valid_to),
                RESULT_OK,
                batch.pk,
                CardState.IN_PRODUCTION,
            ],
        )
        produced = cursor.rowcount
        cursor.execute(
            f"UPDATE {table} SET state = %s, batch_id = NULL, version = version + 1 "  # noqa: S608
            f"WHERE id IN (SELECT record_id FROM {_STAGE} WHERE result = %s) "
            "AND batch_id = %s AND state = %s AND frozen_at IS NULL",
            [
                next_state(CardState.IN_PRODUCTION, Op.PRODUCTION_FAILED),
                RESULT_FAILED,
                batch.pk,
                CardState.IN_PRODUCTION,
            ],
        )
        failed = cursor.rowcount
        cursor.execute(f"SELECT result, COUNT(*) FROM {_STAGE} GROUP BY result")  # noqa: S608
        staged = dict(cursor.fetchall())
        if (produced, failed) != (staged.get(RESULT_OK, 0), staged.get(RESULT_FAILED, 0)):
            # Cannot happen while the batch row is locked; if it does, nothing is kept.
            raise Conflict(
                _("The cards of batch %(number)s changed during the import; import again."),
                code="batch_changed",
                params={"number": batch.number},
            )
        for result, operation, extra in (
            (RESULT_OK, Op.PRODUCE, "'card_number', card_number"),
            (RESULT_FAILED, Op.PRODUCTION_FAILED, "'reason', reason"),
        ):
            cursor.execute(
                f"INSERT INTO {events} (area_id, card_id, at, actor_id, operation, from_state, "  # noqa: S608
                "to_state, detail) "
                f"SELECT %s, record_id, %s, %s, %s, %s, %s, "
                f"{json_object}('batch', CAST(%s AS TEXT), {extra}) FROM {_STAGE} "
                "WHERE result = %s ORDER BY record_id",
                [
                    batch.area_id,
                    ops.adapt_datetimefield_value(at),
                    actor.pk,
                    operation,
                    CardState.IN_PRODUCTION,
                    next_state(CardState.IN_PRODUCTION, operation),
                    batch.number,
                    result,
                ],
            )
        cursor.execute(f"DROP TABLE {_STAGE}")
    return produced, failed


@transaction.atomic
def batch_import(
    *, actor: User, batch: ProductionBatch, data: bytes, file_format: str
) -> ImportReport:
    """Record the vendor's result file: one row per card, produced or failed.

    Rows are judged one by one; the report lists what was accepted, what was
    already recorded (unchanged) and every refused row with its line and
    reason. Importing the same file again changes nothing.
    """
    require(actor, "card.production", area_code=batch.area_id)
    _check_format(file_format)
    _lock_batch(batch)
    _refuse_frozen(batch)
    if batch.status == BatchStatus.OPEN:
        raise Conflict(
            _("Batch %(number)s has not been sent to the vendor yet; export it first."),
            code="batch_not_exported",
            params={"number": batch.number},
        )
    report = ImportReport(batch=batch.number, sha256=hashlib.sha256(data).hexdigest())
    judge = _Judge(batch, report)
    for line, raw in _read_results(data, file_format):
        report.rows += 1
        record_id = raw.get("record_id") if isinstance(raw, dict) else None
        try:
            judge.judge(_parse_row(line, raw, batch.area_id))
        except _Reject as refusal:
            report.rejected.append(_rejection(line, record_id, refusal))
    judge.judge_elsewhere()
    accepted = judge.accepted
    produced = failed = 0
    if accepted:
        _stage(accepted.values())
        collisions = _stage_collisions()
        if collisions:
            for line, record_id, column, value, other in collisions:
                accepted.pop(record_id, None)
                report.rejected.append(
                    _rejection(
                        line,
                        record_id,
                        _Reject(
                            "number_taken",
                            _("The %(what)s %(value)s already belongs to card %(other)d."),
                            what=_("card number")
                            if column == "card_number"
                            else _("identification code"),
                            value=value,
                            other=other,
                        ),
                    )
                )
            _stage(accepted.values())
        today = timezone.localdate()
        years = area_setting(batch.area_id, "card_validity_years")
        produced, failed = _apply_stage(
            actor=actor,
            batch=batch,
            at=timezone.now(),
            valid_from=today,
            valid_to=add_years(today, years),
        )
    report.produced, report.failed = produced, failed
    report.rejected.sort(key=lambda rejection: rejection.line)
    before = _batch_snapshot(batch)
    if not Card.objects.filter(batch=batch, state=CardState.IN_PRODUCTION).exists():
        batch.status = BatchStatus.COMPLETED
        batch.save(update_fields=["status"])
    report.completed = batch.status == BatchStatus.COMPLETED
    audit_record(
        actor=actor,
        action="card_batch.import",
        subject=batch,
        area_code=batch.area_id,
        before=before,
        after={
            **_batch_snapshot(batch),
            "format": file_format,
            "file_sha256": report.sha256,
            "rows": report.rows,
            "produced": produced,
            "failed": failed,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        },
    )
    return report


# --- distribution ------------------------------------------------------------------


@dataclass(frozen=True)
class NumberRejection:
    card_number: str
    code: str
    message: str


@dataclass
class MoveReport:
    """Cards moved by a shipment or a receipt, and the card numbers refused."""

    count: int = 0
    rejected: list[NumberRejection] = field(default_factory=list)


def _card_numbers(values: Iterable[str]) -> list[str]:
    """Card numbers as typed or scanned: spaces dropped, upper case, each once, in order."""
    numbers = dict.fromkeys("".join(str(v).split()).upper() for v in values)
    numbers.pop("", None)
    return list(numbers)


def _refuse_number(code: str, message: Any, card_number: str, **params: Any) -> NumberRejection:
    text = str(message) % params if params else str(message)
    return NumberRejection(card_number, code, text)


def _sort_numbers(
    area_code: str, numbers: list[str], accept: Callable[[Any], NumberRejection | None]
) -> tuple[list[int], list[NumberRejection]]:
    """Split card numbers into card ids to move and refusals, checking each against its card."""
    good: list[int] = []
    refused: list[NumberRejection] = []
    for chunk in _chunks(numbers):
        cards = {
            row["card_number"]: row
            for row in Card.objects.filter(area_id=area_code, card_number__in=chunk).values(
                "pk", "card_number", "state", "batch_id", "outlet_id", "frozen_at"
            )
        }
        for number in chunk:
            card = cards.get(number)
            if not CARD_NUMBER.fullmatch(number):
                refused.append(
                    _refuse_number(
                        "card_number_format",
                        _("A card number is 9 letters or digits, got “%(value)s”."),
                        number,
                        value=number,
                    )
                )
            elif card is None:
                refused.append(
                    _refuse_number(
                        "unknown_card", _("No card of this area has this number."), number
                    )
                )
            elif card["frozen_at"] is not None:
                refused.append(_refuse_number("card_frozen", _("The card is frozen."), number))
            else:
                refusal = accept(card)
                if refusal is None:
                    good.append(card["pk"])
                else:
                    refused.append(refusal)
    return good, refused


def _not_in_state(card: dict[str, Any], expected: str) -> NumberRejection:
    return _refuse_number(
        "card_state",
        _("The card is “%(state)s”; only a card that is “%(expected)s” can be taken here."),
        card["card_number"],
        state=CardState(card["state"]).label,
        expected=CardState(expected).label,
    )


def _check_outlet(outlet: Outlet, area_code: str) -> None:
    if outlet.area_id != area_code:
        raise InvalidInput(_("The outlet is in another area."), code="outlet_area", field="outlet")
    if not outlet.active:
        raise Conflict(
            _("Outlet %(outlet)s is closed; choose an open outlet."),
            code="outlet_inactive",
            field="outlet",
            params={"outlet": outlet.name},
        )


@transaction.atomic
def batch_ship(
    *,
    actor: User,
    batch: ProductionBatch,
    outlet: Outlet,
    card_numbers: Iterable[str] | None = None,
) -> MoveReport:
    """Send produced cards of a batch to a service outlet (all of them, or the numbers given)."""
    require(actor, "card.distribute", area_code=batch.area_id)
    _check_outlet(outlet, batch.area_id)
    _lock_batch(batch)
    _refuse_frozen(batch)
    report = MoveReport()
    now = timezone.now()
    detail = {"batch": batch.number, "outlet": outlet.code}

    def ship(cards: QuerySet[Card]) -> list[int]:
        return _transition_set(
            actor=actor,
            area_code=batch.area_id,
            cards=cards,
            operation=Op.SHIP,
            from_state=CardState.PRODUCED,
            at=now,
            detail=detail,
            outlet_id=outlet.pk,
        )

    moved: list[int] = []
    if card_numbers is None:
        moved = ship(Card.objects.filter(batch=batch))
    else:

        def accept(card: dict[str, Any]) -> NumberRejection | None:
            if card["batch_id"] != batch.pk:
                return _refuse_number(
                    "not_in_batch",
                    _("The card is not in batch %(number)s."),
                    card["card_number"],
                    number=batch.number,
                )
            if card["state"] != CardState.PRODUCED:
                return _not_in_state(card, CardState.PRODUCED)
            return None

        good, report.rejected = _sort_numbers(batch.area_id, _card_numbers(card_numbers), accept)
        for chunk in _chunks(good):
            moved += ship(Card.objects.filter(pk__in=chunk))
    if not moved and not report.rejected:
        raise Conflict(
            _("Batch %(number)s has no produced card waiting to be shipped."),
            code="nothing_to_ship",
            params={"number": batch.number},
        )
    report.count = len(moved)
    audit_record(
        actor=actor,
        action="card_batch.ship",
        subject=batch,
        area_code=batch.area_id,
        after={
            **detail,
            "cards": len(moved),
            "card_ids_sha256": _digest(moved),
            "refused": len(report.rejected),
        },
    )
    return report


@transaction.atomic
def outlet_receive(*, actor: User, outlet: Outlet, card_numbers: Iterable[str]) -> MoveReport:
    """The outlet receives shipped cards, by the numbers on them; other numbers are reported."""
    require(actor, "card.distribute", area_code=outlet.area_id)
    if Outlet.objects.filter(pk=outlet.pk, stock_frozen_at__isnull=False).exists():
        raise Conflict(
            _("The stock of %(outlet)s is frozen; lift the freeze before receiving cards."),
            code="outlet_frozen",
            field="card_numbers",
            params={"outlet": outlet.name},
        )
    numbers = _card_numbers(card_numbers)
    if not numbers:
        raise InvalidInput(
            _("List the numbers of the cards received."), code="required", field="card_numbers"
        )

    def accept(card: dict[str, Any]) -> NumberRejection | None:
        if card["state"] != CardState.SHIPPED:
            return _not_in_state(card, CardState.SHIPPED)
        if card["outlet_id"] != outlet.pk:
            return _refuse_number(
                "other_outlet", _("The card was shipped to another outlet."), card["card_number"]
            )
        return None

    good, refused = _sort_numbers(outlet.area_id, numbers, accept)
    now = timezone.now()
    moved: list[int] = []
    for chunk in _chunks(good):
        moved += _transition_set(
            actor=actor,
            area_code=outlet.area_id,
            cards=Card.objects.filter(pk__in=chunk),
            operation=Op.RECEIVE,
            from_state=CardState.SHIPPED,
            at=now,
            detail={"outlet": outlet.code},
            received_at=now,
        )
    audit_record(
        actor=actor,
        action="card.receive",
        subject=outlet,
        area_code=outlet.area_id,
        after={
            "outlet": outlet.code,
            "cards": len(moved),
            "card_ids_sha256": _digest(moved),
            "refused": [r.card_number for r in refused],
        },
    )
    return MoveReport(count=len(moved), rejected=refused)


def _months_before(moment: dt.datetime, months: int) -> dt.datetime:
    local = timezone.localtime(moment)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


@transaction.atomic
def cards_seal_unclaimed(*, actor: User, area: Area) -> int:
    """Seal the cards waiting at outlets longer than the area's months (default 6)."""
    require(actor, "card.distribute", area_code=area.code)
    months = area_setting(area.code, "unclaimed_seal_months")
    now = timezone.now()
    cutoff = _months_before(now, months)
    sealed = _transition_set(
        actor=actor,
        area_code=area.code,
        cards=Card.objects.filter(
            area_id=area.code, state=CardState.AT_OUTLET, received_at__lt=cutoff
        ),
        operation=Op.SEAL,
        from_state=CardState.AT_OUTLET,
        at=now,
        detail={"months": months},
    )
    audit_record(
        actor=actor,
        action="card.seal_unclaimed",
        subject=area,
        area_code=area.code,
        after={
            "months": months,
            "received_before": cutoff,
            "cards": len(sealed),
            "card_ids_sha256": _digest(sealed),
        },
    )
    return len(sealed)


def _take_out_of_stock(
    actor: User, card: Card, operation: str, reason: str, expected_version: int | None
) -> Card:
    require(actor, "card.distribute", area_code=card.area_id)
    reason = required_text(reason, "reason", max_length=200)
    return _transition(
        actor=actor,
        card=card,
        operation=operation,
        expected_version=expected_version,
        detail={"reason": reason},
    )


@transaction.atomic
def card_return(
    *, actor: User, card: Card, reason: str, expected_version: int | None = None
) -> Card:
    """Send a card in stock (at an outlet or sealed) back to the vendor or bank."""
    return _take_out_of_stock(actor, card, Op.RETURN, reason, expected_version)


@transaction.atomic
def card_destroy(
    *, actor: User, card: Card, reason: str, expected_version: int | None = None
) -> Card:
    """Destroy a card that was never handed over (in stock, sealed or returned)."""
    return _take_out_of_stock(actor, card, Op.DESTROY, reason, expected_version)


# --- stock -------------------------------------------------------------------------


@transaction.atomic
def stock_count(*, actor: User, outlet: Outlet, card_numbers: Iterable[str]) -> StockCount:
    """Record a physical count of an outlet's stock with the differences from the records."""
    require(actor, "card.distribute", area_code=outlet.area_id)
    counted = _card_numbers(card_numbers)
    malformed = [number for number in counted if not CARD_NUMBER.fullmatch(number)]
    if malformed:
        raise InvalidInput(
            _("These are not card numbers (9 letters or digits): %(numbers)s."),
            code="card_number_format",
            field="card_numbers",
            params={"numbers": ", ".join(malformed[:20])},
        )
    expected = set(
        Card.objects.filter(
            area_id=outlet.area_id, outlet=outlet, state__in=STOCK_STATES
        ).values_list("card_number", flat=True)
    )
    found = set(counted)
    count = StockCount.objects.create(
        area_id=outlet.area_id,
        outlet=outlet,
        counted_by=actor,
        counted=sorted(found),
        missing=sorted(number for number in expected - found if number),
        unexpected=sorted(found - expected),
    )
    audit_record(
        actor=actor,
        action="stock_count.record",
        subject=count,
        area_code=outlet.area_id,
        after={
            "outlet": outlet.code,
            "counted": len(found),
            "expected": len(expected),
            "missing": count.missing,
            "unexpected": count.unexpected,
        },
    )
    return count


# --- reconciliation --------------------------------------------------------------

HANDED_OVER_STATES = (
    CardState.ISSUED,
    CardState.ACTIVE,
    CardState.TEMPORARY_LOSS,
    CardState.FORMAL_LOSS,
    CardState.PIN_LOCKED,
    CardState.EXPIRED,
)
# Where a produced card can be, as lines of the report, in the order of a card's life.
RECONCILIATION_LINES: list[tuple[str, Any, Q]] = [
    ("not_shipped", _("Produced, not yet shipped"), Q(state=CardState.PRODUCED)),
    ("in_transit", _("In transit to an outlet"), Q(state=CardState.SHIPPED)),
    ("in_stock", _("In stock at an outlet"), Q(state__in=STOCK_STATES)),
    (
        "handed_over",
        _("Handed over to the holder"),
        Q(state__in=HANDED_OVER_STATES) | Q(state=CardState.CANCELLED, issued_at__isnull=False),
    ),
    ("returned", _("Returned to the vendor or bank"), Q(state=CardState.RETURNED)),
    ("destroyed", _("Destroyed"), Q(state=CardState.DESTROYED)),
    (
        "cancelled_before_hand_over",
        _("Cancelled before hand-over"),
        Q(state=CardState.CANCELLED, issued_at__isnull=True),
    ),
]
AFTER_PRODUCTION_STATES = (
    CardState.PRODUCED,
    CardState.SHIPPED,
    *STOCK_STATES,
    *HANDED_OVER_STATES,
    CardState.RETURNED,
    CardState.DESTROYED,
    CardState.CANCELLED,
)


@dataclass(frozen=True)
class ReconciliationLine:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Discrepancy:
    card_id: int | None
    card_number: str
    state: str
    outlet_id: int | None
    code: str
    message: str


@dataclass
class Reconciliation:
    area: str
    outlet_id: int | None
    produced: int
    lines: list[ReconciliationLine]
    discrepancies: list[Discrepancy]

    @property
    def accounted(self) -> int:
        return sum(line.count for line in self.lines)

    @property
    def balanced(self) -> bool:
        return self.accounted == self.produced and not self.discrepancies


def _discrepancy(
    card: Card | None, number: str, code: str, message: Any, **params: Any
) -> Discrepancy:
    return Discrepancy(
        card_id=card.pk if card else None,
        card_number=(card.card_number or "") if card else number,
        state=card.state if card else "",
        outlet_id=card.outlet_id if card else None,
        code=code,
        message=str(message) % params if params else str(message),
    )


def card_reconciliation(user: User, *, area: Area, outlet: Outlet | None = None) -> Reconciliation:
    """Produced cards = not shipped + in transit + in stock + handed over + returned + destroyed
    + cancelled before hand-over, for an area or one outlet; every card that does not fit is
    listed: a produced card in no line, a card past production with no production record, a
    card of the stock without an outlet, and the differences of each outlet's latest count."""
    _require_staff(user)
    cards = cards_for(user).filter(area_id=area.code).exclude(kind=CardKind.TEMPORARY)
    if outlet is not None:
        cards = cards.filter(outlet=outlet)
    was_produced = Exists(
        CardEvent.objects.filter(area_id=area.code, card_id=OuterRef("pk"), operation=Op.PRODUCE)
    )
    produced_cards = cards.filter(was_produced)
    counts = produced_cards.aggregate(
        produced=Count("pk"),
        **{key: Count("pk", filter=condition) for key, _label, condition in RECONCILIATION_LINES},
    )
    lines = [
        ReconciliationLine(key, str(label), counts[key] or 0)
        for key, label, _condition in RECONCILIATION_LINES
    ]
    fitting = Q()
    for _key, _label, condition in RECONCILIATION_LINES:
        fitting |= condition
    found: list[Discrepancy] = []
    for card in produced_cards.exclude(fitting).order_by("pk").iterator():
        found.append(
            _discrepancy(
                card,
                "",
                "state_after_production",
                _("The card was produced but is now “%(state)s”, a state before production."),
                state=card.get_state_display(),
            )
        )
    for card in (
        cards.filter(state__in=AFTER_PRODUCTION_STATES)
        .exclude(was_produced)
        .order_by("pk")
        .iterator()
    ):
        found.append(
            _discrepancy(
                card,
                "",
                "no_production_record",
                _("The card is “%(state)s” but no production result was ever recorded for it."),
                state=card.get_state_display(),
            )
        )
    for card in (
        cards.filter(state__in=(CardState.SHIPPED, *STOCK_STATES), outlet__isnull=True)
        .order_by("pk")
        .iterator()
    ):
        found.append(
            _discrepancy(
                card,
                "",
                "no_outlet",
                _("The card is “%(state)s” but no outlet is recorded for it."),
                state=card.get_state_display(),
            )
        )
    outlets = [outlet] if outlet is not None else list(Outlet.objects.filter(area_id=area.code))
    for place in outlets:
        found += _count_differences(area, place)
    return Reconciliation(
        area.code, outlet.pk if outlet else None, counts["produced"], lines, found
    )


def _count_differences(area: Area, outlet: Outlet) -> list[Discrepancy]:
    """What the outlet's latest count found different from the records, and is still so."""
    latest = (
        StockCount.objects.filter(area_id=area.code, outlet=outlet)
        .order_by("-counted_at", "-pk")
        .first()
    )
    if latest is None:
        return []
    on = timezone.localtime(latest.counted_at).date().isoformat()
    found = []
    numbers = [*latest.missing, *latest.unexpected]
    cards = {}
    for chunk in _chunks(numbers):
        cards.update(
            {
                c.card_number: c
                for c in Card.objects.filter(area_id=area.code, card_number__in=chunk)
            }
        )
    for number in latest.missing:
        card = cards.get(number)
        if card is not None and card.outlet_id == outlet.pk and card.state in STOCK_STATES:
            found.append(
                _discrepancy(
                    card,
                    number,
                    "missing_at_count",
                    _(
                        "In stock at %(outlet)s by the records, but missing at the count of %(day)s."
                    ),
                    outlet=outlet.name,
                    day=on,
                )
            )
    for number in latest.unexpected:
        card = cards.get(number)
        if card is not None and card.outlet_id == outlet.pk and card.state in STOCK_STATES:
            continue  # received since the count: the records caught up
        found.append(
            _discrepancy(
                card,
                number,
                "found_at_count",
                _(
                    "Found at %(outlet)s at the count of %(day)s, but not in its stock by the records."
                ),
                outlet=outlet.name,
                day=on,
            )
        )
    return found
