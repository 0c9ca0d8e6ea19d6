"""Staff, equipment and plans in the back office: read-only tables for review
and audit. Rows change only through `plans.services` (portal pages, API)."""

from __future__ import annotations

from django.contrib import admin

from shebao.core.admin_base import ShebaoAdmin
from shebao.plans.models import Counter, Device, DeviceStatusChange, Plan, Training


@admin.register(Counter)
class CounterAdmin(ShebaoAdmin):
    list_display = ["outlet", "number", "kind", "active"]
    list_filter = ["kind", "active"]


@admin.register(Device)
class DeviceAdmin(ShebaoAdmin):
    list_display = ["serial_number", "kind", "outlet", "counter", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["=serial_number"]


@admin.register(DeviceStatusChange)
class DeviceStatusChangeAdmin(ShebaoAdmin):
    list_display = ["at", "device", "from_status", "to_status", "actor", "reason"]
    raw_id_fields = ["device", "actor"]


@admin.register(Training)
class TrainingAdmin(ShebaoAdmin):
    list_display = ["user", "course", "completed_on", "valid_until", "certificate"]
    list_filter = ["course"]
    raw_id_fields = ["user", "recorded_by"]


@admin.register(Plan)
class PlanAdmin(ShebaoAdmin):
    list_display = ["area", "year", "kind", "version", "valid_from", "created_by", "created_at"]
    list_filter = ["kind", "year"]
