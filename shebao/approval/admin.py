"""Area approval in the back office: read-only tables for review and audit.

Applications, documents, checklists and drills change only through the
approval services (portal pages, API, `shebao drill`), never by editing a row.
"""

from __future__ import annotations

from django.contrib import admin

from shebao.approval.models import (
    ApplicationDocument,
    AreaApplication,
    ConditionItem,
    DrillRecord,
    ExtraCondition,
    ReapprovalHold,
)
from shebao.core.admin_base import ShebaoAdmin


@admin.register(AreaApplication)
class AreaApplicationAdmin(ShebaoAdmin):
    list_display = ["id", "area", "kind", "status", "vendor", "submitted_at", "decided_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["created_by", "submitted_by", "decided_by"]


@admin.register(ApplicationDocument)
class ApplicationDocumentAdmin(ShebaoAdmin):
    list_display = ["area", "kind", "version", "name", "size", "sha256", "uploaded_at"]
    list_filter = ["kind"]
    raw_id_fields = ["application", "uploaded_by"]


@admin.register(ConditionItem)
class ConditionItemAdmin(ShebaoAdmin):
    list_display = ["application", "condition", "code", "status", "checked_at"]
    list_filter = ["condition", "status", "source"]
    raw_id_fields = ["application", "document", "checked_by", "extra_condition"]
    area_field = "application__area_id"


@admin.register(ExtraCondition)
class ExtraConditionAdmin(ShebaoAdmin):
    list_display = ["title", "all_areas", "active", "created_at"]
    list_filter = ["active", "all_areas"]
    area_field = None


@admin.register(ReapprovalHold)
class ReapprovalHoldAdmin(ShebaoAdmin):
    list_display = ["area", "document", "raised_at", "lifted_at"]
    raw_id_fields = ["document", "raised_by", "lifted_by_application"]


@admin.register(DrillRecord)
class DrillRecordAdmin(ShebaoAdmin):
    list_display = ["area", "kind", "done_at", "outcome", "by"]
    list_filter = ["kind", "outcome"]
    raw_id_fields = ["by"]
