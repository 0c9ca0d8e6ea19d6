from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shebao.accounts.models import ApiToken, LoginAttempt, User
from shebao.accounts.roles import can
from shebao.core.admin_base import ShebaoAdmin, actor_of


@admin.register(User)
class UserAdmin(ShebaoAdmin):
    """Accounts are created with `shebao user create` or the API; here they are reviewed."""

    list_display = ["username", "full_name", "role", "area", "employer", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "full_name"]
    fields = [
        "username",
        "full_name",
        "role",
        "area",
        "employer",
        "person",
        "is_active",
        "last_login",
        "date_joined",
    ]
    readonly_fields = [
        "username",
        "role",
        "area",
        "employer",
        "person",
        "last_login",
        "date_joined",
    ]
    change_capability = "user.manage"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ShebaoAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    exclude = ["digest"]
    area_field = "user__area_id"


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ShebaoAdmin):
    list_display = ["at", "username", "address", "succeeded"]
    list_filter = ["succeeded"]
    search_fields = ["=username", "=address"]
    area_field = None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can(actor_of(request), "audit.read")
