"""Card fees: collecting, waiving and the cashier's day.

A fee is charged when a replacement is applied for (`services._charge_replacement`:
first issue free, loss or damage the area's `replacement_fee`, the area's
`fee_free_reasons` free) and the card is not handed over while it is due.
Here the cashier records the payment with a receipt, the area administrator
may waive a fee, and the day is reconciled.

Separation of duties (internal control): whoever took part in the
application (took it, submitted it, approved it) never takes the money for it.

Receipt numbers are `<area>-<YYYYMMDD>-<sequence>`, sequential per area and
local day. Two cashiers paying at once are serialised on the area row, so
the sequence has no gaps and no duplicates (and the unique index on the
receipt number would catch a duplicate if the lock were ever bypassed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, can, require
from shebao.audit.services import audit_record, snapshot
from shebao.cards.lifecycle import Op
from shebao.cards.models import CardEvent, CardFee, CardKind, CardState, FeeStatus
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.registry.models import Area
from shebao.registry.selectors import area_setting

CENT = Decimal("0.01")
RECEIPT_SEQUENCE_DIGITS = 6
# Applications that ended without a card: their fee can never be collected.
ENDED_APPLICATIONS = (CardState.REJECTED, CardState.WITHDRAWN)
FEE_FIELDS = ["status", "amount", "cashier_id", "receipt_number", "paid_at"]


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- reads -------------------------------------------------------------------


def fees_for(user: User) -> QuerySet[CardFee]:
    """Fees the user may see: the cashiers, card officers, administrators and
    auditors of the area see the area's fees; nobody else sees any."""
    rows = CardFee.objects.select_related("card", "cashier", "handled_by")
    if user.role in AREA_STAFF and any(
        can(user, capability) for capability in ("fee.collect", "fee.reconcile", "card.operate")
    ):
        return rows.filter(area_id=user.area_id)
    return rows.none()


def fee_get(user: User, pk: int) -> CardFee:
    try:
        return fees_for(user).get(pk=pk)
    except (CardFee.DoesNotExist, ValueError):
        raise NotFound(_("No card fee with that key is visible to you.")) from None


# --- writes ------------------------------------------------------------------


def _lock(fee: CardFee) -> CardFee:
    # Only the fee row: the card stays free for the counter meanwhile.
    return CardFee.objects.select_for_update(of=("self",)).select_related("card").get(pk=fee.pk)


def _check_due(fee: CardFee) -> None:
    if fee.status == FeeStatus.PAID:
        raise Conflict(
            _("This fee was already paid (receipt %(receipt)s); it cannot be paid again."),
            code="fee_already_paid",
            params={"receipt": fee.receipt_number},
        )
    if fee.status == FeeStatus.WAIVED:
        raise Conflict(_("This fee was waived; there is nothing to collect."), code="fee_waived")
    if fee.card.state in ENDED_APPLICATIONS:
        raise Conflict(
            _(
                "The application for this card was %(state)s; its fee is not collected. "
                "The area administrator waives it."
            ),
            code="fee_application_ended",
            params={"state": CardState(fee.card.state).label},
        )


def _next_receipt_number(area_code: str, now: dt.datetime) -> str:
    """The next receipt number of the area's local day; call with the area row locked."""
    day = timezone.localdate(now)
    prefix = f"{area_code}-{day:%Y%m%d}-"
    start, end = day_bounds(day)
    last = (
        CardFee.objects.filter(
            area_id=area_code,
            paid_at__gte=start,
            paid_at__lt=end,
            receipt_number__startswith=prefix,
        )
        .order_by("-receipt_number")
        .values_list("receipt_number", flat=True)
        .first()
    )
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:0{RECEIPT_SEQUENCE_DIGITS}d}"


@transaction.atomic
def fee_pay(*, actor: User, fee: CardFee) -> CardFee:
    """The cashier records the payment of a due fee and issues a receipt."""
    require(actor, "fee.collect", area_code=fee.area_id)
    locked = _lock(fee)
    card = locked.card
    if actor.pk in {locked.handled_by_id, card.submitted_by_id, card.approved_by_id}:
        raise Forbidden(
            _(
                "You took part in this card's application; another cashier must collect its "
                "fee (separation of duties)."
            ),
            code="separation_of_duties",
        )
    _check_due(locked)
    # One receipt sequence per area and day: payments of an area are serialised
    # on the area row, so two cashiers never draw the same number. NO KEY: rows
    # that merely refer to the area (new cards, events) are not held up.
    Area.objects.select_for_update(no_key=True).filter(code=locked.area_id).first()
    now = timezone.now()
    before = snapshot(locked, FEE_FIELDS)
    locked.receipt_number = _next_receipt_number(locked.area_id, now)
    locked.status = FeeStatus.PAID
    locked.paid_at = now
    locked.cashier = actor
    locked.save(update_fields=["receipt_number", "status", "paid_at", "cashier"])
    audit_record(
        actor=actor,
        action="card_fee.pay",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after={**snapshot(locked, FEE_FIELDS), "card": card.pk},
    )
    fee.__dict__.update(locked.__dict__)
    return fee


@transaction.atomic
def fee_waive(*, actor: User, fee: CardFee, reason: str) -> CardFee:
    """The area administrator waives a due fee; the reason goes to the audit trail."""
    require(actor, "fee.waive", area_code=fee.area_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Say why the fee is waived, e.g. the card was damaged by the vendor."),
            code="reason_required",
            field="reason",
        )
    locked = _lock(fee)
    if actor.pk in {locked.handled_by_id, locked.card.submitted_by_id}:
        raise Forbidden(
            _("You took this card's application; another administrator must waive its fee."),
            code="separation_of_duties",
        )
    if locked.status != FeeStatus.DUE:
        raise Conflict(
            _("Only a due fee can be waived; this one is %(status)s."),
            code="fee_not_due",
            params={"status": FeeStatus(locked.status).label},
        )
    before = snapshot(locked, FEE_FIELDS)
    locked.status = FeeStatus.WAIVED
    locked.waived_by = actor
    locked.waived_at = timezone.now()
    locked.waive_reason = reason[:200]
    locked.save(update_fields=["status", "waived_by", "waived_at", "waive_reason"])
    audit_record(
        actor=actor,
        action="card_fee.waive",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after={**snapshot(locked, FEE_FIELDS), "card": locked.card_id, "reason": reason[:200]},
    )
    fee.__dict__.update(locked.__dict__)
    return fee


# --- the cashier's day -------------------------------------------------------


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day as [start, end) in aware datetimes."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return start, end


@dataclass(frozen=True)
class Receipt:
    number: str
    fee_id: int
    card_id: int
    card_number: str | None
    amount: Decimal
    cashier: str
    paid_at: dt.datetime


@dataclass(frozen=True)
class DueFee:
    fee_id: int
    card_id: int
    card_number: str | None
    amount: Decimal
    reason: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Difference:
    """Something the day's money and the day's cards do not agree on."""

    code: str
    card_id: int
    card_number: str | None
    fee_id: int | None
    amount: Decimal | None
    message: str


@dataclass(frozen=True)
class DailyReconciliation:
    area: str
    day: dt.date
    receipts: list[Receipt]
    total: Decimal
    per_cashier: dict[str, Decimal]
    due: list[DueFee]
    due_total: Decimal
    differences: list[Difference] = field(default_factory=list)


def _fee_expected(area_code: str, reason: str, applied_on: dt.date) -> bool:
    """Whether the area charged for this replacement reason on the day of the application."""
    free = {
        r.strip()
        for r in str(area_setting(area_code, "fee_free_reasons", on=applied_on)).split(",")
    }
    return reason not in free and area_setting(area_code, "replacement_fee", on=applied_on) > 0


def _differences(area_code: str, start: dt.datetime, end: dt.datetime) -> list[Difference]:
    found: list[Difference] = []
    handed_over = (
        CardEvent.objects.filter(
            area_id=area_code,
            operation=Op.HAND_OVER,
            at__gte=start,
            at__lt=end,
            card__kind=CardKind.REPLACEMENT,
        )
        .select_related("card", "card__fee")
        .order_by("at", "pk")
    )
    for event in handed_over:
        card = event.card
        fee = getattr(card, "fee", None)
        if fee is None:
            if _fee_expected(
                area_code, card.replacement_reason, timezone.localdate(card.submitted_at)
            ):
                found.append(
                    Difference(
                        "fee_missing",
                        card.pk,
                        card.card_number,
                        None,
                        None,
                        str(_("Replacement card handed over without any fee charged.")),
                    )
                )
        elif fee.status == FeeStatus.DUE:
            found.append(
                Difference(
                    "handed_over_unpaid",
                    card.pk,
                    card.card_number,
                    fee.pk,
                    money(fee.amount),
                    str(_("Replacement card handed over while its fee is still due.")),
                )
            )
        elif fee.status == FeeStatus.PAID and fee.paid_at and fee.paid_at > event.at:
            found.append(
                Difference(
                    "paid_after_hand_over",
                    card.pk,
                    card.card_number,
                    fee.pk,
                    money(fee.amount),
                    str(_("Replacement card handed over before its fee was paid.")),
                )
            )
    ended = CardFee.objects.filter(
        area_id=area_code, status=FeeStatus.DUE, card__state__in=ENDED_APPLICATIONS
    ).select_related("card")
    for fee in ended.order_by("pk"):
        found.append(
            Difference(
                "fee_of_ended_application",
                fee.card_id,
                fee.card.card_number,
                fee.pk,
                money(fee.amount),
                str(_("The application ended without a card; the fee is still due: waive it.")),
            )
        )
    return found


def fees_daily_reconciliation(*, actor: User, area: Area, day: dt.date) -> DailyReconciliation:
    """The day's receipts, totals per cashier and overall, the fees still due at
    the end of the day, and the differences between money and hand-overs.

    A receipt whose card is not handed over yet is in order (the holder pays
    first and collects later); a replacement card handed over that day whose
    fee is not paid is a difference, and so is one with no fee where the area
    charged for its reason.
    """
    require(actor, "fee.reconcile", area_code=area.code)
    start, end = day_bounds(day)
    paid = (
        CardFee.objects.filter(area_id=area.code, paid_at__gte=start, paid_at__lt=end)
        .select_related("card", "cashier")
        .order_by("receipt_number")
    )
    receipts = [
        Receipt(
            number=fee.receipt_number or "",
            fee_id=fee.pk,
            card_id=fee.card_id,
            card_number=fee.card.card_number,
            amount=money(fee.amount),
            cashier=fee.cashier.username if fee.cashier else "",
            paid_at=fee.paid_at or start,
        )
        for fee in paid
    ]
    per_cashier: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for receipt in receipts:
        per_cashier[receipt.cashier] += receipt.amount
    # Due at the end of the day: charged by then and not paid by then. The
    # model keeps no time of a waiver, so a waived fee counts as settled.
    still_due = (
        CardFee.objects.filter(area_id=area.code, created_at__lt=end)
        .filter(Q(status=FeeStatus.DUE) | Q(status=FeeStatus.PAID, paid_at__gte=end))
        .exclude(card__state__in=ENDED_APPLICATIONS)
        .select_related("card")
        .order_by("created_at", "pk")
    )
    due = [
        DueFee(
            fee_id=fee.pk,
            card_id=fee.card_id,
            card_number=fee.card.card_number,
            amount=money(fee.amount),
            reason=fee.reason,
            created_at=fee.created_at,
        )
        for fee in still_due
    ]
    return DailyReconciliation(
        area=area.code,
        day=day,
        receipts=receipts,
        total=money(sum((r.amount for r in receipts), Decimal("0.00"))),
        per_cashier={name: money(total) for name, total in sorted(per_cashier.items())},
        due=due,
        due_total=money(sum((d.amount for d in due), Decimal("0.00"))),
        differences=_differences(area.code, start, end),
    )
