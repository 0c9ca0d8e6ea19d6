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


def apply_for(officer: User, person: Person, **overrides: Any) -> Card:
    """A card application with complete information collection (tests only)."""
    from shebao.cards.photo import sample_photo
    from shebao.cards.services import card_apply

    values: dict[str, Any] = {
        "account_class": 2,
        "bank": "ICBC",
        "photo": sample_photo(),
        "phone": "13800000000",
        "address": "南京市玄武区中山路1号",
    }
    values.update(overrides)
    return card_apply(actor=officer, person=person, **values)


def put_at_outlet(card: Card, outlet: Any, number: int, *, prefix: str = "B") -> Card:
    """Stand-in for production and distribution, which have their own tests."""
    today = timezone.localdate()
    Card.objects.filter(pk=card.pk).update(
        state=CardState.AT_OUTLET,
        outlet=outlet,
        card_number=f"{prefix}{number:08d}",
        identification_code=f"{card.area_id}{prefix}{number:09d}",
        bank_account=f"6222{number:015d}",
        valid_from=today,
        valid_to=today + dt.timedelta(days=3650),
    )
    card.refresh_from_db()
    return card
