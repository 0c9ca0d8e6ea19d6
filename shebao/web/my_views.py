"""The insured person's own pages, phone first (SIL arts. 4, 74: everyone may
inquire into their own contribution and rights records, free of charge).

- `/my/`: a summary — contribution years, the personal account, the current
  employer, months not paid (each a link to its year), the card, the pension
  estimate, and the way to the statements, supervision, complaints and
  consultation pages that exist.
- `/my/contributions/`: the history by year, newest first; the year asked for
  (the latest by default) is open with its months, the others are one line
  each; `?year=all` opens every year. Also as CSV.
- `/my/account/`: the personal pension account's entries and balance.
- `/my/pension/`: the pension estimate, with assumptions the person may change.

Only for an individual signed in with their person record; anyone else gets
404 (and the anonymous the login page). Every read goes through the selectors
with the signed-in user, which show a person their own records only. Nothing
here costs anything: there is no fee on any of these pages.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.cards.models import CardState
from shebao.cards.selectors import card_state, cards_for
from shebao.contributions import personal
from shebao.contributions.models import AccountEntryKind, Insurance
from shebao.contributions.payments import money_of
from shebao.core.errors import DomainError
from shebao.inquiry.cache import history_cached
from shebao.inquiry.history import (
    STATUS_LABELS,
    History,
    HistoryMonth,
    person_history,
    person_history_year,
)
from shebao.registry import selectors
from shebao.web.staff_contrib_views import EstimateForm

# The person's pages in other parts of the portal, by URL name: each is linked
# while its route exists, so these pages never break on a part taken out.
ELSEWHERE = {
    "statements": "my_statements",
    "supervision": "my_supervision",
    "complaints": "my_complaints",
    "consultation": "consultation",
    "questions": "my_questions",
    "flexible": "my_flexible",
}

INSURANCE_LABELS = dict(Insurance.choices)


def _person_user(request: HttpRequest) -> User:
    """The signed-in individual bound to a person record; anyone else: 404."""
    user: User = request.user  # type: ignore[assignment]
    if user.role != Role.INDIVIDUAL or not user.person_id or not user.is_active:
        raise Http404
    return user


@functools.cache
def _routed() -> frozenset[str]:
    """Which of those routes exist (they do not change while the process runs, and a
    failed `reverse` is slow)."""
    found = set()
    for key, name in ELSEWHERE.items():
        with contextlib.suppress(NoReverseMatch):
            reverse(f"web:{name}")
            found.add(key)
    return frozenset(found)


def elsewhere() -> dict[str, str]:
    """The URLs of the person's pages elsewhere that exist, by key."""
    return {key: reverse(f"web:{ELSEWHERE[key]}") for key in _routed()}


def _years_and_months(months: int) -> dict[str, int]:
    return {"months": months, "years": months // 12, "rest": months % 12}


def _year_asked(request: HttpRequest) -> str:
    """`?year=`: "all", a year (1–9999), or "" (the latest), whatever else was sent."""
    text = request.GET.get("year", "")
    if text == "all" or (text.isdigit() and 1 <= int(text) <= 9999):
        return text
    return ""


def _history_asked(user: User, asked: str) -> History:
    """The history with the year the person asked for, the latest by default (or
    when that year has no month); "all": every year's months."""
    if asked == "all":
        return person_history(user, user.person_id or 0)
    if asked:
        history = person_history(user, user.person_id or 0, year=int(asked))
        if history.months:
            return history
    return person_history_year(user, user.person_id or 0, page=1)


# --- /my/ ---------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _person_user(request)
    person = selectors.person_get(user, user.person_id or 0)
    history = person_history(user, person)
    statement = personal.account_statement(user, person)
    employments = list(
        selectors.employments_for(user)
        .filter(end_date__isnull=True)
        .order_by("-start_date", "-pk")[:3]
    )
    card = cards_for(user).order_by("-submitted_at", "-pk").first()
    card_info = None
    if card is not None:
        state = card_state(card)
        card_info = {"card": card, "state": state, "label": CardState(state).label}
    try:
        estimate = personal.pension_estimate(user, person)
    except DomainError:
        estimate = None  # e.g. no policy in force yet: the page says nothing of it
    attention = history.attention
    return render(
        request,
        "web/my/home.html",
        {
            "person": person,
            "id_number": selectors.display_id_number(user, person),
            "pension": _years_and_months(history.paid_months(Insurance.PENSION)),
            "statement": statement,
            "employments": employments,
            "card": card_info,
            "estimate": estimate,
            "attention": attention[:6],
            "attention_count": len(attention),
            "links": elsewhere(),
        },
    )


# --- /my/contributions/ -----------------------------------------------------------------


def yuan_text(cents: int) -> str:
    """Cents as yuan with thousands separators and two decimals, exactly: 144000 →
    "1,440.00". Integer arithmetic, and cheap: the history page shows hundreds."""
    sign = "-" if cents < 0 else ""
    whole, fen = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fen:02d}"


def _month_row(month: HistoryMonth, columns: list[str]) -> dict[str, Any]:
    """One month as the page shows it: one cell per insurance column."""
    cells = []
    for insurance in columns:
        item = month.of(insurance)
        cells.append(
            {
                "label": INSURANCE_LABELS[insurance],
                "amounts": f"{yuan_text(item.employer_cents)} / {yuan_text(item.individual_cents)}"
                if item
                else "—",
            }
        )
    return {"month": month, "base": yuan_text(month.base_cents), "cells": cells}


def _contributions_shown(user: User, asked: str) -> tuple[SafeString, History]:
    """The history part of the page, rendered apart from the request (it holds
    nothing of the session), so that it can be kept in the cache."""
    history = _history_asked(user, asked)
    columns = history.insurances_billed
    years = []
    for totals in history.totals:
        shown = history.year is None or totals.year == history.year
        years.append(
            {
                "totals": totals,
                "open": shown,
                "rows": [_month_row(m, columns) for m in history.months_of(totals.year)]
                if shown
                else [],
                "individual": yuan_text(totals.individual_cents),
            }
        )
    html = render_to_string(
        "web/my/_contributions.html",
        {
            "history": history,
            "years": years,
            "shown": history.year,
            "columns": [INSURANCE_LABELS[i] for i in columns],
            "months": sum(t.months for t in history.totals),
            "paid": sum(t.paid for t in history.totals),
            "unpaid": sum(t.unpaid for t in history.totals),
            "statuses": list(STATUS_LABELS.items()),
            "links": elsewhere(),
        },
    )
    return mark_safe(html), history  # noqa: S308 - rendered by our own template


@login_required
def contributions(request: HttpRequest) -> HttpResponse:
    user = _person_user(request)
    asked = _year_asked(request)
    shown = history_cached(user, f"page:{asked}", lambda: _contributions_shown(user, asked))
    return render(request, "web/my/contributions.html", {"body": mark_safe(shown)})  # noqa: S308


@login_required
def contributions_csv(request: HttpRequest) -> HttpResponse:
    """Every month, payer and insurance as a CSV to keep or open in a spreadsheet."""
    user = _person_user(request)
    text = request.GET.get("year", "")
    year = int(text) if text.isdigit() else None
    history = person_history(user, user.person_id or 0, year=year)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "月份 month",
            "缴费方 payer",
            "险种 insurance",
            "缴费基数 base",
            "单位缴费 employer",
            "个人缴费 individual",
            "状态 status",
        ]
    )
    for month in history.months:
        for payer in month.payers:
            for item in payer.insurances:
                writer.writerow(
                    [
                        f"{month.period:%Y-%m}",
                        payer.employer_name,
                        item.label,
                        f"{money_of(item.base_cents):.2f}",
                        f"{money_of(item.employer_cents):.2f}",
                        f"{money_of(item.individual_cents):.2f}",
                        STATUS_LABELS[payer.status],
                    ]
                )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"contributions-{year}.csv" if year else "contributions.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- /my/account/ --------------------------------------------------------------------


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = _person_user(request)
    statement = personal.account_statement(user, user.person_id or 0)
    labels = dict(AccountEntryKind.choices)
    entries = [
        {"entry": entry, "label": labels.get(entry.kind, entry.kind)}
        for entry in reversed(statement.entries)
    ]
    return render(
        request,
        "web/my/account.html",
        {"statement": statement, "entries": entries, "links": elsewhere()},
    )


# --- /my/pension/ --------------------------------------------------------------------


class MyEstimateForm(EstimateForm):
    """The staff page's assumptions, worded for the person."""

    indexed_wage_ratio = forms.DecimalField(
        label=gettext_lazy("Your wage compared with the area average"),
        required=False,
        min_value=Decimal("0.6"),
        max_value=Decimal("3"),
        decimal_places=4,
        help_text=gettext_lazy("1.0: your wages were the area average; 1.5: half as much again."),
    )


@login_required
def pension(request: HttpRequest) -> HttpResponse:
    user = _person_user(request)
    form = MyEstimateForm(request.GET or None)
    options: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        for name in ("indexed_wage_ratio", "interest_rate", "monthly_base"):
            if data[name] is not None:
                options[name] = data[name]
        options["continue_contributing"] = not data["stop"]
    estimate = None
    refusal = ""
    try:
        estimate = personal.pension_estimate(user, user.person_id or 0, **options)
    except DomainError as error:
        refusal = (
            _(
                "The estimate is not available yet: the area's contribution policy for "
                "this month is not recorded. Ask at a service outlet."
            )
            if error.code == "no_policy"
            else error.message
        )
    return render(
        request,
        "web/my/pension.html",
        {
            "estimate": estimate,
            "refusal": refusal,
            "form": form,
            "today": timezone.localdate(),
            "links": elsewhere(),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
