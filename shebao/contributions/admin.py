"""Contributions in the back office.

A policy is added here with all its rates on one form, through `policy_set`
(as the API and `shebao policy load` do), which closes the previous period;
a policy no month has been billed under yet may be corrected in place
(`policy_correct`), and one that has been used is history and read-only.
Crediting rates are national data that the ministry adds each year.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.contributions.models import (
    Bill,
    CreditingRate,
    DeclarationUpload,
    FlexibleBill,
    FlexibleEnrolment,
    FlexiblePayment,
    Insurance,
    Policy,
    PolicyRate,
    WorkInjuryRate,
)
from shebao.contributions.services import (
    check_policy_rates,
    policy_correct,
    policy_in_use,
    policy_set,
)
from shebao.core.admin_base import ShebaoAdmin, actor_of
from shebao.core.errors import DomainError
from shebao.registry.models import Area

RATED = [i for i in Insurance if i != Insurance.WORK_INJURY]
RISK_CLASSES = range(1, 9)
# The policy's own fields the form edits; the period's end is set by the next policy.
POLICY_FIELDS = [
    f.name
    for f in Policy._meta.concrete_fields
    if f.name not in ("id", "area", "valid_from", "valid_to")
]


def _rate_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=7,
        decimal_places=5,
        min_value=0,
        max_value=Decimal("0.99999"),
        help_text=_("A fraction: 0.08 means 8 percent"),
    )


class PolicyFormBase(forms.ModelForm):
    """The policy and every rate of it on one form, checked as the services check them."""

    class Meta:
        model = Policy
        fields = ["area", "valid_from", *POLICY_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.instance if self.instance.pk else self.initial.get("_current")
        if source is not None:
            for rate in source.rates.all():
                self.initial[f"{rate.insurance}_employer"] = rate.employer_rate
                self.initial[f"{rate.insurance}_individual"] = rate.individual_rate
            for injury in source.work_injury_rates.all():
                self.initial[f"work_injury_{injury.risk_class}"] = injury.rate

    def rates(self) -> dict[str, tuple[Decimal, Decimal]]:
        data = self.cleaned_data
        return {
            i.value: (data[f"{i.value}_employer"], data[f"{i.value}_individual"]) for i in RATED
        }

    def work_injury_rates(self) -> dict[int, Decimal]:
        return {k: self.cleaned_data[f"work_injury_{k}"] for k in RISK_CLASSES}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            check_policy_rates(self.rates(), self.work_injury_rates())
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        if self.instance.pk:
            if policy_in_use(self.instance):
                raise forms.ValidationError(
                    _(
                        "Months have been billed under this policy, so it can no longer be "
                        "corrected; add a new policy from the month the change applies."
                    )
                )
            return data
        start = data["valid_from"]
        if start.day != 1:
            self.add_error("valid_from", _("A policy starts on the first day of a month."))
        elif Policy.objects.filter(area=data["area"], valid_from__gte=start).exists():
            self.add_error(
                "valid_from",
                _("A policy from this month or later exists; a new one must start after it."),
            )
        return data


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


# The rate fields are declared on the class, so the admin knows them as fields.
PolicyForm = type(
    "PolicyForm",
    (PolicyFormBase,),
    {
        **{
            f"{i.value}_{side}": _rate_field(format_lazy("{}: {}", i.label, label))
            for i in RATED
            for side, label in (
                ("employer", _("employer rate")),
                ("individual", _("individual rate")),
            )
        },
        **{
            f"work_injury_{k}": _rate_field(format_lazy("{} {}", _("Work injury, risk class"), k))
            for k in RISK_CLASSES
        },
    },
)


@admin.register(Policy)
class PolicyAdmin(ShebaoAdmin):
    form = PolicyForm
    change_capability = "policy.manage"
    list_display = ["area", "valid_from", "valid_to", "average_monthly_wage", "payment_due_day"]
    list_filter = ["area"]
    inlines = [PolicyRateInline, WorkInjuryRateInline]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        rates = [f"{i.value}_{side}" for i in RATED for side in ("employer", "individual")]
        injury = [f"work_injury_{k}" for k in RISK_CLASSES]
        if obj is not None and (policy_in_use(obj) or not self.has_change_permission(request)):
            # History: the policy's figures, with its rates in the tables below.
            return [(None, {"fields": ["area", "valid_from", "valid_to", *POLICY_FIELDS]})]
        return [
            (None, {"fields": ["area", "valid_from", "valid_to", *POLICY_FIELDS]}),
            (_("Rates"), {"fields": rates}),
            (_("Work-injury rates by industry risk class"), {"fields": injury}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["valid_to"]
        if policy_in_use(obj) or not self.has_change_permission(request, obj):
            return [f.name for f in Policy._meta.concrete_fields if f.name != "id"]
        return ["area", "valid_from", "valid_to"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new policy starts from the one in force, so only what changes is typed."""
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        user: User = actor_of(request)
        current = (
            Policy.objects.filter(area_id=user.area_id, valid_to__isnull=True).first()
            if user.area_id
            else None
        )
        if current is not None:
            initial["_current"] = current
            initial["area"] = current.area_id
            for name in POLICY_FIELDS:
                initial[name] = getattr(current, name)
        return initial

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "area":
            user = actor_of(request)
            areas: QuerySet[Area] = Area.objects.all()
            if user.role != Role.MINISTRY_ADMIN:
                areas = areas.filter(code=user.area_id)
            kwargs["queryset"] = areas
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        options = {name: form.cleaned_data[name] for name in POLICY_FIELDS}
        options.pop("average_monthly_wage")
        common = {
            "actor": actor_of(request),
            "average_monthly_wage": form.cleaned_data["average_monthly_wage"],
            "rates": form.rates(),
            "work_injury_rates": form.work_injury_rates(),
            **options,
        }
        if change:
            saved = policy_correct(policy=obj, **common)
        else:
            saved = policy_set(area=obj.area, valid_from=obj.valid_from, **common)
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The rates were written by the service with the policy; the inlines only show them."""
        for formset in formsets:
            formset.save(commit=False)  # read-only: nothing to save, only to report

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []


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


# Flexible workers: read here, written through `contributions.flexible`
# (enrolment, the billing run, payments).
@admin.register(FlexibleEnrolment)
class FlexibleEnrolmentAdmin(ShebaoAdmin):
    list_display = ["person", "valid_from", "valid_to", "base_ratio", "medical", "created_at"]
    list_filter = ["medical"]
    raw_id_fields = ["person", "created_by"]


@admin.register(FlexibleBill)
class FlexibleBillAdmin(ShebaoAdmin):
    list_display = ["person", "period", "base_cents", "pension_cents", "account_cents", "due_on"]
    raw_id_fields = ["person", "enrolment", "run"]
    show_full_result_count = False


@admin.register(FlexiblePayment)
class FlexiblePaymentAdmin(ShebaoAdmin):
    list_display = ["bank_reference", "person", "amount_cents", "paid_on", "source"]
    list_filter = ["source"]
    raw_id_fields = ["person", "created_by"]
