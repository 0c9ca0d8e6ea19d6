"""Contributions pages for agency staff: the policy in force and the billing run,
the area's arrears, payments at the counter and bank files, and a person's
pension estimate.

Contributions officers and area administrators use every page; auditors read
(overview, arrears, pension estimate) but run and record nothing; anyone else
gets 404. Money is kept in cents and shown as yuan with two decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.contributions import billing, payments, personal
from shebao.contributions.models import BillingRun, Insurance, Policy
from shebao.contributions.services import policy_for
from shebao.core.errors import DomainError, NotFound
from shebao.jobs.services import job_submit
from shebao.registry.identifiers import normalize_credit_code
from shebao.registry.models import Employer, Person
from shebao.web.contribution_views import MonthInput
from shebao.web.forms import attach_error

# Who works the contributions pages, and who only reads them.
OPERATORS = frozenset({Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN})
READERS = OPERATORS | {Role.AUDITOR}
ARREARS_PAGE_SIZE = 50
RUNS_SHOWN = 12


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _staff(request: HttpRequest, roles: frozenset[str]) -> User:
    """The user if their role is among `roles` and they are bound to an area; else 404."""
    user = _user(request)
    if not (user.is_active and user.role in roles and user.area_id):
        raise Http404
    return user


def yuan(cents: int) -> Decimal:
    """Cents as yuan with two decimals (shown with `floatformat:"2g"`)."""
    return payments.money_of(cents)


def percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: 0.01900 → "1.9"."""
    return f"{(rate * 100).normalize():f}"


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- 1. overview: policy in force, billing runs, run billing --------------------


class BillRunForm(forms.Form):
    period = forms.DateField(
        label=gettext_lazy("Month to bill"),
        widget=MonthInput(format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )


def _policy_rows(policy: Policy) -> dict[str, Any]:
    floor, ceiling = billing.base_bounds(policy)
    labels = dict(Insurance.choices)
    rates = sorted(policy.rates.all(), key=lambda r: Insurance.values.index(r.insurance))
    return {
        "policy": policy,
        "floor": yuan(floor),
        "ceiling": yuan(ceiling),
        "rates": [
            {
                "label": labels.get(r.insurance, r.insurance),
                "employer": percent(r.employer_rate),
                "individual": percent(r.individual_rate),
            }
            for r in rates
        ],
        "work_injury": [
            {"risk_class": w.risk_class, "rate": percent(w.rate)}
            for w in sorted(policy.work_injury_rates.all(), key=lambda w: w.risk_class)
        ],
        "late_fee_percent": percent(policy.late_fee_daily_rate),
    }


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The policy in force this month, the last billing runs, and the run form."""
    user = _staff(request, READERS)
    operator = user.role in OPERATORS
    if request.method == "POST" and not operator:
        raise Http404
    this_month = _month(timezone.localdate())
    form = BillRunForm(request.POST or None, initial={"period": this_month}) if operator else None
    if form is not None and form.is_bound and form.is_valid():
        period = form.cleaned_data["period"].replace(day=1)
        try:  # a job: its page shows the run's progress, then its counts
            job = job_submit(
                actor=user,
                kind="bill_run",
                params={"area": user.area_id, "period": period.isoformat()},
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            return redirect("web:job", job_id=job.pk)
    try:
        policy: dict[str, Any] | None = _policy_rows(policy_for(user.area_id or "", this_month))
    except NotFound:
        policy = None
    runs = (
        BillingRun.objects.filter(area_id=user.area_id)
        .select_related("started_by")
        .order_by("-started_at", "-pk")[:RUNS_SHOWN]
    )
    return render(
        request,
        "web/contributions/overview.html",
        {
            "month": this_month,
            "current": policy,
            "runs": runs,
            "highlight": request.GET.get("run", ""),
            "form": form,
            "operator": operator,
        },
        status=400 if form is not None and form.is_bound else 200,
    )


# --- 2. the area's arrears ----------------------------------------------------------


class ArrearsFilter(forms.Form):
    on = forms.DateField(
        label=gettext_lazy("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_on(self) -> dt.date | None:
        on: dt.date | None = self.cleaned_data.get("on")
        if on is not None and on > timezone.localdate():
            raise forms.ValidationError(gettext_lazy("Choose today or a day before."))
        return on


@login_required
def area_arrears(request: HttpRequest) -> HttpResponse:
    """Every employer of the area with unpaid bills, most owed first, with the late fee
    run until the day (today unless another day is asked for)."""
    user = _staff(request, READERS)
    today = timezone.localdate()
    form = ArrearsFilter(request.GET or None)
    on = (form.cleaned_data.get("on") if form.is_valid() else None) or today
    try:
        rows = payments.arrears_for(user, on)
    except DomainError as error:
        raise Http404(error.message) from None
    page = Paginator(rows, ARREARS_PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "employer": row.employer,
            "bills": len(row.bills),
            "oldest": row.oldest_period,
            "days": max((b.days_overdue for b in row.bills), default=0),
            "principal": yuan(row.principal_due_cents),
            "late_fee": yuan(row.late_fee_due_cents),
            "total": yuan(row.total_due_cents),
            "daily": row.daily_late_fee,
            "credit": yuan(row.credit_cents),
        }
        for row in page
    ]
    return render(
        request,
        "web/contributions/area_arrears.html",
        {
            "form": form,
            "on": on,
            "page": page,
            "items": items,
            "employers": len(rows),
            "principal": yuan(sum(r.principal_due_cents for r in rows)),
            "late_fee": yuan(sum(r.late_fee_due_cents for r in rows)),
            "total": yuan(sum(r.total_due_cents for r in rows)),
        },
    )


# --- 3. payments: one at the counter, or a bank file ----------------------------


class PaymentForm(forms.Form):
    credit_code = forms.CharField(
        label=gettext_lazy("Employer's unified social credit code"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "class": "mono"}),
    )
    bank_reference = forms.CharField(
        label=gettext_lazy("Bank reference"),
        max_length=payments.MAX_REFERENCE,
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


class BankFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Bank file (CSV: bank_reference, credit_code, amount, paid_on)")
    )


def _employer_by_code(user: User, text: str) -> Employer:
    code = normalize_credit_code(text)
    employer = Employer.objects.filter(area_id=user.area_id, credit_code=code).first()
    if employer is None:
        raise NotFound(
            gettext_lazy("No employer with credit code %(code)s is registered in the area."),
            code="employer_unknown",
            field="credit_code",
            params={"code": code},
        )
    return employer


def _recorded(user: User, pk: str) -> dict[str, Any] | None:
    """The payment just recorded (?payment=), with its allocations, if the user sees it."""
    try:
        payment = payments.payment_get(user, int(pk))
    except (NotFound, ValueError):
        return None
    allocations = [
        {
            "period": a.bill.period,
            "principal": yuan(a.principal_cents),
            "late_fee": yuan(a.late_fee_cents),
            "total": yuan(a.principal_cents + a.late_fee_cents),
        }
        for a in payments.payment_allocations(payment)
    ]
    return {
        "payment": payment,
        "amount": yuan(payment.amount_cents),
        "allocated": yuan(payment.allocated_cents),
        "unallocated": yuan(payment.amount_cents - payment.allocated_cents),
        "allocations": allocations,
    }


@login_required
def payment_new(request: HttpRequest) -> HttpResponse:
    """Record one payment (then show how it was allocated), or import a bank file
    (a job, whose page shows what was recorded and each refused row with its reason)."""
    user = _staff(request, OPERATORS)
    sending_file = request.method == "POST" and "send_file" in request.POST
    form = PaymentForm(
        request.POST if request.method == "POST" and not sending_file else None,
        initial={"paid_on": timezone.localdate()},
        prefix="pay",
    )
    file_form = BankFileForm(
        request.POST if sending_file else None, request.FILES if sending_file else None
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            employer = _employer_by_code(user, data["credit_code"])
            outcome = payments.payment_record_outcome(
                actor=user,
                employer=employer,
                bank_reference=data["bank_reference"],
                amount=data["amount"],
                paid_on=data["paid_on"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            if outcome.created:
                messages.success(
                    request,
                    _("Payment %(reference)s of %(employer)s is recorded.")
                    % {"reference": outcome.payment.bank_reference, "employer": employer.name},
                )
            else:
                messages.info(
                    request,
                    _("Payment %(reference)s was recorded before; nothing changed.")
                    % {"reference": outcome.payment.bank_reference},
                )
            return redirect(
                reverse("web:contribution_payment_new") + f"?payment={outcome.payment.pk}"
            )
    if file_form.is_bound and file_form.is_valid():
        uploaded = file_form.cleaned_data["file"]
        try:  # a job: its page shows the rows as they go, then the report
            job = job_submit(
                actor=user, kind="payments_import", params={}, files={"file": uploaded}
            )
        except DomainError as error:
            attach_error(file_form, error)
        else:
            return redirect("web:job", job_id=job.pk)
    bound_errors = (form.is_bound and form.errors) or (file_form.is_bound and file_form.errors)
    return render(
        request,
        "web/contributions/payment_new.html",
        {
            "form": form,
            "file_form": file_form,
            "recorded": _recorded(user, request.GET.get("payment", ""))
            if not form.is_bound
            else None,
        },
        status=400 if bound_errors else 200,
    )


# --- 4. a person's pension estimate ----------------------------------------------


class EstimateForm(forms.Form):
    """The assumptions a reader may change; blank keeps the default."""

    indexed_wage_ratio = forms.DecimalField(
        label=gettext_lazy("Indexed wage ratio"),
        required=False,
        min_value=Decimal("0.6"),
        max_value=Decimal("3"),
        decimal_places=4,
        help_text=gettext_lazy("The person's average indexed wage over the area average; 1.0."),
    )
    interest_rate = forms.DecimalField(
        label=gettext_lazy("Yearly interest rate of the account"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal("0.2"),
        decimal_places=5,
        help_text=gettext_lazy(
            "A fraction, e.g. 0.0262 for 2.62 percent; blank: the last announced rate."
        ),
    )
    monthly_base = forms.DecimalField(
        label=gettext_lazy("Monthly contribution base (yuan)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=gettext_lazy("Blank: the latest declared base."),
    )
    stop = forms.BooleanField(label=gettext_lazy("Assume no further contributions"), required=False)


@login_required
def pension(request: HttpRequest, person_id: int) -> HttpResponse:
    """The person's pension estimate at the statutory retirement age, with the
    assumptions it rests on (each reader's look is logged by the service)."""
    user = _staff(request, READERS)
    form = EstimateForm(request.GET or None)
    options: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["indexed_wage_ratio"] is not None:
            options["indexed_wage_ratio"] = data["indexed_wage_ratio"]
        if data["interest_rate"] is not None:
            options["interest_rate"] = data["interest_rate"]
        if data["monthly_base"] is not None:
            options["monthly_base"] = data["monthly_base"]
        options["continue_contributing"] = not data["stop"]
    person = Person.objects.filter(area_id=user.area_id, pk=person_id).first()
    if person is None:
        raise Http404
    estimate = None
    refusal = ""
    try:
        estimate = personal.pension_estimate(user, person, **options)
    except NotFound as error:
        if error.code != "no_policy":
            raise Http404 from None
        refusal = error.message
    except DomainError as error:
        refusal = error.message
    return render(
        request,
        "web/contributions/pension.html",
        {"person": person, "estimate": estimate, "refusal": refusal, "form": form},
    )


def person_contributions(user: User, person: Person) -> dict[str, Any] | None:
    """For the person page: the pension account and the months paid per insurance,
    for those who read accounts in the person's area; None for anyone else."""
    if user.role not in READERS or user.area_id != person.area_id:
        return None
    try:
        statement = personal.account_statement(user, person)
        record = personal.contribution_record(user, person)
    except DomainError:
        return None
    labels = dict(Insurance.choices)
    return {
        "statement": statement,
        "insurances": [
            {
                "label": labels.get(r.insurance, r.insurance),
                "count": r.count,
                "years": r.years,
                "last": r.months[-1] if r.months else None,
            }
            for r in record.insurances
        ],
    }
