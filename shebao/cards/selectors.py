"""Reads of cards, scoped like the registry: area staff their area, a holder
their own cards, an employer its current employees' cards."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role
from shebao.audit.services import access_record
from shebao.cards.lifecycle import effective_state
from shebao.cards.models import Card, CardEvent
from shebao.core.errors import NotFound
from shebao.registry.models import Employment


def cards_for(user: User) -> QuerySet[Card]:
    rows = Card.objects.select_related("person")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    if user.role == Role.INDIVIDUAL:
        return rows.filter(area_id=user.area_id, person_id=user.person_id or 0)
    if user.role == Role.EMPLOYER:
        return rows.filter(
            area_id=user.area_id,
            person_id__in=Employment.objects.filter(
                area_id=user.area_id, employer_id=user.employer_id or 0, end_date__isnull=True
            ).values("person_id"),
        )
    return rows.none()


def card_get(user: User, pk: int, *, log: bool = True) -> Card:
    try:
        card = cards_for(user).get(pk=pk)
    except (Card.DoesNotExist, ValueError):
        raise NotFound(_("No card with that key is visible to you.")) from None
    if log:
        access_record(
            actor=user, action="card.view", area_code=card.area_id, person_ids=[card.person_id]
        )
    return card


def card_state(card: Card) -> str:
    """The state as of now (lapsed temporary losses active, overdue cards expired)."""
    return effective_state(card, timezone.now(), timezone.localdate())


def card_history(card: Card) -> QuerySet[CardEvent]:
    return card.events.select_related("actor").order_by("at", "pk")


def card_summary(card: Card) -> dict[str, Any]:
    return {"card": card, "state": card_state(card), "frozen": card.frozen_at is not None}
