"""Building cards in a given state for tests, without walking the whole life."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from shebao.accounts.models import User
from shebao.cards.models import Card, CardKind, CardState, Channel
from shebao.registry.models import Person

_serial = itertools.count(1)

# States from which a card has a number, a bank account and a validity.
MADE = {
    CardState.PRODUCED,
    CardState.SHIPPED,
    CardState.AT_OUTLET,
    CardState.SEALED,
    CardState.RETURNED,
    CardState.DESTROYED,
    CardState.ISSUED,
    CardState.ACTIVE,
    CardState.TEMPORARY_LOSS,
    CardState.FORMAL_LOSS,
    CardState.PIN_LOCKED,
    CardState.CANCELLED,
}


def make_card(person: Person, state: str, *, submitted_by: User, **fields: Any) -> Card:
    """A card of `person` stored directly in `state` (tests only)."""
    serial = next(_serial)
    values: dict[str, Any] = {
        "area_id": person.area_id,
        "person": person,
        "kind": CardKind.FIRST,
        "channel": Channel.COUNTER,
        "state": state,
        "account_class": 2,
        "bank": "ICBC",
        "submitted_by": submitted_by,
        "phone": "13800000000",
        "address": "南京市玄武区中山路1号",
    }
    if state in MADE:
        today = timezone.localdate()
        values.update(
            card_number=f"A{serial:08d}",
            identification_code=f"{person.area_id}{serial:010d}",
            bank_account=f"6222{serial:015d}",
            valid_from=today - dt.timedelta(days=365),
            valid_to=today + dt.timedelta(days=9 * 365),
        )
    if state == CardState.TEMPORARY_LOSS:
        values["loss_lapses_at"] = timezone.now() + dt.timedelta(days=10)
    values.update(fields)
    return Card.objects.create(**values)
