from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shebao.core.admin_base import ShebaoAdmin, actor_of
from shebao.registry import services
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Area, AreaSetting, Employer, Employment, Outlet, Person


@admin.register(Area)
class AreaAdmin(ShebaoAdmin):
    list_display = ["code", "name", "status", "issuer_id", "created_at"]
    search_fields = ["code", "name"]
    list_filter = ["status"]
    change_capability = "area.create"
    area_field = "code"
    readonly_fields = ["status", "issuer_id"]

    def save_model(self, request: HttpRequest, obj: Area, form: Any, change: bool) -> None:
        if change:
            services.area_update(actor=actor_of(request), area=obj, name=obj.name)
        else:
            created = services.area_create(actor=actor_of(request), code=obj.code, name=obj.name)
            obj.pk = created.pk


@admin.register(AreaSetting)
class AreaSettingAdmin(ShebaoAdmin):
    list_display = ["area", "key", "value", "valid_from", "valid_to", "note"]
    list_filter = ["key"]
    change_capability = "area.configure"
    readonly_fields = ["valid_to"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A value, once in force, is history: change it by adding a new period.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: AreaSetting, form: Any, change: bool) -> None:
        created = services.area_setting_set(
            actor=actor_of(request),
            area=obj.area,
            key=obj.key,
            value=obj.value,
            valid_from=obj.valid_from,
            note=obj.note,
        )
        obj.pk = created.pk


@admin.register(Outlet)
class OutletAdmin(ShebaoAdmin):
    list_display = ["code", "name", "area", "address", "phone", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    change_capability = "outlet.manage"


@admin.register(Person)
class PersonAdmin(ShebaoAdmin):
    """Read-only here: persons are registered at the counter, online or by employers."""

    list_display = ["name", "masked_id_number", "birth_date", "sex", "status", "area"]
    list_filter = ["status", "sex"]
    search_fields = ["=id_number", "name"]
    exclude = ["id_number"]
    show_full_result_count = False

    @admin.display(description="ID")
    def masked_id_number(self, obj: Person) -> str:
        return mask_identity_number(obj.id_number)


@admin.register(Employer)
class EmployerAdmin(ShebaoAdmin):
    list_display = [
        "name",
        "credit_code",
        "established_on",
        "registered_on",
        "late_registration",
        "industry_risk_class",
        "status",
    ]
    list_filter = ["late_registration", "status", "industry_risk_class"]
    search_fields = ["=credit_code", "name"]
    show_full_result_count = False


@admin.register(Employment)
class EmploymentAdmin(ShebaoAdmin):
    list_display = [
        "person",
        "employer",
        "start_date",
        "end_date",
        "registered_on",
        "late_registration",
    ]
    list_filter = ["late_registration"]
    raw_id_fields = ["person", "employer"]
    show_full_result_count = False
