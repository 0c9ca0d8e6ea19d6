"""The employer portal: the employer's landing page, its employees with the
months declared for them, the monthly detail it owes each employee (SIL art.
60) as a page, a CSV file and printable slips, and its notices.

Employer users see their own employer; contributions officers and area admins
open an employer of their area with `?employer=<id>`. Anyone else, and
anything of another employer or area, gets 404. Amounts are integer cents,
shown as yuan with two decimals; the late fee is the one run until today
(SIL art. 86).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.contributions import employer_detail, payments
from shebao.contributions.employer_detail import EmploymentState
from shebao.contributions.models import Bill, Insurance
from shebao.core.errors import DomainError, NotFound
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import Employer
from shebao.web.employer_contrib_views import BillRow, yuan

# Staff who open an employer's portal pages (by `?employer=`), as on its bill pages.
STAFF = frozenset({Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN})
EMPLOYEES_PER_PAGE = 50
DETAIL_PER_PAGE = 100
SLIPS_PER_PAGE = 200  # one printed page each: a print run of a large company is paged
RECENT_EMPLOYEES = 5
DECLARED_SHOWN = 24  # months of declared wages listed per employee


def _today() -> dt.date:
    """The day amounts are shown as of (a function, so tests can fix it)."""
    return timezone.localdate()


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _employer(request: HttpRequest) -> Employer:
    """The employer the page is about: the user's own, or `?employer=` for staff."""
    user = _user(request)
    if not (user.is_active and (user.role == Role.EMPLOYER or user.role in STAFF)):
        raise Http404
    key = user.employer_id if user.role == Role.EMPLOYER else request.GET.get("employer")
    try:
        return registry_selectors.employer_get(user, int(key or 0))
    except (NotFound, ValueError):
        raise Http404 from None


def _queries(user: User, employer: Employer) -> dict[str, str]:
    """Query strings that keep staff on the same employer from page to page:
    `query` starts one ("?employer=7"), `more` adds to one ("&employer=7")."""
    if user.role == Role.EMPLOYER:
        return {"query": "", "more": ""}
    return {"query": f"?employer={employer.pk}", "more": f"&employer={employer.pk}"}


def _month(request: HttpRequest, default: dt.date) -> dt.date:
    """The month asked for as `?month=YYYY-MM`, else `default`."""
    text = request.GET.get("month", "").strip()
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        return default


def _default_month(employer: Employer, today: dt.date) -> dt.date:
    """The latest month billed, or the current month when none is."""
    latest = (
        Bill.objects.filter(area_id=employer.area_id, employer_id=employer.pk)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    return latest or today.replace(day=1)


def _found(getter: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return getter(*args, **kwargs)
    except DomainError:
        raise Http404 from None


# --- the landing page -----------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Where an employer lands: its people, this month's declaration, the latest
    bill, what it owes today with the late fee running, its credit and notices."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    arrears = _found(payments.employer_arrears, user, employer, today)
    latest = (
        Bill.objects.filter(area_id=employer.area_id, employer_id=employer.pk)
        .order_by("-period", "-pk")
        .first()
    )
    recent = list(
        employer_detail.employments(user, employer, today, state=EmploymentState.CURRENT).order_by(
            "-start_date", "-pk"
        )[:RECENT_EMPLOYEES]
    )
    context: dict[str, Any] = {
        "employer": employer,
        "today": today,
        "headcount": employer_detail.headcount(user, employer, today),
        "declaration": employer_detail.declaration_status(user, employer, today),
        "latest_bill": BillRow(latest, payments.bill_balance(latest, today)) if latest else None,
        "arrears": arrears,
        "principal_due": yuan(arrears.principal_due_cents),
        "late_fee_due": yuan(arrears.late_fee_due_cents),
        "total_due": yuan(arrears.total_due_cents),
        "daily_late_fee": f"{arrears.daily_late_fee.quantize(Decimal('0.01'), ROUND_HALF_UP):,}",
        "credit": yuan(arrears.credit_cents),
        "reminders": _found(employer_detail.reminders, user, employer, today),
        "recent": _employee_views(user, employer, recent, today),
        "can_declare": can(user, "declaration.submit"),
        "can_register": can(user, "employment.register"),
        **_queries(user, employer),
    }
    return render(request, "web/employer/dashboard.html", context)


# --- employees -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WageMonth:
    period: dt.date
    wage: str  # yuan, "9,000.00"


@dataclass(frozen=True)
class EmployeeView:
    """An employment with the wages declared for it formatted as yuan."""

    row: employer_detail.EmployeeRow

    @property
    def employment(self) -> Any:
        return self.row.employment

    @property
    def id_number(self) -> str:
        return self.row.id_number

    @property
    def current(self) -> bool:
        return self.row.current

    @property
    def months_declared(self) -> int:
        return self.row.months_declared

    @property
    def months(self) -> list[WageMonth]:
        """The latest DECLARED_SHOWN months declared, newest first."""
        return [WageMonth(m.period, yuan(m.wage_cents)) for m in self.row.months[:DECLARED_SHOWN]]

    @property
    def latest(self) -> WageMonth | None:
        months = self.months
        return months[0] if months else None


def _employee_views(
    user: User, employer: Employer, employments: Any, today: dt.date
) -> list[EmployeeView]:
    return [
        EmployeeView(row)
        for row in employer_detail.employee_rows(user, employer, employments, today)
    ]


@login_required
def employees(request: HttpRequest) -> HttpResponse:
    """The employer's employees, current and ended, by name; each with the months
    declared for them and the wage."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    name = request.GET.get("q", "").strip()[:100]
    state = request.GET.get("state", "")
    if state not in (EmploymentState.CURRENT, EmploymentState.ENDED):
        state = ""
    found = employer_detail.employments(user, employer, today, name=name, state=state)
    page = Paginator(found, EMPLOYEES_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "employer": employer,
        "today": today,
        "q": name,
        "state": state,
        "page": page,
        "rows": _employee_views(user, employer, page, today),
        "headcount": employer_detail.headcount(user, employer, today),
        "can_register": can(user, "employment.register"),
        "can_end": can(user, "employment.end"),
        **_queries(user, employer),
    }
    return render(request, "web/employer/employees.html", context)


# --- the monthly detail (SIL art. 60) ----------------------------------------------------------


def _detail(request: HttpRequest, **options: Any) -> tuple[Employer, employer_detail.MonthDetail]:
    user = _user(request)
    employer = _employer(request)
    today = _today()
    period = _month(request, _default_month(employer, today))
    detail = _found(employer_detail.month_detail, user, employer, period, today, **options)
    return employer, detail


@dataclass(frozen=True)
class ShareRow:
    label: str
    employer: str
    individual: str


@dataclass(frozen=True)
class MonthRow:
    """An employee's month with its amounts formatted as yuan ("1,440.00")."""

    employee: employer_detail.EmployeeMonth

    @property
    def base(self) -> str:
        return yuan(self.employee.base_cents)

    @property
    def shares(self) -> list[ShareRow]:
        """Every insurance, for the columns of the table."""
        return [_share(share) for share in self.employee.shares]

    @property
    def billed_shares(self) -> list[ShareRow]:
        """The insurances with an amount, for a slip."""
        return [_share(share) for share in self.employee.billed_shares]

    @property
    def employer_total(self) -> str:
        return yuan(self.employee.employer_cents)

    @property
    def withheld(self) -> str:
        return yuan(self.employee.withheld_cents)

    @property
    def total(self) -> str:
        return yuan(self.employee.total_cents)


def _share(share: employer_detail.Share) -> ShareRow:
    return ShareRow(share.label, yuan(share.employer_cents), yuan(share.individual_cents))


def _bill_row(detail: employer_detail.MonthDetail) -> BillRow | None:
    if detail.bill is None or detail.balance is None:
        return None
    return BillRow(detail.bill, detail.balance)


@login_required
def month_detail(request: HttpRequest) -> HttpResponse:
    """A month's detail, employee by employee: the base, each insurance's employer
    and individual amounts, what was withheld from the wage, whether paid."""
    user = _user(request)
    employer, detail = _detail(request)
    page, rows = detail.page(request.GET.get("page"), DETAIL_PER_PAGE)
    context: dict[str, Any] = {
        "employer": employer,
        "detail": detail,
        "bill_row": _bill_row(detail),
        "page": page,
        "rows": [MonthRow(row) for row in rows],
        "insurances": [Insurance(value).label for value in employer_detail.INSURANCES],
        "months": _found(employer_detail.billed_months, user, employer)[:36],
        "declaration": employer_detail.declaration_status(user, employer, detail.period),
        **_queries(user, employer),
    }
    return render(request, "web/employer/detail.html", context)


@login_required
def month_detail_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The month's detail for the whole company as a CSV file, streamed."""
    employer, detail = _detail(request)
    response = StreamingHttpResponse(
        (piece.encode() for piece in employer_detail.detail_csv(detail)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="monthly-detail-{employer.pk}-{detail.period:%Y-%m}.csv"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def slips(request: HttpRequest) -> HttpResponse:
    """Printable slips, one per employee and printed page, for the employer to hand
    out (SIL art. 60); `?person=` prints one employee's."""
    user = _user(request)
    try:
        person_id = int(request.GET["person"]) if request.GET.get("person") else None
    except ValueError:
        raise Http404 from None
    employer, detail = _detail(request, person_id=person_id)
    page, rows = detail.page(request.GET.get("page"), SLIPS_PER_PAGE)
    context: dict[str, Any] = {
        "employer": employer,
        "detail": detail,
        "page": page,
        "rows": [MonthRow(row) for row in rows],
        "person_id": person_id,
        **_queries(user, employer),
    }
    return render(request, "web/employer/slips.html", context)


# --- notices ----------------------------------------------------------------------------------


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    """What is due (the arrears notice as of today) and what is still to do:
    months not declared, files with refused rows."""
    user = _user(request)
    employer = _employer(request)
    today = _today()
    notice = _found(payments.arrears_notice, user, employer, today)
    context: dict[str, Any] = {
        "employer": employer,
        "today": today,
        "notice": notice,
        "total_due": yuan(notice.arrears.total_due_cents),
        "reminders": _found(employer_detail.reminders, user, employer, today),
        "can_declare": can(user, "declaration.submit"),
        **_queries(user, employer),
    }
    return render(request, "web/employer/notices.html", context)
