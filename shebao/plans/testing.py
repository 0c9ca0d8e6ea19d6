"""Building the card records a plan is measured against, for tests: card
events dated where a worked example needs them, without walking each card's
life (the services that write these events have their own tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from shebao.accounts.models import User
from shebao.cards.lifecycle import Op
from shebao.cards.models import Card, CardEvent, CardState
from shebao.cards.testing import make_card
from shebao.registry.models import Area, Person

_persons = iter(range(1, 10**6))


def local(day: dt.date, hour: int = 10) -> dt.datetime:
    """A moment of `day`, local time."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone())


def person_in(area: Area, **fields: Any) -> Person:
    """A registered person with complete contact data (override to leave some out)."""
    number = next(_persons)
    values: dict[str, Any] = {
        "area": area,
        "id_number": f"P{number:017d}",
        "name": f"测试{number}",
        "birth_date": dt.date(1980, 1, 1),
        "sex": "M",
        "registered_on": dt.date(2000, 1, 1),
        "phone": "13900000000",
        "address": "南京市玄武区中山路1号",
    }
    values.update(fields)
    return Person.objects.create(**values)


def handed_over(
    area: Area, outlet: Any, day: dt.date, *, actor: User, count: int = 1
) -> list[Card]:
    """`count` cards handed over at `outlet` on `day`, each with its hand-over event."""
    cards = []
    for _ in range(count):
        card = make_card(person_in(area), CardState.ISSUED, submitted_by=actor, outlet=outlet)
        CardEvent.objects.create(
            area=area,
            card=card,
            at=local(day),
            actor=actor,
            operation=Op.HAND_OVER,
            from_state=CardState.AT_OUTLET,
            to_state=CardState.ISSUED,
        )
        cards.append(card)
    return cards


def produced(area: Area, batch: Any, day: dt.date, *, actor: User, count: int = 1) -> list[Card]:
    """`count` cards of `batch` made by its vendor on `day`, each with its produce event."""
    cards = []
    for _ in range(count):
        card = make_card(person_in(area), CardState.PRODUCED, submitted_by=actor, batch=batch)
        CardEvent.objects.create(
            area=area,
            card=card,
            at=local(day),
            actor=actor,
            operation=Op.PRODUCE,
            from_state=CardState.IN_PRODUCTION,
            to_state=CardState.PRODUCED,
        )
        cards.append(card)
    return cards
