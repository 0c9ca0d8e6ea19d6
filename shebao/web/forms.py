from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from shebao.core.errors import DomainError


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "Too many failed sign-ins for this account. Wait %(minutes)d minutes and try again, "
            "or ask your area administrator."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})

    def get_invalid_login_error(self) -> forms.ValidationError:
        if getattr(self.request, "login_locked", False):
            from django.conf import settings

            return forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": settings.LOGIN_FAILURE_WINDOW_MINUTES},
            )
        return super().get_invalid_login_error()


class DateInput(forms.DateInput):
    input_type = "date"


class PersonForm(forms.Form):
    id_number = forms.CharField(
        label=_("Identity number"),
        max_length=24,
        help_text=_("18 characters; birth date and sex are taken from it."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class EmployerForm(forms.Form):
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=24)
    name = forms.CharField(label=_("Name"), max_length=200)
    established_on = forms.DateField(label=_("Established on"), widget=DateInput)
    registered_on = forms.DateField(
        label=_("Registered on"),
        widget=DateInput,
        required=False,
        help_text=_("Leave empty for today."),
    )
    industry_risk_class = forms.TypedChoiceField(
        label=_("Industry risk class"), coerce=int, choices=[(n, str(n)) for n in range(1, 9)]
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)


class EmploymentForm(forms.Form):
    id_number = forms.CharField(label=_("Identity number"), max_length=24)
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Needed only when the person is not registered yet."),
    )
    start_date = forms.DateField(label=_("Start date"), widget=DateInput)
    registered_on = forms.DateField(
        label=_("Registered on"),
        widget=DateInput,
        required=False,
        help_text=_("Leave empty for today."),
    )


class EmploymentEndForm(forms.Form):
    end_date = forms.DateField(label=_("End date"), widget=DateInput)
    reason = forms.CharField(label=_("End reason"), max_length=200, required=False)


def attach_error(form: forms.Form, error: DomainError, *, fallback: str = "") -> None:
    """Show a service's refusal at the field it names (or `fallback`), with the cursor
    there; a refusal about no field of this form goes above it."""
    name = error.field if error.field in form.fields else fallback
    if name in form.fields:
        form.add_error(name, error.message)
        form.fields[name].widget.attrs["autofocus"] = True
    else:
        form.add_error(None, error.message)
