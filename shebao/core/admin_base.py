"""The base of every back-office table in the Django admin.

Rights come from shebao's roles, not Django's per-model permissions: an admin
class names the capability that may change its rows and how to scope its
rows to the user's area. Saves and deletes are written with an audit event in
the same transaction, like every other write.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from shebao.accounts.models import User
from shebao.accounts.roles import STAFF, Role, can
from shebao.audit.services import audit_record, snapshot


def actor_of(request: HttpRequest) -> User:
    """The signed-in user of an admin request (the admin admits no anonymous user)."""
    return cast(User, request.user)


def area_code_of(obj: models.Model) -> str | None:
    for attr in ("area_id", "area_code"):
        if value := getattr(obj, attr, None):
            return str(value)
    if obj._meta.label_lower == "registry.area":
        return str(obj.pk)
    return None


class ShebaoAdmin(admin.ModelAdmin):
    # Capability that may add/change rows; None makes the table read-only.
    change_capability: str | None = None
    # Field holding the area code, to scope rows for area staff.
    area_field: str | None = "area_id"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and getattr(request.user, "role", None) in STAFF)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(self.change_capability and can(actor_of(request), self.change_capability))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are closed or ended, never deleted

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        user = request.user
        if getattr(user, "role", None) == Role.MINISTRY_ADMIN or self.area_field is None:
            return rows
        return rows.filter(**{self.area_field: getattr(user, "area_id", None)})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            audit_record(
                actor=actor_of(request),
                action=f"{obj._meta.model_name}.{'update' if change else 'create'}.admin",
                subject=obj,
                area_code=area_code_of(obj),
                before=before,
                after=snapshot(obj),
            )
