"""The card lifecycle as one table: (state, operation) → new state.

Every service that changes a card's state asks `next_state()`; nothing else
decides what may follow what. `docs/cards-lifecycle.md` is generated from
this table (`shebao cards lifecycle`), and a test checks that it is current.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from shebao.cards.models import CardState as S
from shebao.core.errors import Conflict

if TYPE_CHECKING:
    from shebao.cards.models import Card


class Op:
    """Operations on a card, in the order of a card's life."""

    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    BATCH = "batch"  # grouped into a production batch
    PRODUCE = "produce"  # vendor result: made
    PRODUCTION_FAILED = "production_failed"  # vendor result: failed, back to the queue
    SHIP = "ship"
    RECEIVE = "receive"
    SEAL = "seal"  # unclaimed too long
    RETURN = "return"  # back to the vendor or bank
    DESTROY = "destroy"
    HAND_OVER = "hand_over"
    ACTIVATE = "activate"
    PIN_FAILURE = "pin_failure"
    PIN_LOCK = "pin_lock"
    PIN_UNLOCK = "pin_unlock"
    TEMPORARY_LOSS = "temporary_loss"
    UNFREEZE = "unfreeze"
    LOSS_LAPSED = "loss_lapsed"
    FORMAL_LOSS = "formal_loss"
    DOWNGRADE = "downgrade"
    UPGRADE = "upgrade"
    SUPERSEDE = "supersede"  # a new card for this holder was handed over
    CANCEL = "cancel"


OPERATIONS = [value for name, value in vars(Op).items() if name.isupper()]

# Where a card may be cancelled (death, emigration, transfer out): anywhere
# between production and the end of its life.
_CANCELLABLE = (
    S.PRODUCED,
    S.SHIPPED,
    S.AT_OUTLET,
    S.SEALED,
    S.ISSUED,
    S.ACTIVE,
    S.TEMPORARY_LOSS,
    S.FORMAL_LOSS,
    S.PIN_LOCKED,
    S.EXPIRED,
)
_HELD = (S.ISSUED, S.ACTIVE, S.TEMPORARY_LOSS, S.FORMAL_LOSS, S.PIN_LOCKED, S.EXPIRED)

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.APPLIED, Op.APPROVE): S.APPROVED,
    (S.APPLIED, Op.REJECT): S.REJECTED,
    (S.APPLIED, Op.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, Op.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, Op.BATCH): S.IN_PRODUCTION,
    (S.IN_PRODUCTION, Op.PRODUCE): S.PRODUCED,
    (S.IN_PRODUCTION, Op.PRODUCTION_FAILED): S.APPROVED,
    (S.PRODUCED, Op.SHIP): S.SHIPPED,
    (S.SHIPPED, Op.RECEIVE): S.AT_OUTLET,
    (S.AT_OUTLET, Op.SEAL): S.SEALED,
    (S.AT_OUTLET, Op.RETURN): S.RETURNED,
    (S.SEALED, Op.RETURN): S.RETURNED,
    (S.AT_OUTLET, Op.DESTROY): S.DESTROYED,
    (S.SEALED, Op.DESTROY): S.DESTROYED,
    (S.RETURNED, Op.DESTROY): S.DESTROYED,
    (S.AT_OUTLET, Op.HAND_OVER): S.ISSUED,
    (S.SEALED, Op.HAND_OVER): S.ISSUED,
    (S.ISSUED, Op.ACTIVATE): S.ACTIVE,
    (S.ACTIVE, Op.PIN_FAILURE): S.ACTIVE,
    (S.ACTIVE, Op.PIN_LOCK): S.PIN_LOCKED,
    (S.PIN_LOCKED, Op.PIN_UNLOCK): S.ACTIVE,
    (S.ACTIVE, Op.TEMPORARY_LOSS): S.TEMPORARY_LOSS,
    (S.PIN_LOCKED, Op.TEMPORARY_LOSS): S.TEMPORARY_LOSS,
    (S.TEMPORARY_LOSS, Op.UNFREEZE): S.ACTIVE,
    (S.TEMPORARY_LOSS, Op.LOSS_LAPSED): S.ACTIVE,
    (S.ISSUED, Op.FORMAL_LOSS): S.FORMAL_LOSS,
    (S.ACTIVE, Op.FORMAL_LOSS): S.FORMAL_LOSS,
    (S.TEMPORARY_LOSS, Op.FORMAL_LOSS): S.FORMAL_LOSS,
    (S.PIN_LOCKED, Op.FORMAL_LOSS): S.FORMAL_LOSS,
    (S.ISSUED, Op.DOWNGRADE): S.ISSUED,
    (S.ACTIVE, Op.DOWNGRADE): S.ACTIVE,
    (S.ISSUED, Op.UPGRADE): S.ISSUED,  # only where the area allows it in place
    (S.ACTIVE, Op.UPGRADE): S.ACTIVE,
    **{(state, Op.SUPERSEDE): S.CANCELLED for state in _HELD},
    **{(state, Op.CANCEL): S.CANCELLED for state in _CANCELLABLE},
}

# Why an operation is refused, where a plain "not allowed in this state"
# would leave the person at the counter without a next step.
HINTS: dict[tuple[str, str], Any] = {
    (S.FORMAL_LOSS, Op.UNFREEZE): _(
        "A formally lost card cannot be unfrozen; apply for a replacement card."
    ),
    (S.ACTIVE, Op.UNFREEZE): _("Only a temporarily lost card can be unfrozen."),
    (S.CANCELLED, Op.ACTIVATE): _("A cancelled card is dead for ever; apply for a new card."),
    (S.APPLIED, Op.BATCH): _("The application must be approved by a second officer first."),
}


def next_state(state: str, operation: str) -> str:
    """The state after `operation`, or Conflict naming the state and the operation."""
    try:
        return TRANSITIONS[(state, operation)]
    except KeyError:
        hint = HINTS.get((state, operation))
        raise Conflict(
            hint or _("Operation “%(operation)s” is not allowed on a card that is “%(state)s”."),
            code="invalid_transition",
            params={"operation": operation, "state": S(state).label},
        ) from None


def effective_state(card: Card, now: dt.datetime, today: dt.date) -> str:
    """The state as of `now`: lapsed temporary losses are active, overdue cards expired."""
    state = card.state
    if state == S.TEMPORARY_LOSS and card.loss_lapses_at is not None and now >= card.loss_lapses_at:
        state = S.ACTIVE
    if state in (S.ISSUED, S.ACTIVE, S.TEMPORARY_LOSS, S.PIN_LOCKED) and (
        card.valid_to is not None and today >= card.valid_to
    ):
        state = S.EXPIRED
    return state


def markdown_table() -> str:
    """The transition table as Markdown, for docs/cards-lifecycle.md."""
    lines = [
        "# Card lifecycle",
        "",
        "Generated from `shebao/cards/lifecycle.py` by `shebao cards lifecycle`;",
        "do not edit by hand. Every path (counter, portal, API, batch jobs) uses",
        "this table. A pair not listed is refused with the error `invalid_transition`.",
        "",
        "Two states are computed at every read, never stored: a temporary loss",
        "past its lapse time reads as `active`, and a card on or after its",
        "`valid_to` date reads as `expired`. An emergency freeze is a hold on top",
        "of the state.",
        "",
        "| state | operation | new state |",
        "|---|---|---|",
    ]
    for (state, operation), new in TRANSITIONS.items():
        lines.append(f"| `{state}` | `{operation}` | `{new}` |")
    return "\n".join(lines) + "\n"
