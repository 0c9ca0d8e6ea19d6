"""The lifecycle table, exhaustively: every (state, operation) pair."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from shebao.audit.models import AuditEvent
from shebao.cards.lifecycle import OPERATIONS, TRANSITIONS, Op, effective_state, next_state
from shebao.cards.models import Card, CardEvent, CardState
from shebao.cards.services import _transition
from shebao.cards.testing import make_card
from shebao.core.errors import Conflict

pytestmark = pytest.mark.django_db

STATES = list(CardState.values)
PAIRS = [(state, operation) for state in STATES for operation in OPERATIONS]


def card_in(state, person, officer):
    if state == CardState.EXPIRED:
        # Expired is never stored: an active card whose validity has ended.
        return make_card(
            person,
            CardState.ACTIVE,
            submitted_by=officer,
            valid_from=dt.date(2010, 1, 1),
            valid_to=timezone.localdate(),
        )
    return make_card(person, state, submitted_by=officer)


@pytest.mark.parametrize(("state", "operation"), PAIRS)
def test_every_pair_is_either_a_transition_or_refused(state, operation, person, card_officer):
    card = card_in(state, person, card_officer)
    events, audits = CardEvent.objects.count(), AuditEvent.objects.count()
    if (state, operation) in TRANSITIONS:
        _transition(actor=card_officer, card=card, operation=operation)
        stored = Card.objects.get(pk=card.pk)
        assert effective_state(stored, timezone.now(), timezone.localdate()) in {
            TRANSITIONS[(state, operation)],
            CardState.EXPIRED,  # an expired card that stays held reads expired still
        }
        assert stored.version == 2
        assert CardEvent.objects.count() == events + 1
        event = CardEvent.objects.latest("pk")
        assert (event.from_state, event.operation, event.to_state) == (
            state,
            operation,
            TRANSITIONS[(state, operation)],
        )
        assert AuditEvent.objects.filter(action=f"card.{operation}").count() == 1
        assert AuditEvent.objects.count() == audits + 1
    else:
        with pytest.raises(Conflict) as caught:
            _transition(actor=card_officer, card=card, operation=operation)
        assert caught.value.code == "invalid_transition"
        with translation.override("en"):
            assert caught.value.message  # says the operation and the state, or what to do
        assert Card.objects.get(pk=card.pk).state == card.state
        assert CardEvent.objects.count() == events
        assert AuditEvent.objects.count() == audits


def test_the_refusal_names_the_operation_and_the_state():
    with pytest.raises(Conflict) as caught:
        next_state(CardState.CANCELLED, Op.HAND_OVER)
    with translation.override("en"):
        assert "hand_over" in caught.value.message
        assert "Cancelled" in caught.value.message


def test_a_formally_lost_card_cannot_be_unfrozen_and_the_answer_says_what_to_do():
    with pytest.raises(Conflict) as caught:
        next_state(CardState.FORMAL_LOSS, Op.UNFREEZE)
    with translation.override("en"):
        assert "replacement" in caught.value.message


def test_every_operation_and_every_state_appear_in_the_table():
    assert {op for _state, op in TRANSITIONS} == set(OPERATIONS)
    reachable = {new for new in TRANSITIONS.values()} | {CardState.APPLIED, CardState.EXPIRED}
    assert reachable == set(STATES)


def test_the_lifecycle_document_is_current():
    from shebao.cards.lifecycle import markdown_table
    from shebao.cards.management.commands.cards import LIFECYCLE_DOC

    assert LIFECYCLE_DOC.read_text(encoding="utf-8") == markdown_table(), (
        "run `shebao cards lifecycle`"
    )
