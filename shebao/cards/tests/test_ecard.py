"""The electronic card: claimed by the holder, always in the physical card's
state, shown as a short-lived signed QR code that anyone can check."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.cards import services
from shebao.cards.ecard import (
    InvalidToken,
    ecard_claim,
    ecard_state,
    ecard_token,
    ecard_verify,
    ecard_verify_offline,
    mask_card_number,
)
from shebao.cards.lifecycle import effective_state
from shebao.cards.models import AreaSigningKey, Card, CardState, ElectronicCard
from shebao.cards.testing import make_card
from shebao.core.errors import Conflict, DomainError, Forbidden
from shebao.registry.models import Person
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_keys():
    return {key.key_id: bytes(key.public_key) for key in AreaSigningKey.objects.all()}


@pytest.fixture
def card(person, card_officer):
    return make_card(person, CardState.ACTIVE, submitted_by=card_officer)


@pytest.fixture
def claimed(card, individual):
    ecard_claim(actor=individual, card=card)
    return card


# --- claiming ---------------------------------------------------------------


def test_the_holder_of_an_active_card_claims_its_electronic_card(card, individual):
    ecard = ecard_claim(actor=individual, card=card)
    assert (ecard.card, ecard.area_id, ecard.claimed_by) == (card, "320100", individual)
    assert AuditEvent.objects.filter(action="ecard.claim", subject_id=str(card.pk)).exists()
    with pytest.raises(Conflict) as caught:
        ecard_claim(actor=individual, card=card)
    assert caught.value.code == "ecard_already_claimed"


def test_an_issued_card_not_yet_activated_may_be_claimed(person, card_officer, individual):
    card = make_card(person, CardState.ISSUED, submitted_by=card_officer)
    assert ecard_claim(actor=individual, card=card).card == card


def test_only_the_holder_claims(card, card_officer, area, stranger):
    someone = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    neighbour = make_user("neighbour", Role.INDIVIDUAL, area, person_id=someone.pk)
    with pytest.raises(Forbidden) as caught:
        ecard_claim(actor=neighbour, card=card)
    assert caught.value.code == "not_cardholder"
    for staff in (card_officer, stranger):
        with pytest.raises(Forbidden):
            ecard_claim(actor=staff, card=card)
    assert not ElectronicCard.objects.exists()


@pytest.mark.parametrize(
    "state",
    [
        CardState.TEMPORARY_LOSS,
        CardState.FORMAL_LOSS,
        CardState.PIN_LOCKED,
        CardState.CANCELLED,
        CardState.AT_OUTLET,
    ],
)
def test_a_card_not_in_use_has_no_electronic_card(person, card_officer, individual, state):
    card = make_card(person, state, submitted_by=card_officer)
    with pytest.raises(Conflict) as caught:
        ecard_claim(actor=individual, card=card)
    assert caught.value.code == "card_not_usable"
    with translation.override("en"):
        assert "issued or active" in caught.value.message


def test_a_frozen_card_and_a_temporary_card_have_none_either(
    person, card_officer, individual, outlet
):
    frozen = make_card(
        person,
        CardState.ACTIVE,
        submitted_by=card_officer,
        frozen_at=timezone.now(),
        frozen_reason="涉嫌冒领",
    )
    with pytest.raises(Conflict) as caught:
        ecard_claim(actor=individual, card=frozen)
    assert caught.value.code == "card_frozen"
    temporary = services.card_issue_temporary(actor=card_officer, person=person, outlet=outlet)
    with pytest.raises(Conflict) as caught:
        ecard_claim(actor=individual, card=temporary)
    assert caught.value.code == "ecard_temporary_card"


def test_the_electronic_card_is_always_in_the_physical_cards_state(
    claimed, card_officer, individual
):
    ecard = ElectronicCard.objects.get(card=claimed)
    assert ecard_state(ecard).state == CardState.ACTIVE
    services.card_report_temporary_loss(actor=individual, card=claimed)
    ecard = ElectronicCard.objects.get(card=claimed)
    assert (ecard_state(ecard).state, ecard_state(ecard).frozen) == (
        CardState.TEMPORARY_LOSS,
        False,
    )
    # The loss lapses by itself: the e-card is usable again at the same instant.
    Card.objects.filter(pk=claimed.pk).update(
        loss_lapses_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert ecard_state(ElectronicCard.objects.get(card=claimed)).usable
    Card.objects.filter(pk=claimed.pk).update(frozen_at=timezone.now())
    assert ecard_state(ElectronicCard.objects.get(card=claimed)) == ecard_state(
        Card.objects.get(pk=claimed.pk)
    )
    assert ecard_state(Card.objects.get(pk=claimed.pk)).frozen


# --- tokens -----------------------------------------------------------------


def test_a_token_is_a_signed_compact_payload(claimed, individual):
    before = timezone.now()
    token = ecard_token(actor=individual, card=claimed)
    payload_part, signature_part = token.split(".")
    payload = json.loads(b64decode(payload_part))
    key = AreaSigningKey.objects.get()
    assert set(payload) == {"v", "k", "a", "c", "iat", "exp", "n"}
    assert (payload["v"], payload["k"], payload["a"], payload["c"]) == (
        1,
        key.key_id,
        "320100",
        claimed.card_number,
    )
    assert payload["exp"] - payload["iat"] == 300
    assert abs(payload["iat"] - before.timestamp()) < 5
    assert key.key_id.startswith("320100-")
    # Anyone can check it with the raw public key and nothing from this project.
    Ed25519PublicKey.from_public_bytes(bytes(key.public_key)).verify(
        b64decode(signature_part), b64decode(payload_part)
    )
    assert len(token) < 300  # fits a small QR code
    assert token != ecard_token(actor=individual, card=claimed)  # a fresh nonce each time


def test_the_area_key_is_made_on_first_use_and_kept(claimed, individual, person, card_officer):
    assert not AreaSigningKey.objects.exists()
    ecard_token(actor=individual, card=claimed)
    ecard_token(actor=individual, card=claimed)
    key = AreaSigningKey.objects.get()
    assert len(bytes(key.private_key)) == 32 and len(bytes(key.public_key)) == 32
    assert AuditEvent.objects.filter(
        action="ecard.signing_key_create", subject_id=str(key.pk)
    ).exists()
    # A retired key signs no more; a new one is made and the old one still verifies.
    token = ecard_token(actor=individual, card=claimed)
    AreaSigningKey.objects.filter(pk=key.pk).update(retired_at=timezone.now())
    fresh = ecard_token(actor=individual, card=claimed)
    assert AreaSigningKey.objects.count() == 2
    assert ecard_verify(token).valid and ecard_verify(fresh).valid


def test_only_a_claimed_electronic_card_of_ones_own_gets_a_token(card, individual, card_officer):
    with pytest.raises(Conflict) as caught:
        ecard_token(actor=individual, card=card)
    assert caught.value.code == "ecard_not_claimed"
    ecard_claim(actor=individual, card=card)
    with pytest.raises(Forbidden):
        ecard_token(actor=card_officer, card=card)


def test_a_token_of_a_lost_card_fails(claimed, individual, card_officer, person):
    token = ecard_token(actor=individual, card=claimed)
    assert ecard_verify(token).valid
    services.card_report_temporary_loss(actor=individual, card=claimed)
    answer = ecard_verify(token)
    assert (answer.valid, answer.reason) == (False, "card_lost")
    with pytest.raises(Conflict) as caught:
        ecard_token(actor=individual, card=claimed)
    assert caught.value.code == "card_not_usable"
    services.card_report_formal_loss(
        actor=card_officer, card=claimed, presented_id_number=person.id_number
    )
    assert ecard_verify(token).reason == "card_lost"


def test_a_token_expires_after_its_lifetime(claimed, individual, area, area_admin):
    token = ecard_token(actor=individual, card=claimed)
    now = timezone.now()
    assert ecard_verify(token, now=now + dt.timedelta(seconds=290)).valid
    answer = ecard_verify(token, now=now + dt.timedelta(seconds=301))
    assert (answer.valid, answer.reason) == (False, "token_expired")
    with pytest.raises(InvalidToken) as caught:
        ecard_verify_offline(token, public_keys(), now + dt.timedelta(seconds=301))
    assert caught.value.code == "token_expired"
    # The area sets the lifetime.
    area_setting_set(
        actor=area_admin,
        area=area,
        key="ecard_token_seconds",
        value=60,
        valid_from=timezone.localdate(),
    )
    short = ecard_token(actor=individual, card=claimed)
    assert ecard_verify(short, now=timezone.now() + dt.timedelta(seconds=61)).reason == (
        "token_expired"
    )


def test_a_tampered_token_fails(claimed, individual, person, card_officer):
    token = ecard_token(actor=individual, card=claimed)
    payload_part, signature_part = token.split(".")
    payload = json.loads(b64decode(payload_part))
    # Someone else's card number, or a longer life, under the same signature.
    for change in ({"c": "A99999999"}, {"exp": payload["exp"] + 86400}):
        forged = b64encode(json.dumps({**payload, **change}).encode()) + "." + signature_part
        assert ecard_verify(forged).reason == "token_signature"
    flipped = bytearray(b64decode(signature_part))
    flipped[0] ^= 1
    assert ecard_verify(payload_part + "." + b64encode(bytes(flipped))).reason == (
        "token_signature"
    )
    for garbage in ("", "abc", "a.b.c", "!!!.???", b64encode(b"[1,2]") + ".AA"):
        answer = ecard_verify(garbage)
        assert (answer.valid, answer.reason) == (False, "token_malformed"), garbage
        assert answer.card_number is None and answer.area is None


def test_a_token_signed_by_an_unknown_key_or_another_areas_key_fails(
    claimed, individual, other_area
):
    token = ecard_token(actor=individual, card=claimed)
    assert ecard_verify_offline(token, public_keys(), timezone.now()).card_number
    now = int(timezone.now().timestamp())
    payload = {"v": 1, "a": "320100", "c": claimed.card_number, "iat": now, "exp": now + 300}
    rogue = Ed25519PrivateKey.generate()
    for key_id in ("320100-rogue", "110100-rogue"):
        data = json.dumps({**payload, "k": key_id, "n": "x"}).encode()
        forged = b64encode(data) + "." + b64encode(rogue.sign(data))
        assert ecard_verify(forged).reason == "token_unknown_key"
    # Even if a verifier trusts another area's key, it does not vouch for this area.
    rogue_public = rogue.public_key().public_bytes_raw()
    data = json.dumps({**payload, "k": "110100-rogue", "n": "x"}).encode()
    with pytest.raises(InvalidToken) as caught:
        ecard_verify_offline(
            b64encode(data) + "." + b64encode(rogue.sign(data)),
            {"110100-rogue": rogue_public},
            timezone.now(),
        )
    assert caught.value.code == "token_unknown_key"


def test_offline_verification_needs_only_the_public_key(claimed, individual):
    token = ecard_token(actor=individual, card=claimed)
    key = AreaSigningKey.objects.get()
    published = {key.key_id: base64.b64encode(bytes(key.public_key)).decode()}
    # What a terminal keeps: the key id and the base64 public key, nothing else.
    keys = {kid: base64.b64decode(text) for kid, text in published.items()}
    claims = ecard_verify_offline(token, keys, timezone.now())
    assert (claims.area, claims.card_number, claims.key_id) == (
        "320100",
        claimed.card_number,
        key.key_id,
    )
    assert claims.expires_at - claims.issued_at == dt.timedelta(seconds=300)
    with pytest.raises(InvalidToken) as caught:
        ecard_verify_offline(token, {}, timezone.now())
    assert caught.value.code == "token_unknown_key"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"state": CardState.CANCELLED, "cancel_reason": "death"}, "card_cancelled"),
        ({"state": CardState.PIN_LOCKED}, "card_pin_locked"),
        ({"valid_to": dt.date.today() - dt.timedelta(days=1)}, "card_expired"),
        ({"frozen_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "card_frozen"),
    ],
)
def test_a_token_of_a_card_out_of_use_fails_with_the_reason(claimed, individual, change, reason):
    token = ecard_token(actor=individual, card=claimed)
    Card.objects.filter(pk=claimed.pk).update(**change)
    answer = ecard_verify(token)
    assert (answer.valid, answer.reason) == (False, reason)


def test_the_answer_shows_only_the_area_and_a_masked_number(claimed, individual, person):
    answer = ecard_verify(ecard_token(actor=individual, card=claimed))
    assert answer.valid and answer.reason == "ok"
    assert (answer.area, answer.area_name) == ("320100", "南京市")
    assert answer.card_number == mask_card_number(claimed.card_number)
    assert answer.card_number != claimed.card_number and answer.card_number.endswith(
        claimed.card_number[-3:]
    )
    text = repr(answer)
    for secret in (person.name, person.id_number, claimed.card_number, claimed.bank_account):
        assert secret not in text


def test_a_replaced_cards_token_fails_once_the_new_card_is_handed_over(
    claimed, individual, card_officer, person
):
    token = ecard_token(actor=individual, card=claimed)
    Card.objects.filter(pk=claimed.pk).update(state=CardState.CANCELLED, cancel_reason="replaced")
    assert ecard_verify(token).reason == "card_cancelled"


# --- the e-card never differs from the card (property) ----------------------


def _update(card, **fields):
    Card.objects.filter(pk=card.pk).update(**fields)


STEPS = {
    "temporary_loss": lambda c, officer, holder, p: services.card_report_temporary_loss(
        actor=holder, card=c
    ),
    "unfreeze": lambda c, officer, holder, p: services.card_unfreeze(actor=holder, card=c),
    "formal_loss": lambda c, officer, holder, p: services.card_report_formal_loss(
        actor=officer, card=c, presented_id_number=p.id_number
    ),
    "activate": lambda c, officer, holder, p: services.card_activate(actor=officer, card=c),
    "pin_failure": lambda c, officer, holder, p: services.card_pin_failure(actor=officer, card=c),
    "six_pin_failures": lambda c, officer, holder, p: [
        services.card_pin_failure(actor=officer, card=c) for _ in range(6)
    ],
    "pin_unlock": lambda c, officer, holder, p: services.card_pin_unlock(
        actor=officer, card=c, presented_id_number=p.id_number
    ),
    "cancel": lambda c, officer, holder, p: services.card_cancel(
        actor=officer, card=c, reason="death"
    ),
    "freeze": lambda c, officer, holder, p: _update(
        c, frozen_at=timezone.now(), frozen_reason="应急冻结"
    ),
    "release": lambda c, officer, holder, p: _update(c, frozen_at=None, frozen_reason=""),
    "loss_lapses": lambda c, officer, holder, p: Card.objects.filter(
        pk=c.pk, state=CardState.TEMPORARY_LOSS
    ).update(loss_lapses_at=timezone.now() - dt.timedelta(minutes=1)),
    "validity_ends": lambda c, officer, holder, p: _update(c, valid_to=timezone.localdate()),
}
USABLE = {CardState.ISSUED, CardState.ACTIVE}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from([CardState.ISSUED, CardState.ACTIVE]),
    steps=st.lists(st.sampled_from(sorted(STEPS)), max_size=12),
)
def test_the_electronic_card_always_mirrors_the_card_and_verifies_only_when_usable(
    card_officer, individual, person, start, steps
):
    with transaction.atomic():
        card = make_card(person, start, submitted_by=card_officer)
        ecard_claim(actor=individual, card=card)
        first_token = ecard_token(actor=individual, card=card)
        for step in ["(start)", *steps]:
            if step in STEPS:
                # A step refused in this state leaves the card as it was.
                with contextlib.suppress(DomainError):
                    STEPS[step](Card.objects.get(pk=card.pk), card_officer, individual, person)
            card = Card.objects.get(pk=card.pk)
            now = timezone.now()
            mirrored = ecard_state(ElectronicCard.objects.get(card=card))
            assert mirrored.state == effective_state(card, now, timezone.localdate()), step
            assert mirrored.frozen == (card.frozen_at is not None), step
            usable = mirrored.state in USABLE and card.frozen_at is None
            assert ecard_verify(first_token).valid == usable, (step, mirrored)
            try:
                fresh = ecard_token(actor=individual, card=card)
            except Conflict:
                assert not usable, step
            else:
                assert usable and ecard_verify(fresh).valid, step
        transaction.set_rollback(True)
