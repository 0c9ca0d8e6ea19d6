"""The electronic card: claiming it, its QR tokens, and verifying them.

The e-card is one-to-one with the physical card and has no state of its own
(DOMAIN §2: "same status always"): `ecard_state` reads the physical card's
effective state every time, so a loss, freeze, lapse or expiry of the card
is the e-card's at the same instant, with nothing to keep in step.

QR token (version 1)::

    base64url(payload JSON) "." base64url(Ed25519 signature of the payload JSON bytes)

base64url without padding; the payload is a compact JSON object
``{"v": 1, "k": key id, "a": area code, "c": card number, "iat": issued at,
"exp": expires at, "n": nonce}`` with times in Unix seconds. The key id is
``<area code>-<fingerprint>``, so a key of one area never vouches for
another area's card. Each area signs with its own Ed25519 key, created on
first use; the public keys are published (`GET /api/v1/ecard/keys`), so a
hospital or pharmacy terminal can check a token offline
(`ecard_verify_offline`: signature and expiry). The verifier endpoint
(`ecard_verify`) also checks the card's state now, so a card reported lost a
minute ago fails even with an unexpired token.

A token says nothing about the holder: the card number and the area only,
and answers show the number masked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import audit_record
from shebao.cards.lifecycle import effective_state
from shebao.cards.models import AreaSigningKey, Card, CardKind, CardState, ElectronicCard
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.registry.models import Area
from shebao.registry.selectors import area_setting

TOKEN_VERSION = 1
# States in which the card, and so the e-card, may be shown and accepted.
USABLE_STATES = (CardState.ISSUED, CardState.ACTIVE)
# A retired key still verifies the tokens it signed until the longest token
# lifetime the settings catalogue allows (ecard_token_seconds ≤ 3600) has passed.
RETIRED_KEY_GRACE = dt.timedelta(seconds=3600)
# Why a token is refused, for the card's state as of now.
STATE_REASONS = {
    CardState.TEMPORARY_LOSS: "card_lost",
    CardState.FORMAL_LOSS: "card_lost",
    CardState.EXPIRED: "card_expired",
    CardState.CANCELLED: "card_cancelled",
    CardState.PIN_LOCKED: "card_pin_locked",
}


class InvalidToken(InvalidInput):
    """A token that is malformed, badly signed, of an unknown key or expired."""


@dataclass(frozen=True)
class EcardState:
    """The e-card's state: always the physical card's effective state and freeze."""

    state: str
    frozen: bool

    @property
    def usable(self) -> bool:
        return self.state in USABLE_STATES and not self.frozen


@dataclass(frozen=True)
class TokenClaims:
    version: int
    key_id: str
    area: str
    card_number: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    nonce: str


@dataclass(frozen=True)
class Verification:
    """The verifier's answer: no personal data beyond a masked card number and the area."""

    valid: bool
    reason: str  # "ok" or why not, e.g. card_lost, token_expired
    message: str
    area: str | None = None
    area_name: str | None = None
    card_number: str | None = None  # masked
    expires_at: dt.datetime | None = None


def mask_card_number(number: str) -> str:
    """`A00000123` → `A*****123`."""
    if len(number) < 5:
        return "*" * len(number)
    return number[:1] + "*" * (len(number) - 4) + number[-3:]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- state and claiming ------------------------------------------------------


def ecard_state(
    card_or_ecard: Card | ElectronicCard, *, now: dt.datetime | None = None
) -> EcardState:
    """The e-card's state, which is the physical card's effective state as of now."""
    card = card_or_ecard.card if isinstance(card_or_ecard, ElectronicCard) else card_or_ecard
    now = now or timezone.now()
    return EcardState(
        state=effective_state(card, now, timezone.localdate(now)),
        frozen=card.frozen_at is not None,
    )


def _require_holder(actor: User, card: Card) -> None:
    require(actor, "card.ecard", area_code=card.area_id)
    if actor.person_id != card.person_id:
        raise Forbidden(
            _("Only the cardholder may use the electronic card of this card."),
            code="not_cardholder",
        )


def _check_usable(card: Card) -> None:
    current = ecard_state(card)
    if current.frozen:
        raise Conflict(
            _(
                "The card is frozen (%(reason)s); its electronic card cannot be used until the "
                "freeze is lifted."
            ),
            code="card_frozen",
            params={"reason": card.frozen_reason or "-"},
        )
    if not current.usable:
        raise Conflict(
            _(
                "The card is “%(state)s”; the electronic card works only with an issued or "
                "active card. Unfreeze or unlock it at a counter, or apply for a new card."
            ),
            code="card_not_usable",
            params={"state": CardState(current.state).label},
        )


def ecards_for(user: User) -> QuerySet[ElectronicCard]:
    """The holder's own e-cards; nobody else reads e-cards through this."""
    rows = ElectronicCard.objects.select_related("card")
    if user.role == Role.INDIVIDUAL:
        return rows.filter(area_id=user.area_id, card__person_id=user.person_id or 0)
    return rows.none()


def ecard_get(user: User, card_id: int) -> ElectronicCard:
    try:
        return ecards_for(user).get(card_id=card_id)
    except (ElectronicCard.DoesNotExist, ValueError):
        raise NotFound(_("No electronic card of that card is visible to you.")) from None


@transaction.atomic
def ecard_claim(*, actor: User, card: Card) -> ElectronicCard:
    """The holder of a valid physical card claims its electronic card (one per card)."""
    _require_holder(actor, card)
    locked = Card.objects.select_for_update().get(pk=card.pk)
    if locked.kind == CardKind.TEMPORARY:
        raise Conflict(
            _("A temporary card has no electronic card; claim it for your social security card."),
            code="ecard_temporary_card",
        )
    _check_usable(locked)
    if ElectronicCard.objects.filter(card=locked).exists():
        raise Conflict(
            _("The electronic card of card %(number)s is already claimed."),
            code="ecard_already_claimed",
            params={"number": mask_card_number(locked.card_number or "")},
        )
    try:
        with transaction.atomic():
            ecard = ElectronicCard.objects.create(
                card=locked, area_id=locked.area_id, claimed_by=actor
            )
    except IntegrityError:
        raise Conflict(
            _("The electronic card of card %(number)s is already claimed."),
            code="ecard_already_claimed",
            params={"number": mask_card_number(locked.card_number or "")},
        ) from None
    audit_record(
        actor=actor,
        action="ecard.claim",
        subject=ecard,
        area_code=ecard.area_id,
        after={"card": locked.pk, "claimed_at": ecard.claimed_at},
    )
    return ecard


# --- area signing keys -------------------------------------------------------


def published_keys(
    *, area_code: str | None = None, now: dt.datetime | None = None
) -> QuerySet[AreaSigningKey]:
    """Keys whose tokens may still be live: current ones and recently retired ones."""
    now = now or timezone.now()
    rows = AreaSigningKey.objects.filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=now - RETIRED_KEY_GRACE)
    )
    if area_code is not None:
        rows = rows.filter(area_id=area_code)
    return rows.order_by("area_id", "created_at", "pk")


def _signing_key(area_code: str, actor: User | None) -> AreaSigningKey:
    """The area's current key, created on first use."""
    key = AreaSigningKey.objects.filter(area_id=area_code, retired_at__isnull=True).last()
    if key is not None:
        return key
    # Two first uses at once would make two keys: serialise on the area row.
    Area.objects.select_for_update(no_key=True).filter(code=area_code).first()
    key = AreaSigningKey.objects.filter(area_id=area_code, retired_at__isnull=True).last()
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    seed = private.private_bytes_raw()
    key = AreaSigningKey.objects.create(
        area_id=area_code,
        key_id=f"{area_code}-{hashlib.sha256(public).hexdigest()[:12]}",
        private_key=seed,
        public_key=public,
    )
    audit_record(
        actor=actor,
        action="ecard.signing_key_create",
        subject=key,
        area_code=area_code,
        after={"key_id": key.key_id, "public_key": _b64encode(public)},
    )
    return key


# --- tokens ------------------------------------------------------------------


@transaction.atomic
def ecard_token(*, actor: User, card: Card) -> str:
    """A short-lived signed token for the holder's QR code."""
    _require_holder(actor, card)
    if not ElectronicCard.objects.filter(card_id=card.pk).exists():
        raise Conflict(_("Claim the electronic card of this card first."), code="ecard_not_claimed")
    card = Card.objects.get(pk=card.pk)  # the state as of now, not as the caller read it
    _check_usable(card)
    key = _signing_key(card.area_id, actor)
    now = timezone.now()
    issued = int(now.timestamp())
    lifetime = int(area_setting(card.area_id, "ecard_token_seconds"))
    payload = json.dumps(
        {
            "v": TOKEN_VERSION,
            "k": key.key_id,
            "a": card.area_id,
            "c": card.card_number,
            "iat": issued,
            "exp": issued + lifetime,
            "n": secrets.token_urlsafe(9),
        },
        separators=(",", ":"),
    ).encode()
    signature = Ed25519PrivateKey.from_private_bytes(bytes(key.private_key)).sign(payload)
    return f"{_b64encode(payload)}.{_b64encode(signature)}"


_MALFORMED = _("This is not an electronic social security card code.")


def _decode(token: str) -> tuple[bytes, bytes, dict[str, Any]]:
    """The payload bytes, the signature and the (not yet trusted) payload."""
    try:
        payload_part, signature_part = token.strip().split(".")
        payload = _b64decode(payload_part)
        signature = _b64decode(signature_part)
        claims = json.loads(payload)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken(_MALFORMED, code="token_malformed", field="token") from None
    fields = {"v": int, "k": str, "a": str, "c": str, "iat": int, "exp": int, "n": str}
    if not isinstance(claims, dict) or any(
        not isinstance(claims.get(name), kind) for name, kind in fields.items()
    ):
        raise InvalidToken(_MALFORMED, code="token_malformed", field="token")
    if claims["v"] != TOKEN_VERSION:
        raise InvalidToken(
            _(
                "Code version %(version)s is not supported; this system reads version %(supported)s."
            ),
            code="token_version",
            field="token",
            params={"version": claims["v"], "supported": TOKEN_VERSION},
        )
    return payload, signature, claims


def token_expires_at(token: str) -> dt.datetime:
    """When a token expires, read without checking it (for the holder's own display)."""
    return dt.datetime.fromtimestamp(_decode(token)[2]["exp"], tz=dt.UTC)


def ecard_verify_offline(
    token: str, public_keys: dict[str, bytes], now: dt.datetime
) -> TokenClaims:
    """Check a token's signature and expiry with published public keys only.

    `public_keys` maps key id to the raw 32-byte Ed25519 public key (as
    `GET /api/v1/ecard/keys` gives them, base64-decoded). Raises InvalidToken
    with code token_malformed, token_version, token_unknown_key,
    token_signature or token_expired. It says nothing about the card's state
    now: that is `ecard_verify`'s.
    """
    payload, signature, claims = _decode(token)
    key_id = claims["k"]
    public = public_keys.get(key_id)
    if public is None or key_id.split("-", 1)[0] != claims["a"]:
        raise InvalidToken(
            _("The code was signed with a key this verifier does not know (%(key)s)."),
            code="token_unknown_key",
            field="token",
            params={"key": key_id[:32]},
        )
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public)).verify(signature, payload)
    except (InvalidSignature, ValueError):
        raise InvalidToken(
            _("The code's signature is not valid; it was altered or not issued by the area."),
            code="token_signature",
            field="token",
        ) from None
    issued_at = dt.datetime.fromtimestamp(claims["iat"], tz=dt.UTC)
    expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    if now >= expires_at:
        raise InvalidToken(
            _("The code expired at %(expired)s; ask the holder to show a fresh one."),
            code="token_expired",
            field="token",
            params={"expired": timezone.localtime(expires_at).isoformat(timespec="seconds")},
        )
    return TokenClaims(
        version=claims["v"],
        key_id=key_id,
        area=claims["a"],
        card_number=claims["c"],
        issued_at=issued_at,
        expires_at=expires_at,
        nonce=claims["n"],
    )


_STATE_MESSAGES = {
    "ok": _("The card is valid."),
    "card_lost": _("The card has been reported lost."),
    "card_expired": _("The card has expired."),
    "card_cancelled": _("The card has been cancelled."),
    "card_pin_locked": _("The card is locked after wrong PIN entries."),
    "card_frozen": _("The card is frozen."),
    "card_not_usable": _("The card is not in use."),
    "ecard_not_claimed": _("No electronic card was claimed for this card."),
}


def ecard_verify(token: str, *, now: dt.datetime | None = None) -> Verification:
    """The verifier's check: signature, expiry, and the card's state as of now.

    Anyone may ask (a hospital, a pharmacy, a bank counter). The answer is a
    reason code, never an error: a refused code is a normal answer.
    """
    now = now or timezone.now()
    try:
        _payload, _signature, untrusted = _decode(token)
        keys = {
            key.key_id: bytes(key.public_key)
            for key in published_keys(area_code=untrusted["a"], now=now).filter(
                key_id=untrusted["k"]
            )
        }
        claims = ecard_verify_offline(token, keys, now)
    except InvalidToken as error:
        return Verification(valid=False, reason=error.code, message=error.message)
    card = Card.objects.filter(area_id=claims.area, card_number=claims.card_number).first()
    if card is None or not ElectronicCard.objects.filter(card=card).exists():
        reason = "ecard_not_claimed"
    else:
        current = ecard_state(card, now=now)
        if current.frozen:
            reason = "card_frozen"
        elif current.usable:
            reason = "ok"
        else:
            reason = STATE_REASONS.get(CardState(current.state), "card_not_usable")
    area = Area.objects.filter(code=claims.area).first()
    return Verification(
        valid=reason == "ok",
        reason=reason,
        message=str(_STATE_MESSAGES[reason]),
        area=claims.area,
        area_name=area.name if area else None,
        card_number=mask_card_number(claims.card_number),
        expires_at=claims.expires_at,
    )
