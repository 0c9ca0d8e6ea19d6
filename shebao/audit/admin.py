from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shebao.accounts.roles import can
from shebao.audit.models import AccessEvent, AuditEvent
from shebao.core.admin_base import ShebaoAdmin, actor_of


class AuditorOnly(ShebaoAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return can(actor_of(request), "audit.read")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


@admin.register(AuditEvent)
class AuditEventAdmin(AuditorOnly):
    list_display = ["chain", "seq", "at", "actor_name", "action", "subject_type", "subject_id"]
    list_filter = ["action"]
    search_fields = ["=subject_id", "actor_name", "action"]
    area_field = "chain"
    show_full_result_count = False


@admin.register(AccessEvent)
class AccessEventAdmin(AuditorOnly):
    list_display = ["at", "actor", "action", "area_code", "person_ids"]
    list_filter = ["action"]
    area_field = "area_code"
    show_full_result_count = False
