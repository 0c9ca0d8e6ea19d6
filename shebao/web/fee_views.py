"""Fee pages of the portal: the cashier's counter, the receipt and the day's reconciliation.

Who sees what follows `cards.fees.fees_for`: the cashiers, card officers,
administrators and auditors of an area see its fees; anyone else gets 404.
Only a cashier is offered the "record payment" button and only an area
administrator the waiver, but the service decides again when the form is
sent (role, separation of duties, the fee's status), and its refusal is
shown on the fee's row.

Thin like the other pages: reads through `cards.fees` (scoped to the user;
the holders' names on the list are an access, logged), writes through
`fees.fee_pay` and `fees.fee_waive`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, can
from shebao.audit.services import access_record
from shebao.cards import fees
from shebao.cards.models import CardFee, CardState, FeeStatus, ReplacementReason
from shebao.core.errors import DomainError
from shebao.registry.identifiers import mask_identity_number
from shebao.web.views import _found, _user

PAGE_SIZE = 50
# Paid fees shown under the due ones, so the cashier sees the receipt just issued.
RECENTLY_PAID = 50
# Any one of these lets an area's staff member see its fees (as `fees_for` does).
FEE_CAPABILITIES = ("fee.collect", "fee.waive", "fee.reconcile", "card.operate")

DIFFERENCE_LABELS: dict[str, Any] = {
    "fee_missing": gettext_lazy("No fee charged"),
    "handed_over_unpaid": gettext_lazy("Handed over unpaid"),
    "paid_after_hand_over": gettext_lazy("Paid after the hand-over"),
    "fee_of_ended_application": gettext_lazy("Fee of an ended application"),
}
_REASON_LABELS: dict[str, Any] = dict(ReplacementReason.choices)

# --- who may see which pages ---------------------------------------------------


def _fee_staff(request: HttpRequest) -> User:
    """A member of an area's staff who may see its fees; anyone else gets 404."""
    user = _user(request)
    if (
        user.role not in AREA_STAFF
        or not user.area_id
        or not any(can(user, capability) for capability in FEE_CAPABILITIES)
    ):
        raise Http404
    return user


def _reconciler(request: HttpRequest) -> User:
    user = _user(request)
    if not can(user, "fee.reconcile") or not user.area_id:
        raise Http404
    return user


# --- forms ------------------------------------------------------------------------


class FeeSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Card, receipt or holder"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": gettext_lazy(
                    "Card number, application number, receipt number or name"
                ),
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )


class WaiveForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the waiver"),
        max_length=200,
        required=False,  # the service asks for it, in its own words
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class DayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Day"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_day(self) -> dt.date:
        day: dt.date | None = self.cleaned_data.get("day")
        if day is None:
            return self.today
        if day > self.today:
            raise forms.ValidationError(
                gettext_lazy("%(day)s has not come yet; pick today or an earlier day."),
                params={"day": day.isoformat()},
            )
        return day


def _waive_form(fee: CardFee, data: Any = None) -> WaiveForm:
    return WaiveForm(data, auto_id=f"id_waive_{fee.pk}_%s")


# --- the fees page ----------------------------------------------------------------


def _search(rows: QuerySet[CardFee], query: str) -> QuerySet[CardFee]:
    text = "".join(query.split()).upper()
    if not text:
        return rows
    condition = (
        Q(card__card_number=text)
        | Q(receipt_number=text)
        | Q(card__person__name__contains=query.strip())
    )
    if text.isdigit() and len(text) <= 9:
        condition |= Q(card_id=int(text))  # the application number
    return rows.filter(condition)


def _row(user: User, fee: CardFee) -> dict[str, Any]:
    card = fee.card
    return {
        "fee": fee,
        "card": card,
        "person": card.person,
        "id_number": mask_identity_number(card.person.id_number),
        "ended": card.state in fees.ENDED_APPLICATIONS,
        "ended_state": CardState(card.state).label,
        # Separation of duties: whoever took part in the application never takes its money.
        "mine": user.pk in {fee.handled_by_id, card.submitted_by_id, card.approved_by_id},
    }


def _fees_page(
    request: HttpRequest,
    user: User,
    *,
    refusal: tuple[int, str] | None = None,
    waive: tuple[int, WaiveForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = FeeSearchForm(request.GET)
    if refusal or waive:
        # The cursor goes to the refusal's row, not the search box.
        form.fields["q"].widget.attrs.pop("autofocus", None)
    rows = fees.fees_for(user).select_related("card__person")
    if form.is_valid():
        rows = _search(rows, form.cleaned_data["q"])
    page = Paginator(
        rows.filter(status=FeeStatus.DUE).order_by("created_at", "pk"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    start, end = fees.day_bounds(timezone.localdate())
    paid = list(
        rows.filter(status=FeeStatus.PAID, paid_at__gte=start, paid_at__lt=end).order_by(
            "-paid_at", "-pk"
        )[:RECENTLY_PAID]
    )
    may_waive = can(user, "fee.waive")
    due = []
    for fee in page:
        row = _row(user, fee)
        if may_waive:
            row["waive"] = waive[1] if waive and waive[0] == fee.pk else _waive_form(fee)
        if refusal and refusal[0] == fee.pk:
            row["refusal"] = refusal[1]
        due.append(row)
    paid_rows = [_row(user, fee) for fee in paid]
    for row in paid_rows:
        if refusal and refusal[0] == row["fee"].pk:
            row["refusal"] = refusal[1]
    shown = {row["fee"].pk for row in due + paid_rows}
    person_ids = [row["person"].pk for row in due + paid_rows]
    if person_ids:
        access_record(
            actor=user, action="card_fee.list", area_code=user.area_id or "", person_ids=person_ids
        )
    return render(
        request,
        "web/cards/fees.html",
        {
            "form": form,
            "page": page,
            "due": due,
            "paid": paid_rows,
            "may_pay": can(user, "fee.collect"),
            "may_waive": may_waive,
            "may_reconcile": can(user, "fee.reconcile"),
            "card_links": can(user, "card.operate"),
            # A refusal about a fee not on the page (paid meanwhile, or filtered out).
            "refusal": refusal[1] if refusal and refusal[0] not in shown else None,
        },
        status=status,
    )


@login_required
def fee_list(request: HttpRequest) -> HttpResponse:
    return _fees_page(request, _fee_staff(request))


def _back_to(fee: CardFee) -> str:
    return reverse("web:fees") + f"#fee-{fee.pk}"


@login_required
@require_POST
def fee_pay(request: HttpRequest, fee_id: int) -> HttpResponse:
    user = _fee_staff(request)
    fee = _found(fees.fee_get, user, fee_id)
    try:
        fees.fee_pay(actor=user, fee=fee)
    except DomainError as error:
        return _fees_page(request, user, refusal=(fee.pk, error.message), status=400)
    messages.success(
        request,
        _("Payment of ¥%(amount)s recorded: receipt %(receipt)s.")
        % {"amount": fees.money(fee.amount), "receipt": fee.receipt_number},
    )
    return redirect(_back_to(fee))


@login_required
@require_POST
def fee_waive(request: HttpRequest, fee_id: int) -> HttpResponse:
    user = _fee_staff(request)
    fee = _found(fees.fee_get, user, fee_id)
    form = _waive_form(fee, request.POST)
    if form.is_valid():
        try:
            fees.fee_waive(actor=user, fee=fee, reason=form.cleaned_data["reason"])
        except DomainError as error:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
                form.fields[error.field].widget.attrs["autofocus"] = True
            else:
                return _fees_page(request, user, refusal=(fee.pk, error.message), status=400)
        else:
            messages.success(
                request, _("The fee of ¥%(amount)s is waived.") % {"amount": fee.amount}
            )
            return redirect(reverse("web:fees"))
    return _fees_page(request, user, waive=(fee.pk, form), status=400)


# --- the receipt ----------------------------------------------------------------------


@login_required
def fee_receipt(request: HttpRequest, fee_id: int) -> HttpResponse:
    user = _fee_staff(request)
    fee = _found(fees.fee_get, user, fee_id)
    if fee.status != FeeStatus.PAID:
        raise Http404(_("Only a paid fee has a receipt."))
    card = fee.card
    access_record(
        actor=user, action="card_fee.receipt", area_code=fee.area_id, person_ids=[card.person_id]
    )
    return render(
        request,
        "web/cards/receipt.html",
        {
            "fee": fee,
            "card": card,
            "person": card.person,
            "area": fee.area,
            "amount": fees.money(fee.amount),
        },
    )


# --- the day's reconciliation ---------------------------------------------------------


@login_required
def fee_reconciliation(request: HttpRequest) -> HttpResponse:
    user = _reconciler(request)
    today = timezone.localdate()
    form = DayForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        return render(
            request, "web/cards/reconciliation.html", {"form": form, "today": today}, status=400
        )
    day: dt.date = form.cleaned_data["day"] if form.is_bound else today
    if not form.is_bound:
        form = DayForm(initial={"day": today}, today=today)
    assert user.area is not None  # _reconciler: bound to an area
    day_report = fees.fees_daily_reconciliation(actor=user, area=user.area, day=day)
    flagged_cards = {difference.card_id for difference in day_report.differences}
    differences = [
        {
            "difference": difference,
            "label": DIFFERENCE_LABELS.get(difference.code, difference.code),
        }
        for difference in day_report.differences
    ]
    return render(
        request,
        "web/cards/reconciliation.html",
        {
            "form": form,
            "today": today,
            "day": day,
            "report": day_report,
            "per_cashier": [
                {"cashier": name, "total": total, "count": _count(day_report, name)}
                for name, total in day_report.per_cashier.items()
            ],
            "differences": differences,
            "flagged_cards": flagged_cards,
            "due_rows": [
                {"due": due, "reason": _REASON_LABELS.get(due.reason, due.reason)}
                for due in day_report.due
            ],
            "previous_day": (day - dt.timedelta(days=1)).isoformat(),
            "next_day": (day + dt.timedelta(days=1)).isoformat() if day < today else None,
            "card_links": can(user, "card.operate"),
        },
    )


def _count(report: fees.DailyReconciliation, cashier: str) -> int:
    return sum(1 for receipt in report.receipts if receipt.cashier == cashier)
