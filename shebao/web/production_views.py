"""Production and distribution pages: batches, vendor files, outlet stock, reconciliation.

For the card officers and area administrators of an area; anyone else gets
404. Thin like the other pages: reads through `cards.production` and the
selectors (scoped to the user; holders' names on a list are an access,
logged), writes through the `cards.production` services, and a service's
refusal is shown at the form field it names, or above the form.

What an import, a shipment, a receipt or a count found is shown on the page
the form was sent from, row by row (nothing is lost: the officer fixes the
file and uploads it again). The production file is streamed to the browser.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, can
from shebao.cards import production
from shebao.cards.models import BatchStatus, Card, CardState, ProductionBatch, StockCount
from shebao.cards.selectors import cards_for
from shebao.core.errors import DomainError
from shebao.registry import selectors as registry
from shebao.registry.models import Area, AreaStatus, Outlet
from shebao.web.card_views import _log_list, state_label
from shebao.web.forms import attach_error
from shebao.web.views import _found, _user

PAGE_SIZE = 50
STOCK_COUNTS_SHOWN = 20
# Card numbers as pasted or scanned: one per line, or separated by spaces, commas, semicolons.
NUMBER_SEPARATORS = re.compile(r"[\s,;，；、]+")

DISCREPANCY_LABELS: dict[str, Any] = {
    "state_after_production": gettext_lazy("Back before production"),
    "no_production_record": gettext_lazy("No production record"),
    "no_outlet": gettext_lazy("No outlet recorded"),
    "missing_at_count": gettext_lazy("Missing at the count"),
    "found_at_count": gettext_lazy("Found at the count"),
}
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}


# --- who may see these pages -----------------------------------------------------


def _production_staff(request: HttpRequest) -> User:
    """A card officer or area administrator of an area; anyone else gets 404."""
    user = _user(request)
    if (
        user.role not in AREA_STAFF
        or not user.area_id
        or not can(user, "card.production")
        or not can(user, "card.distribute")
    ):
        raise Http404
    return user


def _area(user: User) -> Area:
    return _found(registry.area_get, user, user.area_id or "")


def split_numbers(text: str) -> list[str]:
    """The card numbers of a pasted text; the services normalise each one."""
    return [number for number in NUMBER_SEPARATORS.split(text or "") if number]


def _numbers_widget(placeholder: Any) -> forms.Textarea:
    return forms.Textarea(
        attrs={
            "rows": 5,
            "class": "mono",
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": placeholder,
        }
    )


# --- forms ----------------------------------------------------------------------------


class BatchCreateForm(forms.Form):
    vendor = forms.CharField(
        label=gettext_lazy("Vendor or bank"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    limit = forms.IntegerField(
        label=gettext_lazy("At most this many cards"),
        required=False,
        help_text=gettext_lazy("Leave empty to take every approved card waiting."),
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
    )


class ImportForm(forms.Form):
    FORMATS = [
        ("", gettext_lazy("From the file name")),
        ("csv", "CSV"),
        ("json", "JSON"),
    ]
    file = forms.FileField(
        label=gettext_lazy("Vendor's result file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=FORMATS, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None and not data.get("format"):
            suffix = (upload.name or "").rsplit(".", 1)[-1].lower()
            if suffix in production.FILE_FORMATS:
                data["format"] = suffix
            else:
                self.add_error(
                    "format",
                    gettext_lazy("The file name does not end in .csv or .json; choose its format."),
                )
        return data


class ShipForm(forms.Form):
    outlet = forms.ModelChoiceField(
        label=gettext_lazy("Outlet"),
        queryset=Outlet.objects.none(),
        empty_label=None,
    )
    card_numbers = forms.CharField(
        label=gettext_lazy("Only these card numbers (optional)"),
        required=False,
        max_length=200_000,
        help_text=gettext_lazy(
            "Leave empty to ship every produced card of the batch. One number per line, "
            "or separated by spaces or commas."
        ),
        widget=_numbers_widget(gettext_lazy("A12345678")),
    )

    def __init__(self, *args: Any, outlets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["outlet"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = outlets


class FreezeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the freeze"),
        max_length=200,
        required=False,  # the service asks for it, in its own words
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class NumbersForm(forms.Form):
    card_numbers = forms.CharField(
        label=gettext_lazy("Card numbers"),
        max_length=200_000,
        help_text=gettext_lazy("One per line, or separated by spaces or commas; scan or paste."),
        widget=_numbers_widget(gettext_lazy("A12345678")),
    )


class StockCardForm(forms.Form):
    """Return or destroy one card: typed by its number, or chosen on the stock list
    (the list's radio buttons, `card`, belong to this form in the page)."""

    OPERATIONS = ("return", "destroy")
    card_number = forms.CharField(
        label=gettext_lazy("Card number"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("Or choose the card in the list below."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=200,
        required=False,  # the service asks for it, in its own words
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- batches ------------------------------------------------------------------------


def _batches_page(
    request: HttpRequest,
    user: User,
    *,
    form: BatchCreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    area = _area(user)
    rows = production.batches_for(user).order_by("-created_at", "-pk")
    chosen = request.GET.get("status", "")
    if chosen in BatchStatus.values:
        rows = rows.filter(status=chosen)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = []
    for batch in page:
        states = production.batch_card_states(batch)
        items.append(
            {
                "batch": batch,
                "states": [
                    {"state": state, "label": state_label(state), "count": count}
                    for state, count in states.items()
                ],
            }
        )
    return render(
        request,
        "web/cards/batches.html",
        {
            "area": area,
            "approved": area.status == AreaStatus.APPROVED,
            "waiting": cards_for(user)
            .filter(state=CardState.APPROVED, frozen_at__isnull=True)
            .count(),
            "form": form or BatchCreateForm(),
            "page": page,
            "items": items,
            "statuses": BatchStatus.choices,
            "chosen": chosen,
        },
        status=status,
    )


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    return _batches_page(request, _production_staff(request))


@login_required
@require_POST
def batch_new(request: HttpRequest) -> HttpResponse:
    user = _production_staff(request)
    form = BatchCreateForm(request.POST)
    if form.is_valid():
        try:
            batch = production.batch_create(
                actor=user,
                area=_area(user),
                vendor=form.cleaned_data["vendor"],
                limit=form.cleaned_data["limit"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                _("Batch %(number)s is created with %(count)d cards.")
                % {"number": batch.number, "count": batch.card_count},
            )
            return redirect("web:batch", batch_id=batch.pk)
    return _batches_page(request, user, form=form, status=400)


def _outlet_choices(user: User) -> Any:
    return registry.outlets_for(user).filter(active=True).order_by("code")


def _batch_page(
    request: HttpRequest,
    user: User,
    batch: ProductionBatch,
    *,
    import_form: ImportForm | None = None,
    ship_form: ShipForm | None = None,
    freeze_form: FreezeForm | None = None,
    export_error: str = "",
    release_error: str = "",
    report: production.ImportReport | None = None,
    shipped: production.MoveReport | None = None,
    status: int = 200,
) -> HttpResponse:
    states = production.batch_card_states(batch)
    rows = cards_for(user).filter(batch=batch).select_related("outlet").order_by("pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    cards = list(page)
    _log_list(user, "card_batch.cards", cards)
    in_production = states.get(CardState.IN_PRODUCTION, 0)
    return render(
        request,
        "web/cards/batch.html",
        {
            "batch": batch,
            "states": [
                {"state": state, "label": state_label(state), "count": count}
                for state, count in states.items()
            ],
            "in_production": in_production,
            "produced": states.get(CardState.PRODUCED, 0),
            "page": page,
            "items": [{"card": card, "state_label": state_label(card.state)} for card in cards],
            "import_form": import_form or ImportForm(),
            "ship_form": ship_form or ShipForm(outlets=_outlet_choices(user)),
            "freeze_form": freeze_form or FreezeForm(),
            "may_freeze": can(user, "card.freeze"),
            "export_error": export_error,
            "release_error": release_error,
            "report": report,
            "shipped": shipped,
        },
        status=status,
    )


def _batch(user: User, batch_id: int) -> ProductionBatch:
    batch: ProductionBatch = _found(production.batch_get, user, batch_id)
    return batch


@login_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _production_staff(request)
    return _batch_page(request, user, _batch(user, batch_id))


@login_required
@require_POST
def batch_export(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    user = _production_staff(request)
    batch = _batch(user, batch_id)
    file_format = request.POST.get("format", "")
    try:
        stream = production.batch_export(actor=user, batch=batch, file_format=file_format)
    except DomainError as error:
        return _batch_page(request, user, batch, export_error=error.message, status=400)
    response = StreamingHttpResponse(
        (piece.encode() for piece in stream),
        content_type=f"{CONTENT_TYPES[file_format]}; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{batch.number}.{file_format}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def batch_import(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _production_staff(request)
    batch = _batch(user, batch_id)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            report = production.batch_import(
                actor=user,
                batch=batch,
                data=form.cleaned_data["file"].read(),
                file_format=form.cleaned_data["format"],
            )
        except DomainError as error:
            attach_error(form, error, fallback="file")
        else:
            batch.refresh_from_db()
            return _batch_page(request, user, batch, report=report)
    return _batch_page(request, user, batch, import_form=form, status=400)


@login_required
@require_POST
def batch_ship(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _production_staff(request)
    batch = _batch(user, batch_id)
    form = ShipForm(request.POST, outlets=_outlet_choices(user))
    if form.is_valid():
        numbers = split_numbers(form.cleaned_data["card_numbers"])
        try:
            shipped = production.batch_ship(
                actor=user,
                batch=batch,
                outlet=form.cleaned_data["outlet"],
                card_numbers=numbers or None,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            keep = ShipForm(
                initial={"outlet": form.cleaned_data["outlet"]}, outlets=_outlet_choices(user)
            )
            return _batch_page(request, user, batch, ship_form=keep, shipped=shipped)
    return _batch_page(request, user, batch, ship_form=form, status=400)


@login_required
@require_POST
def batch_freeze(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _production_staff(request)
    batch = _batch(user, batch_id)
    form = FreezeForm(request.POST)
    if form.is_valid():
        try:
            production.batch_freeze(actor=user, batch=batch, reason=form.cleaned_data["reason"])
        except DomainError as error:
            attach_error(form, error, fallback="reason")
        else:
            messages.success(
                request,
                _("Batch %(number)s and its cards are frozen.") % {"number": batch.number},
            )
            return redirect("web:batch", batch_id=batch.pk)
    return _batch_page(request, user, batch, freeze_form=form, status=400)


@login_required
@require_POST
def batch_release(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _production_staff(request)
    batch = _batch(user, batch_id)
    try:
        production.batch_release(actor=user, batch=batch)
    except DomainError as error:
        return _batch_page(request, user, batch, release_error=error.message, status=400)
    messages.success(
        request, _("The freeze of batch %(number)s is lifted.") % {"number": batch.number}
    )
    return redirect("web:batch", batch_id=batch.pk)


# --- outlets and their stock ---------------------------------------------------------

STOCK_TRACKED = (CardState.SHIPPED, CardState.AT_OUTLET, CardState.SEALED)


@login_required
def outlet_list(request: HttpRequest) -> HttpResponse:
    """The area's outlets with the cards on their way to each and in stock there."""
    user = _production_staff(request)
    counts: dict[int, dict[str, int]] = {}
    for row in (
        cards_for(user)
        .filter(outlet__isnull=False, state__in=STOCK_TRACKED)
        .values("outlet_id", "state")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        counts.setdefault(row["outlet_id"], {})[row["state"]] = row["count"]
    items = [
        {"outlet": outlet, "counts": counts.get(outlet.pk, {})}
        for outlet in registry.outlets_for(user).order_by("code")
    ]
    return render(request, "web/cards/outlets.html", {"items": items})


def _outlet(user: User, outlet_id: int) -> Outlet:
    outlet: Outlet = _found(registry.outlet_get, user, outlet_id)
    return outlet


def _stock_page(
    request: HttpRequest,
    user: User,
    outlet: Outlet,
    *,
    receive_form: NumbersForm | None = None,
    count_form: NumbersForm | None = None,
    card_form: StockCardForm | None = None,
    received: production.MoveReport | None = None,
    counted: StockCount | None = None,
    seal_error: str = "",
    chosen: str = "",
    freeze_form: FreezeForm | None = None,
    release_error: str = "",
    status: int = 200,
) -> HttpResponse:
    stock = production.outlet_stock(user, outlet)
    by_state = {
        row["state"]: row["count"]
        for row in stock.order_by().values("state").annotate(count=Count("pk"))
    }
    page = Paginator(stock, PAGE_SIZE).get_page(request.GET.get("page"))
    cards = list(page)
    _log_list(user, "card.stock", cards)
    in_transit = cards_for(user).filter(outlet=outlet, state=CardState.SHIPPED).count()
    history = list(production.stock_counts_for(user, outlet)[:STOCK_COUNTS_SHOWN])
    return render(
        request,
        "web/cards/stock.html",
        {
            "outlet": outlet,
            "at_outlet": by_state.get(CardState.AT_OUTLET, 0),
            "sealed": by_state.get(CardState.SEALED, 0),
            "total": sum(by_state.values()),
            "in_transit": in_transit,
            "page": page,
            "items": [{"card": card, "state_label": state_label(card.state)} for card in cards],
            "chosen": chosen,
            "receive_form": receive_form or NumbersForm(prefix="receive"),
            "count_form": count_form or NumbersForm(prefix="count"),
            "card_form": card_form or StockCardForm(),
            "received": received,
            "counted": counted,
            "history": history,
            "seal_months": registry.area_setting(outlet.area_id, "unclaimed_seal_months"),
            "seal_error": seal_error,
            "may_freeze": can(user, "card.freeze"),
            "freeze_form": freeze_form or FreezeForm(),
            "release_error": release_error,
        },
        status=status,
    )


@login_required
@require_POST
def outlet_freeze(request: HttpRequest, outlet_id: int) -> HttpResponse:
    """Emergency freeze of every card held at the outlet (docs/emergency.md)."""
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    form = FreezeForm(request.POST)
    if form.is_valid():
        try:
            frozen = production.outlet_freeze(
                actor=user, outlet=outlet, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            attach_error(form, error, fallback="reason")
        else:
            messages.success(
                request,
                _("The stock of %(outlet)s is frozen: %(count)d cards.")
                % {"outlet": outlet.name, "count": len(frozen)},
            )
            return redirect(_stock_url(outlet))
    return _stock_page(request, user, outlet, freeze_form=form, status=400)


@login_required
@require_POST
def outlet_release(request: HttpRequest, outlet_id: int) -> HttpResponse:
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    try:
        released = production.outlet_release(actor=user, outlet=outlet)
    except DomainError as error:
        return _stock_page(request, user, outlet, release_error=error.message, status=400)
    messages.success(
        request,
        _("The freeze of the stock of %(outlet)s is lifted: %(count)d cards.")
        % {"outlet": outlet.name, "count": len(released)},
    )
    return redirect(_stock_url(outlet))


@login_required
def outlet_stock(request: HttpRequest, outlet_id: int) -> HttpResponse:
    user = _production_staff(request)
    return _stock_page(request, user, _outlet(user, outlet_id))


def _stock_url(outlet: Outlet) -> str:
    return reverse("web:outlet_stock", args=[outlet.pk])


@login_required
@require_POST
def outlet_receive(request: HttpRequest, outlet_id: int) -> HttpResponse:
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    form = NumbersForm(request.POST, prefix="receive")
    if form.is_valid():
        try:
            received = production.outlet_receive(
                actor=user,
                outlet=outlet,
                card_numbers=split_numbers(form.cleaned_data["card_numbers"]),
            )
        except DomainError as error:
            attach_error(form, error, fallback="card_numbers")
        else:
            return _stock_page(request, user, outlet, received=received)
    return _stock_page(request, user, outlet, receive_form=form, status=400)


@login_required
@require_POST
def outlet_count(request: HttpRequest, outlet_id: int) -> HttpResponse:
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    form = NumbersForm(request.POST, prefix="count")
    if form.is_valid():
        try:
            counted = production.stock_count(
                actor=user,
                outlet=outlet,
                card_numbers=split_numbers(form.cleaned_data["card_numbers"]),
            )
        except DomainError as error:
            attach_error(form, error, fallback="card_numbers")
        else:
            return _stock_page(request, user, outlet, counted=counted)
    return _stock_page(request, user, outlet, count_form=form, status=400)


@login_required
@require_POST
def outlet_seal(request: HttpRequest, outlet_id: int) -> HttpResponse:
    """Seal the cards unclaimed too long at every outlet of the area (the rule is the area's)."""
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    try:
        sealed = production.cards_seal_unclaimed(actor=user, area=_area(user))
    except DomainError as error:
        return _stock_page(request, user, outlet, seal_error=error.message, status=400)
    messages.success(
        request,
        _("%(count)d unclaimed cards of the area are sealed.") % {"count": sealed},
    )
    return redirect(_stock_url(outlet))


def _stock_card(user: User, outlet: Outlet, form: StockCardForm, chosen: str) -> Card | None:
    """The card the form names, among the cards this outlet has had; None with the error set."""
    rows = cards_for(user).filter(outlet=outlet)
    number = "".join((form.cleaned_data["card_number"] or "").split()).upper()
    if number:
        card = rows.filter(card_number=number).first()
    elif chosen.isdigit():
        card = rows.filter(pk=int(chosen)).first()
    else:
        form.add_error("card_number", _("Choose a card in the list or type its number."))
        return None
    if card is None:
        form.add_error("card_number", _("No card with this number was sent to this outlet."))
    return card


@login_required
@require_POST
def outlet_card(request: HttpRequest, outlet_id: int) -> HttpResponse:
    """Return a card of the stock to the vendor or bank, or destroy it."""
    user = _production_staff(request)
    outlet = _outlet(user, outlet_id)
    operation = request.POST.get("op", "")
    if operation not in StockCardForm.OPERATIONS:
        raise Http404
    form = StockCardForm(request.POST)
    chosen = request.POST.get("card", "")
    if form.is_valid():
        card = _stock_card(user, outlet, form, chosen)
        if card is not None:
            service = production.card_return if operation == "return" else production.card_destroy
            try:
                card = service(actor=user, card=card, reason=form.cleaned_data["reason"])
            except DomainError as error:
                attach_error(form, error, fallback="card_number")
            else:
                done = (
                    _("Card %(number)s is returned to the vendor or bank.")
                    if operation == "return"
                    else _("Card %(number)s is recorded as destroyed.")
                )
                messages.success(request, done % {"number": card.card_number})
                return redirect(_stock_url(outlet))
    return _stock_page(request, user, outlet, card_form=form, chosen=chosen, status=400)


# --- reconciliation --------------------------------------------------------------------


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    user = _production_staff(request)
    area = _area(user)
    outlets = list(registry.outlets_for(user).order_by("code"))
    outlet = None
    chosen = request.GET.get("outlet", "")
    if chosen:
        if not chosen.isdigit():
            raise Http404
        outlet = _outlet(user, int(chosen))
    report = production.card_reconciliation(user, area=area, outlet=outlet)
    names = {place.pk: place.name for place in outlets}
    discrepancies = [
        {
            "d": item,
            "label": DISCREPANCY_LABELS.get(item.code, item.code),
            "state_label": state_label(item.state) if item.state else "—",
            "outlet": names.get(item.outlet_id, "—") if item.outlet_id else "—",
        }
        for item in report.discrepancies
    ]
    return render(
        request,
        "web/cards/card_reconciliation.html",
        {
            "area": area,
            "outlet": outlet,
            "outlets": outlets,
            "report": report,
            "discrepancies": discrepancies,
            "difference": report.produced - report.accounted,
        },
    )
