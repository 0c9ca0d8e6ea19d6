"""Card pages of the portal.

Staff (card officers, area administrators): the cards list, the approval
queue, the application at the counter and the card page with its counter
actions. Holders, on a phone: "My cards", with activation, a temporary loss,
unfreezing, the answer to an upgrade, the electronic card (claimed here, its
QR code drawn by `ecard_views`) and applications for a new card.

Thin like the other pages: reads go through `cards.selectors` (scoped to the
user, reads of others' records logged), writes through `cards.services`, and
a service's refusal is shown at the form field it concerns. The actions
offered on a card are those the lifecycle table allows from its state as of
now; the service decides again when the form is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

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
from shebao.accounts.roles import Role, can
from shebao.audit.services import access_record
from shebao.cards import ecard, services
from shebao.cards.lifecycle import TRANSITIONS, Op
from shebao.cards.models import (
    PENDING_STATES,
    AccountClass,
    CancelReason,
    Card,
    CardKind,
    CardState,
    Channel,
    ReplacementReason,
)
from shebao.cards.selectors import card_get, card_history, card_state, cards_for
from shebao.core.errors import DomainError
from shebao.registry import selectors as registry
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Person
from shebao.web.card_forms import (
    AccountClassForm,
    ActivateForm,
    CancelForm,
    CardActionForm,
    CardApplicationForm,
    CardSearchForm,
    IdentityCheckForm,
    RejectForm,
    TemporaryLossForm,
    class_choices,
)
from shebao.web.ecard_views import ecard_panel
from shebao.web.forms import attach_error
from shebao.web.views import _found, _user

PAGE_SIZE = 50

# --- who may see which pages ---------------------------------------------------


def _staff(request: HttpRequest) -> User:
    """A card officer or area administrator of an area; anyone else gets 404."""
    user = _user(request)
    if not can(user, "card.operate") or not user.area_id:
        raise Http404
    return user


def _holder(request: HttpRequest) -> User:
    user = _user(request)
    if user.role != Role.INDIVIDUAL or not user.person_id:
        raise Http404
    return user


# --- actions on one card -------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One thing done to a card from a page: its lifecycle operation, its form
    and the service call. `direction` marks the account-class changes, offered
    only when there is a class to change to."""

    slug: str
    operation: str
    label: Any
    done: Any
    run: Callable[[User, Card, dict[str, Any]], Card]
    form_class: type[CardActionForm] = CardActionForm
    danger: bool = False
    direction: str = ""
    hint: Any = ""
    options: dict[str, Any] = field(default_factory=dict)

    def make_form(self, card: Card, data: Any = None, *, auto_id: str = "id_%s") -> CardActionForm:
        options = dict(self.options)
        if self.direction:
            options["direction"] = self.direction
        if self.form_class is ActivateForm:
            options["today"] = timezone.localdate()
        return self.form_class(data, card=card, prefix=self.slug, auto_id=auto_id, **options)

    def offered(self, card: Card, state: str) -> bool:
        if (state, self.operation) not in TRANSITIONS:
            return False
        if card.frozen_at is not None and self.operation != Op.CANCEL:
            return False  # a frozen card can only be cancelled (the services' rule)
        return not self.direction or bool(class_choices(card, self.direction))


def _table(*actions: Action) -> dict[str, Action]:
    return {action.slug: action for action in actions}


STAFF_ACTIONS = _table(
    Action(
        "approve",
        Op.APPROVE,
        gettext_lazy("Approve"),
        gettext_lazy("The application is approved."),
        lambda actor, card, data: services.card_approve(
            actor=actor, card=card, expected_version=data.get("version")
        ),
    ),
    Action(
        "reject",
        Op.REJECT,
        gettext_lazy("Reject"),
        gettext_lazy("The application is rejected."),
        lambda actor, card, data: services.card_reject(
            actor=actor, card=card, reason=data["reason"]
        ),
        RejectForm,
        danger=True,
    ),
    Action(
        "withdraw",
        Op.WITHDRAW,
        gettext_lazy("Withdraw the application"),
        gettext_lazy("The application is withdrawn."),
        lambda actor, card, data: services.card_withdraw(actor=actor, card=card),
        danger=True,
    ),
    Action(
        "hand_over",
        Op.HAND_OVER,
        gettext_lazy("Hand over"),
        gettext_lazy("The card is handed over to its holder."),
        lambda actor, card, data: services.card_hand_over(
            actor=actor,
            card=card,
            presented_id_number=data["presented_id_number"],
            expected_version=data.get("version"),
        ),
        IdentityCheckForm,
    ),
    Action(
        "activate",
        Op.ACTIVATE,
        gettext_lazy("Activate"),
        gettext_lazy("The card is activated."),
        lambda actor, card, data: services.card_activate(
            actor=actor, card=card, guardian_id_number=data.get("guardian_id_number", "")
        ),
        ActivateForm,
    ),
    Action(
        "pin_unlock",
        Op.PIN_UNLOCK,
        gettext_lazy("Unlock the PIN"),
        gettext_lazy("The PIN is unlocked."),
        lambda actor, card, data: services.card_pin_unlock(
            actor=actor, card=card, presented_id_number=data["presented_id_number"]
        ),
        IdentityCheckForm,
    ),
    Action(
        "temporary_loss",
        Op.TEMPORARY_LOSS,
        gettext_lazy("Report a temporary loss"),
        gettext_lazy("The temporary loss is recorded."),
        lambda actor, card, data: services.card_report_temporary_loss(
            actor=actor, card=card, channel=data["channel"]
        ),
        TemporaryLossForm,
    ),
    Action(
        "unfreeze",
        Op.UNFREEZE,
        gettext_lazy("Lift the temporary loss"),
        gettext_lazy("The temporary loss is lifted; the card is usable again."),
        lambda actor, card, data: services.card_unfreeze(actor=actor, card=card),
    ),
    Action(
        "formal_loss",
        Op.FORMAL_LOSS,
        gettext_lazy("Report a formal loss"),
        gettext_lazy("The formal loss is recorded; the holder may now apply for a replacement."),
        lambda actor, card, data: services.card_report_formal_loss(
            actor=actor, card=card, presented_id_number=data["presented_id_number"]
        ),
        IdentityCheckForm,
        danger=True,
    ),
    Action(
        "downgrade",
        Op.DOWNGRADE,
        gettext_lazy("Lower the account class"),
        gettext_lazy("The account class is lowered."),
        lambda actor, card, data: services.card_downgrade(
            actor=actor, card=card, account_class=data["account_class"]
        ),
        AccountClassForm,
        direction="down",
    ),
    Action(
        "upgrade",
        Op.UPGRADE,
        gettext_lazy("Raise the account class"),
        gettext_lazy("The account class is raised."),
        lambda actor, card, data: services.card_upgrade(
            actor=actor, card=card, account_class=data["account_class"]
        ),
        AccountClassForm,
        direction="up",
    ),
    Action(
        "cancel",
        Op.CANCEL,
        gettext_lazy("Cancel the card"),
        gettext_lazy("The card and its bank account are cancelled."),
        lambda actor, card, data: services.card_cancel(
            actor=actor, card=card, reason=data["reason"]
        ),
        CancelForm,
        danger=True,
    ),
)

HOLDER_ACTIONS = _table(
    Action(
        "activate",
        Op.ACTIVATE,
        gettext_lazy("Activate my card"),
        gettext_lazy("Your card is activated."),
        lambda actor, card, data: services.card_activate(
            actor=actor, card=card, guardian_id_number=data.get("guardian_id_number", "")
        ),
        ActivateForm,
        hint=gettext_lazy("Activate the card before you use it for the first time."),
    ),
    Action(
        "temporary_loss",
        Op.TEMPORARY_LOSS,
        gettext_lazy("Report it lost for now"),
        gettext_lazy("Your card is reported lost for now; nobody can use it."),
        lambda actor, card, data: services.card_report_temporary_loss(actor=actor, card=card),
        hint=gettext_lazy(
            "Nobody can use the card while it is reported lost; the report lapses by itself "
            "after some days. A card gone for good is reported lost formally at an outlet."
        ),
    ),
    Action(
        "unfreeze",
        Op.UNFREEZE,
        gettext_lazy("I found it: make it usable again"),
        gettext_lazy("Your card is usable again."),
        lambda actor, card, data: services.card_unfreeze(actor=actor, card=card),
    ),
    Action(
        "upgrade",
        Op.UPGRADE,
        gettext_lazy("Raise the account class"),
        gettext_lazy("The account class is raised."),
        lambda actor, card, data: services.card_upgrade(
            actor=actor, card=card, account_class=data["account_class"]
        ),
        AccountClassForm,
        direction="up",
    ),
)

# Refusals whose service names no field but which plainly concern one.
ERROR_FIELDS = {
    "identity_mismatch": "presented_id_number",
    "card_already_held": "kind",
    "replacement_not_allowed": "replaces",
    "renewal_not_open": "replaces",
    "type_change_not_allowed": "replaces",
}


def _attach(form: Any, error: DomainError) -> None:
    """Show a service's refusal at its field; some refusals name none, the map places them."""
    attach_error(form, error, fallback="" if error.field else ERROR_FIELDS.get(error.code, ""))


def _run(request: HttpRequest, action: Action, card: Card, form: Any) -> tuple[bool, Any]:
    """Run the action; on refusal the error is on the form, and an upgrade
    refusal also returns the type-change application to offer."""
    if not form.is_valid():
        return False, None
    try:
        action.run(_user(request), card, form.cleaned_data)
    except DomainError as error:
        _attach(form, error)
        offer = error.detail.get("apply") if error.code == "upgrade_needs_new_card" else None
        return False, offer
    messages.success(request, str(action.done))
    return True, None


def _errors_text(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _apply_url(base: str, offer: dict[str, Any]) -> str:
    keys = ("kind", "replaces", "account_class", "bank", "reason")
    return base + "?" + urlencode({key: offer[key] for key in keys if offer.get(key)})


# --- what a card looks like on a page ---------------------------------------------

OPERATION_LABELS: dict[str, Any] = {
    "apply": gettext_lazy("Application"),
    "issue_temporary": gettext_lazy("Temporary card issued"),
    Op.APPROVE: gettext_lazy("Approved"),
    Op.REJECT: gettext_lazy("Rejected"),
    Op.WITHDRAW: gettext_lazy("Withdrawn"),
    Op.BATCH: gettext_lazy("Put into a production batch"),
    Op.PRODUCE: gettext_lazy("Produced"),
    Op.PRODUCTION_FAILED: gettext_lazy("Production failed"),
    Op.SHIP: gettext_lazy("Shipped to the outlet"),
    Op.RECEIVE: gettext_lazy("Received at the outlet"),
    Op.SEAL: gettext_lazy("Sealed (unclaimed)"),
    Op.RETURN: gettext_lazy("Returned"),
    Op.DESTROY: gettext_lazy("Destroyed"),
    Op.HAND_OVER: gettext_lazy("Handed over"),
    Op.ACTIVATE: gettext_lazy("Activated"),
    Op.PIN_FAILURE: gettext_lazy("Wrong PIN entered"),
    Op.PIN_LOCK: gettext_lazy("PIN locked"),
    Op.PIN_UNLOCK: gettext_lazy("PIN unlocked"),
    Op.TEMPORARY_LOSS: gettext_lazy("Temporary loss reported"),
    Op.UNFREEZE: gettext_lazy("Temporary loss lifted"),
    Op.LOSS_LAPSED: gettext_lazy("Temporary loss lapsed"),
    Op.FORMAL_LOSS: gettext_lazy("Formal loss reported"),
    Op.DOWNGRADE: gettext_lazy("Account class lowered"),
    Op.UPGRADE: gettext_lazy("Account class raised"),
    Op.SUPERSEDE: gettext_lazy("Replaced by a new card"),
    Op.CANCEL: gettext_lazy("Cancelled"),
}
DETAIL_LABELS: dict[str, Any] = {
    "kind": gettext_lazy("kind"),
    "channel": gettext_lazy("channel"),
    "reason": gettext_lazy("reason"),
    "days": gettext_lazy("days"),
    "failures": gettext_lazy("wrong PINs"),
    "limit": gettext_lazy("limit"),
    "from": gettext_lazy("from class"),
    "to": gettext_lazy("to class"),
    "guardian": gettext_lazy("guardian"),
    "new_card": gettext_lazy("new card"),
}
_VALUE_LABELS: dict[str, Any] = {
    value: label
    for choices in (CardKind, Channel, CancelReason, ReplacementReason)
    for value, label in choices.choices
}


def state_label(state: str) -> str:
    return str(CardState(state).label) if state in CardState.values else (state or "—")


def mask_account(number: str) -> str:
    """`6222000000000000001` → `6222 **** 0001`: enough to recognise one's account."""
    if not number:
        return "—"
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]} **** {number[-4:]}"


def _detail_text(detail: dict[str, Any]) -> str:
    parts = []
    for key, value in detail.items():
        if key in ("from", "to") and value in AccountClass.values:
            shown: Any = AccountClass(value).label
        else:
            shown = _VALUE_LABELS.get(value, value) if isinstance(value, str) else value
        parts.append(f"{DETAIL_LABELS.get(key, key)}: {shown}")
    return "; ".join(parts)


def _history(card: Card, *, show_actor: bool) -> list[dict[str, Any]]:
    return [
        {
            "at": event.at,
            "operation": OPERATION_LABELS.get(event.operation, event.operation),
            "from_state": state_label(event.from_state),
            "to_state": state_label(event.to_state),
            "actor": (event.actor or _("automatically")) if show_actor else None,
            "detail": _detail_text(event.detail),
        }
        for event in card_history(card)
    ]


def _state_filter(state: str, now: dt.datetime, today: dt.date) -> Q:
    """Cards whose state as of now is `state`, in SQL so the list pages in the database.

    Mirrors `cards.lifecycle.effective_state` (a test holds them together): a
    temporary loss past its lapse time reads as active, and a held card on or
    after its `valid_to` date reads as expired.
    """
    held = (CardState.ISSUED, CardState.ACTIVE, CardState.TEMPORARY_LOSS, CardState.PIN_LOCKED)
    overdue = Q(state__in=held, valid_to__isnull=False, valid_to__lte=today)
    lapsed = Q(
        state=CardState.TEMPORARY_LOSS, loss_lapses_at__isnull=False, loss_lapses_at__lte=now
    )
    if state == CardState.EXPIRED:
        return Q(state=state) | overdue
    if state == CardState.ACTIVE:
        return (Q(state=state) | lapsed) & ~overdue
    if state == CardState.TEMPORARY_LOSS:
        return Q(state=state) & ~lapsed & ~overdue
    if state in held:
        return Q(state=state) & ~overdue
    return Q(state=state)


def _log_list(user: User, action: str, cards: Iterable[Card]) -> None:
    person_ids = [card.person_id for card in cards]
    if person_ids and user.area_id:
        access_record(actor=user, action=action, area_code=user.area_id, person_ids=person_ids)


# --- staff: list, queue, card page -----------------------------------------------


@login_required
def card_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    form = CardSearchForm(request.GET)
    rows = cards_for(user).select_related("outlet")
    persons: list[Person] = []
    person = None
    if form.is_valid():
        if form.cleaned_data["person"]:
            person = _found(registry.person_get, user, form.cleaned_data["person"])
            rows = rows.filter(person=person)
        query = form.cleaned_data["q"].strip()
        if query:
            persons = registry.person_search(user, query)
            rows = rows.filter(
                Q(card_number="".join(query.split()).upper())
                | Q(person__in=[p.pk for p in persons])
            )
        if form.cleaned_data["state"]:
            rows = rows.filter(
                _state_filter(form.cleaned_data["state"], timezone.now(), timezone.localdate())
            )
    page = Paginator(rows.order_by("-submitted_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    cards = list(page)
    _log_list(user, "card.list", cards)
    items = []
    for card in cards:
        state = card_state(card)
        items.append({"card": card, "state": state, "state_label": state_label(state)})
    return render(
        request,
        "web/cards/list.html",
        {
            "form": form,
            "page": page,
            "items": items,
            "person": person,
            "persons": [
                {"person": p, "id_number": mask_identity_number(p.id_number)} for p in persons
            ],
            "queue_count": cards_for(user).filter(state=CardState.APPLIED).count(),
        },
    )


@login_required
def card_queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, _staff(request))


def _queue_page(
    request: HttpRequest,
    user: User,
    *,
    bound: tuple[Card, str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = (
        cards_for(user)
        .filter(state=CardState.APPLIED)
        .select_related("submitted_by")
        .order_by("submitted_at", "pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    cards = list(page)
    _log_list(user, "card.queue", cards)
    items = []
    for card in cards:
        forms = {}
        for slug in ("approve", "reject"):
            if bound and bound[0].pk == card.pk and bound[1] == slug:
                forms[slug] = bound[2]
            else:
                forms[slug] = STAFF_ACTIONS[slug].make_form(card, auto_id=f"id_{card.pk}_%s")
        items.append(
            {
                "card": card,
                "mine": card.submitted_by_id == user.pk,
                "id_number": mask_identity_number(card.person.id_number),
                "approve": forms["approve"],
                "reject": forms["reject"],
            }
        )
    refusal = None
    if bound is not None:
        refusal = {"card": bound[0], "text": _errors_text(bound[2])}
    return render(
        request,
        "web/cards/queue.html",
        {"page": page, "items": items, "refusal": refusal},
        status=status,
    )


@login_required
def card_detail(request: HttpRequest, card_id: int) -> HttpResponse:
    user = _staff(request)
    return _card_page(request, user, _found(card_get, user, card_id))


def _card_page(
    request: HttpRequest,
    user: User,
    card: Card,
    *,
    bound: tuple[str, Any] | None = None,
    offer: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    state = card_state(card)
    actions: list[dict[str, Any]] = []
    for action in STAFF_ACTIONS.values():
        if not action.offered(card, state):
            continue
        form = bound[1] if bound and bound[0] == action.slug else action.make_form(card)
        actions.append(
            {
                "action": action,
                "form": form,
                "url": reverse("web:card_action", args=[card.pk, action.slug]),
                "mine": action.operation == Op.APPROVE and card.submitted_by_id == user.pk,
            }
        )
    refusal = None
    if bound and bound[0] not in {item["action"].slug for item in actions}:
        # The card changed since the form was shown: the action is no longer offered.
        refusal = _errors_text(bound[1])
    visible = cards_for(user)
    context = {
        "card": card,
        "state": state,
        "state_label": state_label(state),
        "person": card.person,
        "id_number": registry.display_id_number(user, card.person),
        "bank_account": mask_account(card.bank_account),
        "fee": getattr(card, "fee", None),
        "has_photo": visible.filter(pk=card.pk, photo__isnull=False).exists(),
        "replaced_by": visible.filter(replaces=card).order_by("pk"),
        "history": _history(card, show_actor=True),
        "actions": actions,
        "refusal": refusal,
        "offer_url": _apply_url(reverse("web:card_apply", args=[card.person_id]), offer)
        if offer
        else None,
        "offer_class": AccountClass(offer["account_class"]).label if offer else None,
    }
    return render(request, "web/cards/card.html", context, status=status)


@login_required
@require_POST
def card_action(request: HttpRequest, card_id: int, action: str) -> HttpResponse:
    user = _staff(request)
    if action not in STAFF_ACTIONS:
        raise Http404
    act = STAFF_ACTIONS[action]
    card = _found(card_get, user, card_id, log=False)  # the page shown next logs the read
    form = act.make_form(card, request.POST)
    done, offer = _run(request, act, card, form)
    to_queue = request.POST.get("next") == "queue"
    if done:
        return redirect("web:card_queue") if to_queue else redirect("web:card", card_id=card.pk)
    fresh = _found(card_get, user, card_id)  # as it is now: the refused change is rolled back
    if to_queue:
        return _queue_page(request, user, bound=(fresh, act.slug, form), status=400)
    return _card_page(request, user, fresh, bound=(act.slug, form), offer=offer, status=400)


@login_required
def card_photo(request: HttpRequest, card_id: int) -> HttpResponse:
    user = _staff(request)
    card = _found(card_get, user, card_id)
    if not hasattr(card, "photo"):
        raise Http404
    response = HttpResponse(bytes(card.photo.jpeg), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


# --- applications ---------------------------------------------------------------


def _application_form(
    request: HttpRequest, person: Person, replaceable: QuerySet[Card], *, counter: bool
) -> CardApplicationForm:
    initial: dict[str, Any] = {"phone": person.phone, "address": person.address}
    # A link may pre-fill the application, e.g. the type change an upgrade refusal offers.
    for key in ("kind", "replaces", "account_class", "bank", "reason"):
        if request.GET.get(key):
            initial[key] = request.GET[key]
    return CardApplicationForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        replaceable=replaceable,
        counter=counter,
        issuance_days=(
            registry.area_setting(person.area_id, "issuance_working_days"),
            registry.area_setting(person.area_id, "urgent_issuance_working_days"),
        ),
    )


def _submit(request: HttpRequest, person: Person, form: CardApplicationForm) -> Card | None:
    if not form.is_bound or not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return services.card_apply(
            actor=_user(request),
            person=person,
            kind=data["kind"],
            replaces=data["replaces"],
            reason=data["reason"],
            account_class=data["account_class"],
            bank=data["bank"],
            phone=data["phone"],
            address=data["address"],
            photo=data["photo"],
            urgent=data.get("urgent", False),
        )
    except DomainError as error:
        _attach(form, error)
        return None


def _apply_page(
    request: HttpRequest,
    form: CardApplicationForm,
    *,
    person: Person,
    id_number: str,
    heading: str,
    cancel_url: str,
) -> HttpResponse:
    return render(
        request,
        "web/cards/apply.html",
        {
            "form": form,
            "person": person,
            "id_number": id_number,
            "heading": heading,
            "cancel_url": cancel_url,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def card_apply(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _staff(request)
    person = _found(registry.person_get, user, person_id)
    replaceable = (
        cards_for(user)
        .filter(person=person, card_number__isnull=False)
        .exclude(kind=CardKind.TEMPORARY)
        .order_by("-pk")
    )
    form = _application_form(request, person, replaceable, counter=True)
    card = _submit(request, person, form)
    if card is not None:
        messages.success(
            request,
            _("The application is taken (number %(id)d); a second officer approves it.")
            % {"id": card.pk},
        )
        return redirect("web:card", card_id=card.pk)
    return _apply_page(
        request,
        form,
        person=person,
        id_number=registry.display_id_number(user, person),
        heading=_("Card application for %(name)s") % {"name": person.name},
        cancel_url=reverse("web:cards") + "?" + urlencode({"person": person.pk}),
    )


# --- holders ------------------------------------------------------------------------


@login_required
def my_cards(request: HttpRequest) -> HttpResponse:
    return _my_cards_page(request, _holder(request))


def _my_cards_page(
    request: HttpRequest,
    user: User,
    *,
    bound: tuple[int, str, Any] | None = None,
    offer: dict[str, Any] | None = None,
    ecard_refusal: tuple[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    apply_url = reverse("web:my_card_apply")
    claimed = set(ecard.ecards_for(user).values_list("card_id", flat=True))
    items = []
    for card in cards_for(user).select_related("outlet").order_by("-submitted_at", "-pk"):
        state = card_state(card)
        actions: list[dict[str, Any]] = []
        for action in HOLDER_ACTIONS.values():
            if not action.offered(card, state):
                continue
            if bound and bound[0] == card.pk and bound[1] == action.slug:
                form = bound[2]
            else:
                form = action.make_form(card, auto_id=f"id_{card.pk}_%s")
            actions.append(
                {
                    "action": action,
                    "form": form,
                    "url": reverse("web:my_card_action", args=[card.pk, action.slug]),
                }
            )
        same = {"replaces": card.pk, "account_class": card.account_class, "bank": card.bank}
        held = card.kind != CardKind.TEMPORARY and state in (
            CardState.ISSUED,
            CardState.ACTIVE,
            CardState.TEMPORARY_LOSS,
            CardState.PIN_LOCKED,
            CardState.FORMAL_LOSS,
            CardState.EXPIRED,
        )
        items.append(
            {
                "card": card,
                "state": state,
                "state_label": state_label(state),
                "pending": state in PENDING_STATES,
                "bank_account": mask_account(card.bank_account),
                "history": _history(card, show_actor=False),
                "actions": actions,
                "renew_url": _apply_url(apply_url, {"kind": CardKind.RENEWAL, **same})
                if held and state != CardState.FORMAL_LOSS
                else None,
                "replace_url": _apply_url(
                    apply_url,
                    {
                        "kind": CardKind.REPLACEMENT,
                        **same,
                        "reason": ReplacementReason.LOSS if state == CardState.FORMAL_LOSS else "",
                    },
                )
                if held
                else None,
                "change_url": _apply_url(
                    apply_url,
                    {"kind": CardKind.TYPE_CHANGE, "replaces": card.pk, "bank": card.bank},
                )
                if held and state in (CardState.ISSUED, CardState.ACTIVE)
                else None,
                "offer_url": _apply_url(apply_url, offer)
                if offer and offer.get("replaces") == card.pk
                else None,
                "offer_class": AccountClass(offer["account_class"]).label if offer else None,
                "ecard": ecard_panel(
                    user,
                    card,
                    state,
                    claimed=card.pk in claimed,
                    refusal=ecard_refusal[1]
                    if ecard_refusal and ecard_refusal[0] == card.pk
                    else None,
                ),
            }
        )
    return render(
        request,
        "web/cards/mine.html",
        {"items": items, "apply_url": apply_url},
        status=status,
    )


@login_required
@require_POST
def my_card_action(request: HttpRequest, card_id: int, action: str) -> HttpResponse:
    user = _holder(request)
    if action not in HOLDER_ACTIONS:
        raise Http404
    act = HOLDER_ACTIONS[action]
    card = _found(card_get, user, card_id, log=False)  # one's own card: never logged
    form = act.make_form(card, request.POST, auto_id=f"id_{card.pk}_%s")
    done, offer = _run(request, act, card, form)
    if done:
        return redirect(reverse("web:my_cards") + f"#card-{card.pk}")
    return _my_cards_page(request, user, bound=(card.pk, act.slug, form), offer=offer, status=400)


@login_required
@require_POST
def my_ecard_claim(request: HttpRequest, card_id: int) -> HttpResponse:
    """The holder claims the electronic card of a valid card."""
    user = _holder(request)
    card = _found(card_get, user, card_id, log=False)
    try:
        ecard.ecard_claim(actor=user, card=card)
    except DomainError as error:
        return _my_cards_page(request, user, ecard_refusal=(card.pk, error.message), status=400)
    messages.success(request, _("Your electronic card is ready: show its code to be identified."))
    return redirect(reverse("web:my_cards") + f"#ecard-{card.pk}")


@login_required
def my_card_apply(request: HttpRequest) -> HttpResponse:
    user = _holder(request)
    person = _found(registry.person_get, user, user.person_id)
    replaceable = (
        cards_for(user)
        .filter(card_number__isnull=False)
        .exclude(kind=CardKind.TEMPORARY)
        .order_by("-pk")
    )
    form = _application_form(request, person, replaceable, counter=False)
    card = _submit(request, person, form)
    if card is not None:
        messages.success(
            request,
            _("Your application is submitted (number %(id)d). You can follow it here.")
            % {"id": card.pk},
        )
        return redirect("web:my_cards")
    return _apply_page(
        request,
        form,
        person=person,
        id_number=registry.display_id_number(user, person),
        heading=_("Apply for a social security card"),
        cancel_url=reverse("web:my_cards"),
    )
