"""Cards in the back office: read-only tables for review and audit.

Cards change only through the lifecycle services (counter pages, API), never
by editing a row here.
"""

from __future__ import annotations

from django.contrib import admin

from shebao.cards.models import Card, CardEvent, CardFee, ProductionBatch, StockCount
from shebao.core.admin_base import ShebaoAdmin


@admin.register(Card)
class CardAdmin(ShebaoAdmin):
    list_display = [
        "id",
        "card_number",
        "person",
        "kind",
        "state",
        "account_class",
        "bank",
        "outlet",
        "valid_to",
        "frozen_at",
    ]
    list_filter = ["state", "kind", "account_class", "channel"]
    search_fields = ["=card_number", "=identification_code"]
    raw_id_fields = ["person", "replaces", "batch", "outlet", "submitted_by", "approved_by"]
    exclude = ["bank_account"]
    show_full_result_count = False


@admin.register(CardEvent)
class CardEventAdmin(ShebaoAdmin):
    list_display = ["at", "card", "operation", "from_state", "to_state", "actor"]
    list_filter = ["operation"]
    raw_id_fields = ["card", "actor"]
    show_full_result_count = False


@admin.register(ProductionBatch)
class ProductionBatchAdmin(ShebaoAdmin):
    list_display = [
        "number",
        "vendor",
        "status",
        "card_count",
        "created_at",
        "exported_at",
        "frozen_at",
    ]
    list_filter = ["status"]


@admin.register(CardFee)
class CardFeeAdmin(ShebaoAdmin):
    list_display = ["card", "reason", "amount", "status", "receipt_number", "cashier", "paid_at"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["card", "handled_by", "cashier"]


@admin.register(StockCount)
class StockCountAdmin(ShebaoAdmin):
    list_display = ["outlet", "counted_at", "counted_by"]
