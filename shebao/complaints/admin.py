"""Complaints in the back office: read-only tables for review and audit.

Cases change only through the complaint services (portal pages, API), never
by editing a row here.
"""

from __future__ import annotations

from django.contrib import admin

from shebao.complaints.models import Complaint, ComplaintEvent
from shebao.core.admin_base import ShebaoAdmin


@admin.register(Complaint)
class ComplaintAdmin(ShebaoAdmin):
    list_display = [
        "reference",
        "kind",
        "status",
        "employer",
        "person",
        "assignee",
        "deadline",
        "created_at",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["=reference"]
    raw_id_fields = ["person", "employer", "assignee", "transferred_from", "filed_by"]
    show_full_result_count = False


@admin.register(ComplaintEvent)
class ComplaintEventAdmin(ShebaoAdmin):
    list_display = ["at", "complaint", "operation", "from_status", "to_status", "actor"]
    list_filter = ["operation"]
    raw_id_fields = ["complaint", "actor"]
    show_full_result_count = False
