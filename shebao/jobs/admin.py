"""Jobs in the back office: read-only; jobs are started from the portal and end by themselves."""

from __future__ import annotations

from django.contrib import admin

from shebao.core.admin_base import ShebaoAdmin
from shebao.jobs.models import Job


@admin.register(Job)
class JobAdmin(ShebaoAdmin):
    list_display = ["id", "area", "kind", "status", "done", "total", "created_by", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["created_by"]
    ordering = ["-created_at"]
