"""An employer's contribution pages: its bills month by month, what each bill
is made of, what it owes now with the late fee, and its payments.

Employer users see their own employer; contributions officers and area admins
see an employer of their area named by `?employer=<id>`, and may apply its
credit to its open bills by hand (`credit_apply`). Anyone else, and anything
of another employer or area, gets 404. Amounts are kept in integer
cents and shown as yuan with two decimals ("1,440.00"); the late fee is the
one run until today (SIL art. 86), computed when read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.contributions import payments
from shebao.contributions.models import Bill, BillLine, PaymentAllocation
from shebao.contributions.payments import BillBalance
from shebao.core.errors import DomainError, NotFound
from shebao.registry import selectors as registry_selectors
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Employer

# Who may open these pages. Staff act on an employer of their own area.
STAFF = frozenset({Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN})
BILLS_PER_PAGE = 24


def yuan(cents: int | None) -> str:
    """Cents as yuan with two decimals and thousands separators: 144000 → "1,440.00"."""
    return f"{payments.money_of(cents or 0):,}"


def _today() -> dt.date:
    """The day amounts are shown as of (a function, so tests can fix it)."""
    return timezone.localdate()


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _allowed(user: User) -> None:
    if not (user.is_active and (user.role == Role.EMPLOYER or user.role in STAFF)):
        raise Http404


def _employer(request: HttpRequest) -> Employer:
    """The employer the page is about: the user's own, or `?employer=` for staff."""
    user = _user(request)
    _allowed(user)
    key = user.employer_id if user.role == Role.EMPLOYER else request.GET.get("employer")
    try:
        return registry_selectors.employer_get(user, int(key or 0))
    except (NotFound, ValueError):
        raise Http404 from None


def _bills_of(user: User) -> QuerySet[Bill]:
    """Bills the user may open: an employer user its own, staff their area's."""
    _allowed(user)
    rows = Bill.objects.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        rows = rows.filter(employer_id=user.employer_id or 0)
    return rows


def _employer_query(user: User, employer: Employer) -> str:
    """The query string that keeps staff on the same employer from page to page."""
    return "" if user.role == Role.EMPLOYER else f"?employer={employer.pk}"


def _may_apply_credit(user: User) -> bool:
    """Staff on these pages who record payments may apply an employer's credit."""
    return user.role in STAFF and can(user, "payment.record")


# --- bill status -----------------------------------------------------------------


STATUS_LABELS = {
    "paid": pgettext_lazy("bill status", "Paid"),
    "overdue": pgettext_lazy("bill status", "Overdue"),
    "part_paid": pgettext_lazy("bill status", "Partly paid"),
    "open": pgettext_lazy("bill status", "Not yet due"),
}
# Colour of the status pill (the shared `.state-*` classes).
STATUS_CLASSES = {
    "paid": "state-active",
    "overdue": "state-rejected",
    "part_paid": "state-sealed",
    "open": "state-applied",
}


def _status(balance: BillBalance) -> str:
    if balance.total_due_cents == 0:
        return "paid"
    if balance.days_overdue:
        return "overdue"
    if balance.principal_paid_cents:
        return "part_paid"
    return "open"


@dataclass(frozen=True)
class BillRow:
    """A bill with its balance as of today, amounts formatted for the page."""

    bill: Bill
    balance: BillBalance

    @property
    def status(self) -> str:
        return _status(self.balance)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES[self.status]

    @property
    def employer_amount(self) -> str:
        return yuan(self.bill.employer_cents)

    @property
    def individual_amount(self) -> str:
        return yuan(self.bill.individual_cents)

    @property
    def total(self) -> str:
        return yuan(self.balance.principal_cents)

    @property
    def paid(self) -> str:
        return yuan(self.balance.principal_paid_cents)

    @property
    def due(self) -> str:
        return yuan(self.balance.principal_due_cents)

    @property
    def late_fee_paid(self) -> str:
        return yuan(self.balance.late_fee_paid_cents)

    @property
    def late_fee(self) -> str:
        return yuan(self.balance.late_fee_due_cents)

    @property
    def total_due(self) -> str:
        return yuan(self.balance.total_due_cents)

    @property
    def days_overdue(self) -> int:
        return self.balance.days_overdue


def _row(bill: Bill, today: dt.date) -> BillRow:
    return BillRow(bill, payments.bill_balance(bill, today))


# --- pages ------------------------------------------------------------------------


@login_required
def bill_list(request: HttpRequest) -> HttpResponse:
    """The employer's bills by month, newest first, each with what is paid and due
    and the late fee run until today."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    bills = Bill.objects.filter(area_id=employer.area_id, employer=employer).order_by(
        "-period", "-pk"
    )
    page = Paginator(bills, BILLS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [_row(bill, today) for bill in page]
    query = _employer_query(user, employer)
    context: dict[str, Any] = {
        "employer": employer,
        "today": today,
        "page": page,
        "rows": rows,
        "query": query,
        "page_query": (query + "&" if query else "?") + "page=",
    }
    return render(request, "web/contributions/bills.html", context)


@dataclass(frozen=True)
class LineRow:
    line: BillLine
    id_number: str
    adjustment: bool  # added by a later run: a correction or a late declaration

    @property
    def base(self) -> str:
        return yuan(self.line.base_cents)

    @property
    def employer_amount(self) -> str:
        return yuan(self.line.employer_cents)

    @property
    def individual_amount(self) -> str:
        return yuan(self.line.individual_cents)


@dataclass(frozen=True)
class AllocationRow:
    allocation: PaymentAllocation

    @property
    def principal(self) -> str:
        return yuan(self.allocation.principal_cents)

    @property
    def late_fee(self) -> str:
        return yuan(self.allocation.late_fee_cents)

    @property
    def total(self) -> str:
        return yuan(self.allocation.principal_cents + self.allocation.late_fee_cents)


@login_required
def bill_detail(request: HttpRequest, bill_id: int) -> HttpResponse:
    """One bill: its lines person by person (adjustment lines marked) and the
    payments allocated to it."""
    user = _user(request)
    try:
        bill = _bills_of(user).select_related("employer").get(pk=bill_id)
    except Bill.DoesNotExist:
        raise Http404 from None
    today = _today()
    lines = (
        BillLine.objects.filter(bill=bill)
        .select_related("person")
        .order_by("person__name", "person_id", "insurance", "run_id", "pk")
    )
    seen: set[tuple[int, str]] = set()
    rows = []
    for line in lines:
        key = (line.person_id, line.insurance)
        rows.append(LineRow(line, mask_identity_number(line.person.id_number), key in seen))
        seen.add(key)
    allocations = [
        AllocationRow(allocation)
        for allocation in PaymentAllocation.objects.filter(bill=bill)
        .select_related("payment")
        .order_by("payment__paid_on", "pk")
    ]
    context: dict[str, Any] = {
        "bill": bill,
        "employer": bill.employer,
        "row": _row(bill, today),
        "today": today,
        "lines": rows,
        "has_adjustments": any(row.adjustment for row in rows),
        "allocations": allocations,
        "query": _employer_query(user, bill.employer),
    }
    return render(request, "web/contributions/bill.html", context)


@login_required
def arrears(request: HttpRequest) -> HttpResponse:
    """What the employer owes today, bill by bill, with the late fee run until today."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    try:
        owed = payments.employer_arrears(user, employer, today)
    except DomainError:
        raise Http404 from None
    context: dict[str, Any] = {
        "employer": employer,
        "today": today,
        "arrears": owed,
        "rows": [BillRow(balance.bill, balance) for balance in owed.bills],
        "principal_due": yuan(owed.principal_due_cents),
        "late_fee_due": yuan(owed.late_fee_due_cents),
        "total_due": yuan(owed.total_due_cents),
        "credit": yuan(owed.credit_cents) if owed.credit_cents else "",
        "daily_late_fee": f"{owed.daily_late_fee.quantize(Decimal('0.01'), ROUND_HALF_UP):,}",
        "query": _employer_query(user, employer),
        "may_apply_credit": _may_apply_credit(user),
    }
    return render(request, "web/contributions/arrears.html", context)


@login_required
def arrears_notice(request: HttpRequest) -> HttpResponse:
    """The arrears notice as of today, as text to download."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    try:
        notice = payments.arrears_notice(user, employer, today)
    except DomainError:
        raise Http404 from None
    response = HttpResponse(notice.text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="arrears-notice-{employer.pk}-{today:%Y%m%d}.txt"'
    )
    return response


@dataclass(frozen=True)
class PaymentRow:
    payment: Any  # an AllocatedPayment
    allocations: list[AllocationRow]

    @property
    def amount(self) -> str:
        return yuan(self.payment.amount_cents)

    @property
    def allocated(self) -> str:
        return yuan(self.payment.allocated_cents)

    @property
    def unallocated_cents(self) -> int:
        return int(self.payment.amount_cents - self.payment.allocated_cents)

    @property
    def unallocated(self) -> str:
        return yuan(self.unallocated_cents)


@login_required
def payment_list(request: HttpRequest) -> HttpResponse:
    """The employer's payments, newest first, each with the bills it settled and
    what is left unallocated (a credit)."""
    user = _user(request)
    employer = _employer(request)
    rows = (
        payments.payments_for(user)
        .filter(area_id=employer.area_id, employer=employer)
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("bill").order_by(
                    "bill__period", "pk"
                ),
            )
        )
        .order_by("-paid_on", "-pk")
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    items = [
        PaymentRow(payment, [AllocationRow(a) for a in payment.allocations.all()])
        for payment in page
    ]
    try:
        credit_cents = payments.employer_credit(user, employer, _today())
    except DomainError:
        raise Http404 from None
    query = _employer_query(user, employer)
    context: dict[str, Any] = {
        "employer": employer,
        "page": page,
        "payments": items,
        "credit": yuan(credit_cents) if credit_cents else "",
        "query": query,
        "page_query": (query + "&" if query else "?") + "page=",
        "may_apply_credit": _may_apply_credit(user),
    }
    return render(request, "web/contributions/payments.html", context)


@login_required
@require_POST
def credit_apply(request: HttpRequest) -> HttpResponse:
    """Apply the employer's credit by hand (staff who record payments): release
    what lowered bills no longer need, then settle the oldest open bills with
    the credit; back to the payments page with what was done."""
    user = _user(request)
    employer = _employer(request)
    if not _may_apply_credit(user):
        raise Http404
    try:
        applied = payments.credit_apply(actor=user, employer=employer)
        left = payments.employer_credit(user, employer, _today())
    except DomainError:
        raise Http404 from None
    released = -sum(r.principal_cents for r in applied.releases)
    allocated = sum(a.principal_cents + a.late_fee_cents for a in applied.allocations)
    if applied.releases or applied.allocations or applied.entries:
        messages.success(
            request,
            gettext(
                "Credit applied: %(released)s yuan given back by lowered bills, %(allocated)s "
                "yuan allocated to open bills; %(left)s yuan of credit is left."
            )
            % {"released": yuan(released), "allocated": yuan(allocated), "left": yuan(left)},
        )
    else:
        messages.info(
            request,
            gettext("Nothing changed: %(left)s yuan of credit and no open bill it could settle.")
            % {"left": yuan(left)},
        )
    return HttpResponseRedirect(reverse("web:contrib_payments") + _employer_query(user, employer))
