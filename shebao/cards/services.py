"""Card services: applications, approval, hand-over and everything after.

Every change of state goes through `_transition`, which locks the card row,
brings a lapsed temporary loss up to date, asks the lifecycle table for the
next state, and records the card event and the audit event in the same
transaction. Two officers acting on one card at once: the second waits for
the lock, then finds the card changed and gets a conflict.

Production batches, distribution and stock live in `cards.production`;
fees in `cards.fees`; the electronic card in `cards.ecard`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import audit_record, json_value
from shebao.cards.lifecycle import Op, effective_state, next_state
from shebao.cards.models import (
    PENDING_STATES,
    VALID_STATES,
    AccountClass,
    CancelReason,
    Card,
    CardEvent,
    CardFee,
    CardKind,
    CardPhoto,
    CardState,
    Channel,
    ReplacementReason,
)
from shebao.cards.photo import check_photo
from shebao.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from shebao.registry.identifiers import normalize_identity_number
from shebao.registry.models import Employment, Outlet, Person, PersonStatus
from shebao.registry.selectors import area_setting
from shebao.registry.workdays import WorkCalendar

# Snapshot of a card in audit events: what a transition may change.
CARD_FIELDS = [
    "state",
    "account_class",
    "bank",
    "card_number",
    "outlet_id",
    "pin_failures",
    "loss_lapses_at",
    "frozen_at",
    "cancel_reason",
    "approved_by_id",
    "valid_to",
    "version",
]


def card_snapshot(card: Card) -> dict[str, Any]:
    return {name: json_value(getattr(card, name)) for name in CARD_FIELDS}


def record_event(
    *,
    actor: User | None,
    card: Card,
    operation: str,
    from_state: str,
    to_state: str,
    at: dt.datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> CardEvent:
    return CardEvent.objects.create(
        area_id=card.area_id,
        card=card,
        at=at or timezone.now(),
        actor=actor,
        operation=operation,
        from_state=from_state,
        to_state=to_state,
        detail=json_value(detail or {}),
    )


def _require_for_card(actor: User, capability: str, card: Card) -> None:
    """The actor's right, and for a holder: only their own card."""
    require(actor, capability, area_code=card.area_id)
    if actor.role == Role.INDIVIDUAL and actor.person_id != card.person_id:
        raise Forbidden(_("You may act only on your own card."))


def _lock(card: Card) -> Card:
    """The card row, locked for this transaction, with a lapsed temporary loss made active."""
    locked = Card.objects.select_for_update().get(pk=card.pk)
    now = timezone.now()
    if (
        locked.state == CardState.TEMPORARY_LOSS
        and locked.loss_lapses_at is not None
        and now >= locked.loss_lapses_at
    ):
        # The lapse happened when the period ended, whether or not anyone
        # looked; it is written down the first time the card changes again.
        record_event(
            actor=None,
            card=locked,
            operation=Op.LOSS_LAPSED,
            from_state=CardState.TEMPORARY_LOSS,
            to_state=CardState.ACTIVE,
            at=locked.loss_lapses_at,
        )
        locked.state = CardState.ACTIVE
        locked.loss_lapses_at = None
    return locked


def _transition(
    *,
    actor: User | None,
    card: Card,
    operation: str,
    expected_version: int | None = None,
    detail: dict[str, Any] | None = None,
    locked: Card | None = None,
    **changes: Any,
) -> Card:
    locked = locked or _lock(card)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            _(
                "The card was changed by someone else (version %(current)d, you saw %(seen)d); "
                "reload it and try again."
            ),
            code="stale_card",
            params={"current": locked.version, "seen": expected_version},
        )
    if locked.frozen_at is not None and operation != Op.CANCEL:
        raise Conflict(
            _("The card is frozen (%(reason)s); nothing can be done with it until it is released."),
            code="card_frozen",
            params={"reason": locked.frozen_reason or "-"},
        )
    now = timezone.now()
    current = effective_state(locked, now, timezone.localdate())
    new_state = next_state(current, operation)
    before = card_snapshot(locked)
    locked.state = new_state
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.version += 1
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise Conflict(
            _(
                "The person already holds a valid card of this area, or a class I account at "
                "this bank."
            ),
            code="card_uniqueness",
        ) from None
    record_event(
        actor=actor,
        card=locked,
        operation=operation,
        from_state=current,
        to_state=new_state,
        at=now,
        detail=detail,
    )
    audit_record(
        actor=actor,
        action=f"card.{operation}",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after=card_snapshot(locked),
    )
    card.__dict__.update(locked.__dict__)
    return card


# --- applications ------------------------------------------------------------


def _channel_for(actor: User) -> str:
    return {Role.INDIVIDUAL: Channel.ONLINE, Role.EMPLOYER: Channel.EMPLOYER}.get(
        Role(actor.role), Channel.COUNTER
    )


def _check_applicant(actor: User, person: Person) -> None:
    require(
        actor,
        "card.apply",
        area_code=person.area_id,
        employer_id=actor.employer_id if actor.role == Role.EMPLOYER else None,
    )
    if actor.role == Role.INDIVIDUAL and actor.person_id != person.pk:
        raise Forbidden(_("You may apply only for your own card."))
    if (
        actor.role == Role.EMPLOYER
        and not Employment.objects.filter(
            area_id=person.area_id,
            employer_id=actor.employer_id or 0,
            person=person,
            end_date__isnull=True,
        ).exists()
    ):
        raise Forbidden(_("An employer may apply only for its current employees."))
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(
            _("%(name)s is not an insured person of this area (%(status)s)."),
            code="person_not_active",
            params={"name": person.name, "status": person.get_status_display()},
        )


def _check_class_i_per_bank(
    person: Person, bank: str, account_class: int, exclude: Card | None
) -> None:
    """PBOC: at most one class I account per person per bank, on every path.

    The rule is national, so cards of the same identity number in other areas
    count too; this runs on applications and upgrades, not on hot paths.
    """
    if account_class != AccountClass.I:
        return
    others = Card.objects.filter(
        person__id_number=person.id_number,
        bank=bank,
        account_class=AccountClass.I,
        state__in=[*VALID_STATES, *PENDING_STATES],
    )
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise Conflict(
            _(
                "%(name)s already has a class I account at %(bank)s; a person may hold only one "
                "class I account per bank. Choose class II or III, or another bank."
            ),
            code="class_i_per_bank",
            field="account_class",
            params={"name": person.name, "bank": bank},
        )


def _clean_bank(bank: str) -> str:
    code = (bank or "").strip().upper()
    if not code or len(code) > 16 or not code.replace("_", "").isalnum():
        raise InvalidInput(
            _("Give the bank's code (letters and digits, at most 16), e.g. ICBC."),
            code="bank_code",
            field="bank",
        )
    return code


def _check_replaced(
    kind: str, person: Person, replaces: Card | None, reason: str, account_class: int, bank: str
) -> None:
    if kind == CardKind.FIRST:
        held = Card.objects.filter(
            area_id=person.area_id, person=person, state__in=VALID_STATES
        ).exclude(kind=CardKind.TEMPORARY)
        if held.exists():
            raise Conflict(
                _(
                    "%(name)s already holds a valid card of this area; apply for a replacement, "
                    "renewal or type change instead."
                ),
                code="card_already_held",
                params={"name": person.name},
            )
        return
    if replaces is None or replaces.person_id != person.pk:
        raise InvalidInput(
            _("Name the card this application replaces."),
            code="replaces_required",
            field="replaces",
        )
    state = effective_state(replaces, timezone.now(), timezone.localdate())
    if kind == CardKind.REPLACEMENT:
        if reason not in ReplacementReason.values:
            raise InvalidInput(
                _("Give the reason for the replacement."), code="reason_required", field="reason"
            )
        allowed = (
            [CardState.FORMAL_LOSS]
            if reason == ReplacementReason.LOSS
            else [
                CardState.ISSUED,
                CardState.ACTIVE,
                CardState.PIN_LOCKED,
                CardState.TEMPORARY_LOSS,
                CardState.FORMAL_LOSS,
            ]
        )
        if state not in allowed:
            raise Conflict(
                _("A lost card must be reported lost formally before it is replaced.")
                if reason == ReplacementReason.LOSS
                else _("This card cannot be replaced in its state (%(state)s)."),
                code="replacement_not_allowed",
                params={"state": CardState(state).label},
            )
    elif kind == CardKind.RENEWAL:
        window = area_setting(person.area_id, "card_renewal_window_days")
        opens = replaces.valid_to - dt.timedelta(days=window) if replaces.valid_to else None
        if state not in (CardState.EXPIRED, *VALID_STATES) or (
            state != CardState.EXPIRED and (opens is None or timezone.localdate() < opens)
        ):
            raise Conflict(
                _("Renewal opens %(days)d days before the card expires (on %(date)s)."),
                code="renewal_not_open",
                params={"days": window, "date": opens.isoformat() if opens else "-"},
            )
    elif kind == CardKind.TYPE_CHANGE:
        if state not in (CardState.ISSUED, CardState.ACTIVE):
            raise Conflict(
                _("Only an issued or active card can be changed to another class."),
                code="type_change_not_allowed",
            )
        if (account_class, bank) == (replaces.account_class, replaces.bank):
            raise InvalidInput(
                _("The new card would be the same as the old one; choose another class or bank."),
                code="type_change_same",
                field="account_class",
            )


@transaction.atomic
def card_apply(
    *,
    actor: User,
    person: Person,
    account_class: int,
    bank: str,
    photo: bytes | None,
    phone: str,
    address: str,
    kind: str = CardKind.FIRST,
    replaces: Card | None = None,
    reason: str = "",
    urgent: bool = False,
) -> Card:
    """Apply for a card (first, replacement, renewal or type change).

    Information collection is checked here: the photo (JPEG 358×441, 24-bit),
    a contact phone and an address. A person has at most one application in
    progress.
    """
    _check_applicant(actor, person)
    if kind not in CardKind.values or kind == CardKind.TEMPORARY:
        raise InvalidInput(
            _("Unknown kind of application %(kind)s."),
            code="card_kind",
            field="kind",
            params={"kind": kind},
        )
    if account_class not in AccountClass.values:
        raise InvalidInput(
            _("Account class must be 1, 2 or 3 (I, II or III)."),
            code="account_class",
            field="account_class",
        )
    bank = _clean_bank(bank)
    phone, address = (phone or "").strip(), (address or "").strip()
    if not phone:
        raise InvalidInput(_("A contact phone is required."), code="phone_required", field="phone")
    if not address:
        raise InvalidInput(_("An address is required."), code="address_required", field="address")
    digest = check_photo(photo)
    Person.objects.select_for_update().filter(pk=person.pk).first()  # one application at a time
    pending = Card.objects.filter(
        area_id=person.area_id, person=person, state__in=PENDING_STATES
    ).first()
    if pending is not None:
        raise Conflict(
            _("An application for %(name)s is already in progress (number %(id)d, %(state)s)."),
            code="application_pending",
            params={"name": person.name, "id": pending.pk, "state": pending.get_state_display()},
        )
    _check_replaced(kind, person, replaces, reason, account_class, bank)
    _check_class_i_per_bank(person, bank, account_class, exclude=replaces)
    card = Card.objects.create(
        area_id=person.area_id,
        person=person,
        kind=kind,
        channel=_channel_for(actor),
        state=CardState.APPLIED,
        account_class=account_class,
        bank=bank,
        replaces=replaces if kind != CardKind.FIRST else None,
        replacement_reason=reason if kind == CardKind.REPLACEMENT else "",
        urgent=urgent,
        phone=phone,
        address=address,
        submitted_by=actor,
    )
    CardPhoto.objects.create(card=card, area_id=card.area_id, jpeg=photo, sha256=digest)
    record_event(
        actor=actor,
        card=card,
        operation="apply",
        from_state="",
        to_state=CardState.APPLIED,
        detail={"kind": kind, "channel": card.channel},
    )
    audit_record(
        actor=actor,
        action="card.apply",
        subject=card,
        area_code=card.area_id,
        after={
            **card_snapshot(card),
            "kind": kind,
            "channel": card.channel,
            "photo_sha256": digest,
        },
    )
    if kind == CardKind.REPLACEMENT:
        _charge_replacement(actor, card, reason)
    return card


def _charge_replacement(actor: User, card: Card, reason: str) -> None:
    free = {r.strip() for r in str(area_setting(card.area_id, "fee_free_reasons")).split(",")}
    amount = (
        Decimal("0.00")
        if reason in free
        else Decimal(area_setting(card.area_id, "replacement_fee")).quantize(Decimal("0.01"))
    )
    if amount == 0:
        return
    fee = CardFee.objects.create(
        area_id=card.area_id, card=card, reason=reason, amount=amount, handled_by=actor
    )
    audit_record(
        actor=actor,
        action="card_fee.charge",
        subject=fee,
        area_code=card.area_id,
        after={"card": card.pk, "reason": reason, "amount": str(amount)},
    )


@transaction.atomic
def card_approve(*, actor: User, card: Card, expected_version: int | None = None) -> Card:
    """Approval by a second officer: the one who submitted never approves."""
    _require_for_card(actor, "card.approve", card)
    if card.submitted_by_id == actor.pk:
        raise Forbidden(
            _("You submitted this application; a second officer must approve it."),
            code="same_officer",
        )
    limit = area_setting(
        card.area_id, "urgent_issuance_working_days" if card.urgent else "issuance_working_days"
    )
    today = timezone.localdate()
    return _transition(
        actor=actor,
        card=card,
        operation=Op.APPROVE,
        expected_version=expected_version,
        approved_by=actor,
        approved_at=timezone.now(),
        due_on=WorkCalendar.of(card.area_id, today).after(today, limit),
    )


def _waive_fee_of_ended_application(actor: User, card: Card, why: str) -> None:
    """An application that ends before production owes nothing: its due fee is waived."""
    fee = CardFee.objects.select_for_update().filter(card=card, status="due").first()
    if fee is None:
        return
    fee.status = "waived"
    fee.waived_by = actor
    fee.waived_at = timezone.now()
    fee.waive_reason = why
    fee.save(update_fields=["status", "waived_by", "waived_at", "waive_reason"])
    audit_record(
        actor=actor,
        action="card_fee.waive",
        subject=fee,
        area_code=card.area_id,
        after={"card": card.pk, "status": "waived", "reason": why},
    )


@transaction.atomic
def card_reject(*, actor: User, card: Card, reason: str) -> Card:
    _require_for_card(actor, "card.approve", card)
    if not (reason or "").strip():
        raise InvalidInput(
            _("Say why the application is rejected."), code="reason_required", field="reason"
        )
    card = _transition(
        actor=actor, card=card, operation=Op.REJECT, detail={"reason": reason.strip()}
    )
    _waive_fee_of_ended_application(actor, card, "application rejected")
    return card


@transaction.atomic
def card_withdraw(*, actor: User, card: Card) -> Card:
    _require_for_card(
        actor, "card.apply" if actor.role == Role.INDIVIDUAL else "card.operate", card
    )
    card = _transition(actor=actor, card=card, operation=Op.WITHDRAW)
    _waive_fee_of_ended_application(actor, card, "application withdrawn")
    return card


# --- at the counter ----------------------------------------------------------


def _check_identity(card: Card, presented: str) -> None:
    if normalize_identity_number(presented, field="presented_id_number") != card.person.id_number:
        raise Forbidden(
            _("The identity document presented is not the cardholder's."),
            code="identity_mismatch",
        )


SUPERSEDE_REASON = {
    CardKind.REPLACEMENT: CancelReason.REPLACED,
    CardKind.RENEWAL: CancelReason.RENEWED,
    CardKind.TYPE_CHANGE: CancelReason.TYPE_CHANGED,
}


def _check_custodian_is_not_issuer(actor: User, card: Card) -> None:
    """Separation of duties (internal control): the officer who received the card
    into the outlet's stock does not also hand it over; a second officer does.
    An area switches the rule with `stock_handover_separation` (default on)."""
    if not area_setting(card.area_id, "stock_handover_separation"):
        return
    received_by = (
        CardEvent.objects.filter(area_id=card.area_id, card=card, operation=Op.RECEIVE)
        .order_by("-at", "-pk")
        .values_list("actor_id", flat=True)
        .first()
    )
    if received_by is not None and received_by == actor.pk:
        raise Forbidden(
            _(
                "You received this card into the outlet's stock; another officer must hand it "
                "over (separation of duties)."
            ),
            code="separation_of_duties",
        )


@transaction.atomic
def card_hand_over(
    *, actor: User, card: Card, presented_id_number: str, expected_version: int | None = None
) -> Card:
    """Hand the card to its holder after checking their identity document.

    A replacement, renewal or type-change card cancels the card it replaces in
    the same transaction, so the holder never has two valid cards.
    """
    _require_for_card(actor, "card.distribute", card)
    _check_identity(card, presented_id_number)
    _check_custodian_is_not_issuer(actor, card)
    fee = CardFee.objects.filter(card=card).first()
    if fee is not None and fee.status == "due":
        raise Conflict(
            _("The replacement fee of ¥%(amount)s is not paid yet; the cashier collects it first."),
            code="fee_unpaid",
            params={"amount": fee.amount},
        )
    if card.replaces_id is not None:
        old = Card.objects.get(pk=card.replaces_id)
        old_state = effective_state(old, timezone.now(), timezone.localdate())
        if old_state not in (CardState.CANCELLED,):
            _transition(
                actor=actor,
                card=old,
                operation=Op.SUPERSEDE,
                cancel_reason=SUPERSEDE_REASON[CardKind(card.kind)],
                detail={"new_card": card.pk},
            )
    return _transition(
        actor=actor,
        card=card,
        operation=Op.HAND_OVER,
        expected_version=expected_version,
        issued_at=timezone.now(),
    )


def _age_on(person: Person, day: dt.date) -> int:
    born = person.birth_date
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@transaction.atomic
def card_activate(*, actor: User, card: Card, guardian_id_number: str = "") -> Card:
    """Activation by the holder; a guardian acts for a child under 16."""
    _require_for_card(
        actor, "card.report_loss" if actor.role == Role.INDIVIDUAL else "card.operate", card
    )
    detail: dict[str, Any] = {}
    if _age_on(card.person, timezone.localdate()) < 16:
        if not guardian_id_number:
            raise InvalidInput(
                _(
                    "The holder is under 16; a guardian activates the card with their own "
                    "identity number."
                ),
                code="guardian_required",
                field="guardian_id_number",
            )
        guardian = normalize_identity_number(guardian_id_number, field="guardian_id_number")
        if guardian == card.person.id_number:
            raise InvalidInput(
                _("The guardian must be another person."),
                code="guardian_self",
                field="guardian_id_number",
            )
        detail["guardian"] = guardian[:4] + "…" + guardian[-4:]
    return _transition(actor=actor, card=card, operation=Op.ACTIVATE, detail=detail)


@transaction.atomic
def card_pin_failure(*, actor: User, card: Card) -> Card:
    """A wrong PIN was entered; the area's limit (6) locks the card."""
    _require_for_card(actor, "card.operate", card)
    locked = _lock(card)
    failures = locked.pin_failures + 1
    limit = area_setting(card.area_id, "pin_attempts")
    operation = Op.PIN_LOCK if failures >= limit else Op.PIN_FAILURE
    return _transition(
        actor=actor,
        card=card,
        operation=operation,
        locked=locked,
        pin_failures=failures,
        detail={"failures": failures, "limit": limit},
    )


@transaction.atomic
def card_pin_unlock(*, actor: User, card: Card, presented_id_number: str) -> Card:
    """Unlock at a counter, with the holder's identity document."""
    _require_for_card(actor, "card.operate", card)
    _check_identity(card, presented_id_number)
    return _transition(actor=actor, card=card, operation=Op.PIN_UNLOCK, pin_failures=0)


@transaction.atomic
def card_report_temporary_loss(*, actor: User, card: Card, channel: str = "") -> Card:
    """A temporary loss (phone, online, bank) lapses by itself after the area's days."""
    _require_for_card(actor, "card.report_loss", card)
    days = area_setting(card.area_id, "temporary_loss_days")
    lapses = timezone.now() + dt.timedelta(days=days)
    return _transition(
        actor=actor,
        card=card,
        operation=Op.TEMPORARY_LOSS,
        loss_lapses_at=lapses,
        detail={"channel": channel or _channel_for(actor), "days": days},
    )


@transaction.atomic
def card_unfreeze(*, actor: User, card: Card) -> Card:
    """Lift a temporary loss (and only a temporary loss)."""
    _require_for_card(actor, "card.report_loss", card)
    return _transition(actor=actor, card=card, operation=Op.UNFREEZE, loss_lapses_at=None)


@transaction.atomic
def card_report_formal_loss(*, actor: User, card: Card, presented_id_number: str) -> Card:
    """Formal loss, in person: final; the holder then applies for a replacement."""
    _require_for_card(actor, "card.operate", card)
    _check_identity(card, presented_id_number)
    return _transition(actor=actor, card=card, operation=Op.FORMAL_LOSS, loss_lapses_at=None)


# --- account class -----------------------------------------------------------


@transaction.atomic
def card_downgrade(*, actor: User, card: Card, account_class: int) -> Card:
    """Lower the bank account class in place (I→II, I→III, II→III)."""
    _require_for_card(actor, "card.operate", card)
    if (
        card.account_class is None
        or account_class not in AccountClass.values
        or (account_class <= card.account_class)
    ):
        raise InvalidInput(
            _("A downgrade goes to a lower class than the card's (class %(current)s)."),
            code="not_a_downgrade",
            field="account_class",
            params={
                "current": AccountClass(card.account_class).label if card.account_class else "-"
            },
        )
    return _transition(
        actor=actor,
        card=card,
        operation=Op.DOWNGRADE,
        account_class=account_class,
        detail={"from": card.account_class, "to": account_class},
    )


@transaction.atomic
def card_upgrade(*, actor: User, card: Card, account_class: int) -> Card:
    """Raise the class in place: refused unless the area allows it.

    The refusal carries the next step (a type-change application for a new
    card of the wanted class) so portals and API clients can offer it.
    """
    _require_for_card(
        actor, "card.report_loss" if actor.role == Role.INDIVIDUAL else "card.operate", card
    )
    if (
        card.account_class is None
        or account_class not in AccountClass.values
        or (account_class >= card.account_class)
    ):
        raise InvalidInput(
            _("An upgrade goes to a higher class than the card's (class %(current)s)."),
            code="not_an_upgrade",
            field="account_class",
            params={
                "current": AccountClass(card.account_class).label if card.account_class else "-"
            },
        )
    if not area_setting(card.area_id, "in_place_upgrade"):
        wanted = AccountClass(account_class).label
        raise Conflict(
            _(
                "Class upgrades need a new card; apply for a %(wanted)s card. The current card "
                "stays valid until the new one is handed over, then it is cancelled."
            ),
            code="upgrade_needs_new_card",
            field="account_class",
            params={"wanted": wanted},
            detail={
                "apply": {
                    "kind": CardKind.TYPE_CHANGE,
                    "replaces": card.pk,
                    "account_class": account_class,
                    "bank": card.bank,
                }
            },
        )
    _check_class_i_per_bank(card.person, card.bank, account_class, exclude=card)
    return _transition(
        actor=actor,
        card=card,
        operation=Op.UPGRADE,
        account_class=account_class,
        detail={"from": card.account_class, "to": account_class},
    )


# --- end of life -------------------------------------------------------------


@transaction.atomic
def card_cancel(*, actor: User, card: Card, reason: str) -> Card:
    """Cancel the card and its bank account (death, emigration, transfer out)."""
    _require_for_card(actor, "card.operate", card)
    allowed = {
        CancelReason.DEATH,
        CancelReason.EMIGRATION,
        CancelReason.TRANSFER_OUT,
        CancelReason.HOLDER_REQUEST,
    }
    if reason not in allowed:
        raise InvalidInput(
            _("Cancellation reason must be one of: %(reasons)s."),
            code="cancel_reason",
            field="reason",
            params={"reasons": ", ".join(sorted(allowed))},
        )
    return _transition(
        actor=actor, card=card, operation=Op.CANCEL, cancel_reason=reason, loss_lapses_at=None
    )


@transaction.atomic
def card_issue_temporary(*, actor: User, person: Person, outlet: Outlet) -> Card:
    """A temporary card, issued at once at the counter: no financial function."""
    require(actor, "card.operate", area_code=person.area_id)
    if outlet.area_id != person.area_id:
        raise InvalidInput(_("The outlet is in another area."), code="outlet_area", field="outlet")
    if Card.objects.filter(
        area_id=person.area_id,
        person=person,
        kind=CardKind.TEMPORARY,
        state__in=VALID_STATES,
        valid_to__gt=timezone.localdate(),
    ).exists():
        raise Conflict(
            _("%(name)s already has a valid temporary card."),
            code="temporary_card_held",
            params={"name": person.name},
        )
    today = timezone.localdate()
    card = Card.objects.create(
        area_id=person.area_id,
        person=person,
        kind=CardKind.TEMPORARY,
        channel=Channel.COUNTER,
        state=CardState.ISSUED,
        account_class=None,
        bank="",
        submitted_by=actor,
        approved_by=actor,
        approved_at=timezone.now(),
        outlet=outlet,
        valid_from=today,
        valid_to=today + dt.timedelta(days=area_setting(person.area_id, "temporary_card_days")),
        issued_at=timezone.now(),
        phone=person.phone,
        address=person.address,
    )
    card.card_number = f"T{card.pk % 10**8:08d}"
    card.save(update_fields=["card_number"])
    record_event(
        actor=actor,
        card=card,
        operation="issue_temporary",
        from_state="",
        to_state=CardState.ISSUED,
    )
    audit_record(
        actor=actor,
        action="card.issue_temporary",
        subject=card,
        area_code=card.area_id,
        after=card_snapshot(card),
    )
    return card


def card_apply_bulk(*, actor: User, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply for many people at once (an employer for its staff, or a counter).

    Each row is applied on its own: a bad row gets its reason and the good
    rows are kept. Rows carry id_number, account_class, bank, phone, address
    and photo (JPEG bytes).
    """
    results: list[dict[str, Any]] = []
    area_code = actor.area_id
    for line, row in enumerate(rows, start=1):
        try:
            with transaction.atomic():
                number = normalize_identity_number(str(row.get("id_number", "")))
                person = Person.objects.filter(area_id=area_code, id_number=number).first()
                if person is None:
                    raise InvalidInput(
                        _("No insured person with this identity number in the area."),
                        code="person_unknown",
                        field="id_number",
                    )
                card = card_apply(
                    actor=actor,
                    person=person,
                    account_class=int(row.get("account_class") or 0),
                    bank=str(row.get("bank", "")),
                    photo=row.get("photo"),
                    phone=str(row.get("phone", "")),
                    address=str(row.get("address", "")),
                )
            results.append({"row": line, "ok": True, "card": card.pk})
        except DomainError as error:
            results.append({"row": line, "ok": False, **error.as_dict()})
    return results
