"""Statements in the back office: read-only, and without their content.

A statement's content is personal data read through the portal and the API,
where each reading by staff is logged; the admin lists only what identifies
the document (person id, period, digest) for those who read statements.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from shebao.accounts.roles import can
from shebao.core.admin_base import ShebaoAdmin, actor_of
from shebao.inquiry.models import Statement, StatementBatch


class _StatementReaders(ShebaoAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return can(actor_of(request), "statement.read")


@admin.register(Statement)
class StatementAdmin(_StatementReaders):
    list_display = ["person_id", "kind", "year", "as_of", "created_at", "digest"]
    list_filter = ["kind", "year"]
    fields = ("area", "person_id", "kind", "year", "as_of", "digest", "key", "created_at")
    readonly_fields = fields


@admin.register(StatementBatch)
class StatementBatchAdmin(_StatementReaders):
    list_display = ["area", "year", "status", "done", "total", "started_at", "finished_at"]
    readonly_fields = [
        "area",
        "year",
        "status",
        "total",
        "done",
        "error",
        "started_by",
        "started_at",
        "finished_at",
    ]
