"""Flexible workers in the portal.

On the person page (`person_section`, shown by the `flexible_section` tag)
staff of the area see the person's enrolments and months with what is due;
those who register persons enrol and end enrolments, those who take payments
record one at the counter. The forms post to the views below, which go back to
the person page when the service accepts and show the form with the refusal
when it does not. The insured person sees their own months on their page and
at "my flexible contributions". Money is shown in yuan with two decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can
from shebao.contributions import flexible
from shebao.contributions.flexible import FlexibleMonth
from shebao.contributions.models import FlexibleEnrolment
from shebao.contributions.payments import MAX_REFERENCE, money_of
from shebao.core.errors import DomainError, NotFound
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import Person
from shebao.web.contribution_views import MonthInput
from shebao.web.forms import attach_error


def _month_field(label: Any, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        help_text=help_text,
        widget=MonthInput(format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )


class EnrolForm(forms.Form):
    valid_from = _month_field(gettext_lazy("From month"))
    base_ratio = forms.DecimalField(
        label=gettext_lazy("Base as a share of the average wage"),
        max_digits=7,
        decimal_places=5,
        help_text=gettext_lazy("Chosen by the worker: 0.6 (60%) to 3 (300%) under most policies."),
    )
    medical = forms.BooleanField(label=gettext_lazy("Medical insurance too"), required=False)


class EndForm(forms.Form):
    valid_to = _month_field(
        gettext_lazy("First month no longer paid"),
        gettext_lazy("Months already billed stay billed."),
    )


class PaymentForm(forms.Form):
    bank_reference = forms.CharField(
        label=gettext_lazy("Bank reference"),
        max_length=MAX_REFERENCE,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=15,
        decimal_places=2,
    )
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"), widget=forms.DateInput(attrs={"type": "date"})
    )


STATUS_LABELS = {
    "paid": gettext_lazy("Paid"),
    "part": gettext_lazy("Partly paid"),
    "unpaid": gettext_lazy("Unpaid"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _of_area(user: User, person: Person) -> bool:
    return bool(user.is_active and user.role in AREA_STAFF and user.area_id == person.area_id)


def _ratio(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _month_row(month: FlexibleMonth) -> dict[str, Any]:
    bill = month.bill
    return {
        "period": bill.period,
        "base": money_of(bill.base_cents),
        "pension": money_of(bill.pension_cents),
        "account": money_of(bill.account_cents),
        "medical": money_of(bill.medical_cents),
        "due_on": bill.due_on,
        "paid": money_of(month.principal_paid_cents),
        "days_overdue": month.days_overdue,
        "late_fee": money_of(month.late_fee_due_cents),
        "total_due": money_of(month.total_due_cents),
        "status": month.status,
        "status_label": STATUS_LABELS[month.status],
    }


def _months(user: User, person: Person, on: dt.date) -> dict[str, Any]:
    statement = flexible.flexible_statement(user, person, on)
    return {
        "on": on,
        "rows": [_month_row(m) for m in reversed(statement.months)],  # latest first
        "principal_due": money_of(statement.principal_due_cents),
        "late_fee_due": money_of(statement.late_fee_due_cents),
        "total_due": money_of(statement.total_due_cents),
        "credit": money_of(statement.credit_cents),
    }


def _enrolment_rows(enrolments: list[FlexibleEnrolment]) -> list[dict[str, Any]]:
    return [
        {"enrolment": e, "ratio": _ratio(e.base_ratio), "open": e.valid_to is None}
        for e in enrolments
    ]


def person_section(user: User, person: Person) -> dict[str, Any] | None:
    """The flexible employment section of the person page, or None when the user may
    not see it (or there is nothing to show them)."""
    own = user.role == Role.INDIVIDUAL and user.person_id == person.pk
    if not (own or _of_area(user, person)):
        return None
    enrolments = flexible.person_enrolments(user, person)
    registrar = can(user, "person.register") and _of_area(user, person)
    if not enrolments and not registrar:
        return None
    current = next((e for e in enrolments if e.valid_to is None), None)
    today = timezone.localdate()
    months = _months(user, person, today)
    cashier = can(user, "payment.record") and _of_area(user, person) and bool(months["rows"])
    return {
        "person": person,
        "own": own,
        "enrolments": _enrolment_rows(enrolments),
        "current": current,
        "months": months,
        "enrol_form": EnrolForm(prefix="enrol", initial={"valid_from": today.replace(day=1)})
        if registrar and current is None
        else None,
        "end_form": EndForm(prefix="end") if registrar and current is not None else None,
        "pay_form": PaymentForm(prefix="pay", initial={"paid_on": today}) if cashier else None,
    }


def _person_of_area(user: User, person_id: int, capability: str) -> Person:
    """The person, if the user acts in the person's area with `capability`; else 404."""
    try:
        person = registry_selectors.person_get(user, person_id, purpose="flexible.person")
    except NotFound:
        raise Http404 from None
    if not (can(user, capability) and _of_area(user, person)):
        raise Http404
    return person


def _back(person: Person) -> HttpResponse:
    return redirect(reverse("web:person", args=[person.pk]) + "#flexible")


def _form_page(
    request: HttpRequest, form: forms.Form, heading: str, submit: str, person: Person
) -> HttpResponse:
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": heading,
            "subtitle": person.name,
            "submit_label": submit,
            "cancel_url": reverse("web:person", args=[person.pk]) + "#flexible",
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def flexible_enrol(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    person = _person_of_area(user, person_id, "person.register")
    form = EnrolForm(request.POST or None, prefix="enrol")
    if form.is_valid():
        data = form.cleaned_data
        try:
            enrolment = flexible.flexible_enrol(
                actor=user,
                person=person,
                valid_from=data["valid_from"],
                base_ratio=data["base_ratio"],
                medical=data["medical"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s pays as a flexible worker from %(month)s at %(ratio)s × the average.")
                % {
                    "name": person.name,
                    "month": f"{enrolment.valid_from:%Y-%m}",
                    "ratio": _ratio(enrolment.base_ratio),
                },
            )
            return _back(person)
    return _form_page(request, form, _("Enrol as a flexible worker"), _("Enrol"), person)


@login_required
def flexible_end(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    user = _user(request)
    try:
        enrolment = flexible.enrolment_get(user, enrolment_id)
    except NotFound:
        raise Http404 from None
    person = _person_of_area(user, enrolment.person_id, "person.register")
    form = EndForm(request.POST or None, prefix="end")
    if form.is_valid():
        try:
            flexible.flexible_end(
                actor=user, enrolment=enrolment, valid_to=form.cleaned_data["valid_to"]
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                _("The flexible enrolment of %(name)s ends before %(month)s.")
                % {"name": person.name, "month": f"{form.cleaned_data['valid_to']:%Y-%m}"},
            )
            return _back(person)
    return _form_page(
        request, form, _("End the flexible enrolment"), _("End the enrolment"), person
    )


@login_required
def flexible_pay(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    person = _person_of_area(user, person_id, "payment.record")
    form = PaymentForm(request.POST or None, prefix="pay")
    if form.is_valid():
        data = form.cleaned_data
        try:
            outcome = flexible.flexible_payment_record_outcome(
                actor=user,
                person=person,
                bank_reference=data["bank_reference"],
                amount=data["amount"],
                paid_on=data["paid_on"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            payment = outcome.payment
            if not outcome.created:
                messages.info(
                    request,
                    _("Payment %(reference)s was recorded before; nothing changed.")
                    % {"reference": payment.bank_reference},
                )
                return _back(person)
            parts = list(payment.allocations.all())
            fee = sum(a.late_fee_cents for a in parts)
            principal = sum(a.principal_cents for a in parts)
            messages.success(
                request,
                _(
                    "Payment %(reference)s is recorded: %(principal)s to contributions, "
                    "%(fee)s to late fees, %(left)s left over."
                )
                % {
                    "reference": payment.bank_reference,
                    "principal": money_of(principal),
                    "fee": money_of(fee),
                    "left": money_of(payment.amount_cents - principal - fee),
                },
            )
            return _back(person)
    return _form_page(
        request, form, _("Record a flexible worker's payment"), _("Record the payment"), person
    )


@login_required
def my_flexible(request: HttpRequest) -> HttpResponse:
    """The insured person's own flexible months: paid or not, and the late fee."""
    user = _user(request)
    if not (user.role == Role.INDIVIDUAL and user.person_id):
        raise Http404
    person = Person.objects.get(pk=user.person_id)
    return render(
        request,
        "web/contributions/flexible_mine.html",
        {
            "person": person,
            "enrolments": _enrolment_rows(flexible.person_enrolments(user, person)),
            "months": _months(user, person, timezone.localdate()),
        },
    )
