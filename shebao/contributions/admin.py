"""Contributions in the back office.

Policies are read here and set through `policy_set` (API or `shebao policy
load`), which closes the previous period; crediting rates are national data
that the ministry adds each year.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shebao.contributions.models import (
    Bill,
    CreditingRate,
    DeclarationUpload,
    Policy,
    PolicyRate,
    WorkInjuryRate,
)
from shebao.core.admin_base import ShebaoAdmin


class PolicyRateInline(admin.TabularInline):
    model = PolicyRate
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # whoever may see the policy sees its rates

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WorkInjuryRateInline(PolicyRateInline):
    model = WorkInjuryRate  # type: ignore[assignment]


@admin.register(Policy)
class PolicyAdmin(ShebaoAdmin):
    list_display = ["area", "valid_from", "valid_to", "average_monthly_wage", "payment_due_day"]
    inlines = [PolicyRateInline, WorkInjuryRateInline]


@admin.register(CreditingRate)
class CreditingRateAdmin(ShebaoAdmin):
    list_display = ["year", "rate"]
    change_capability = "area.approve"  # the ministry
    area_field = None


@admin.register(DeclarationUpload)
class DeclarationUploadAdmin(ShebaoAdmin):
    list_display = [
        "employer",
        "period",
        "filename",
        "status",
        "rows_read",
        "rows_accepted",
        "rows_rejected",
        "created_at",
    ]
    list_filter = ["status"]
    exclude = ["errors"]
    raw_id_fields = ["employer", "created_by"]


@admin.register(Bill)
class BillAdmin(ShebaoAdmin):
    list_display = ["employer", "period", "kind", "employer_cents", "individual_cents", "due_on"]
    list_filter = ["kind"]
    raw_id_fields = ["employer"]
    show_full_result_count = False
