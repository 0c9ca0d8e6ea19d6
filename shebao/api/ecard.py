"""REST endpoints: the electronic card.

Two endpoints are public, without authentication, on purpose: the area
public keys and the token check. Whoever is shown a QR code (a hospital, a
pharmacy, a bank counter) must be able to check it, and neither answer says
anything about the holder beyond a masked card number and the area.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.roles import require
from shebao.api.registry import actor, responses
from shebao.cards import ecard
from shebao.cards.models import AreaSigningKey, ElectronicCard
from shebao.cards.selectors import card_get

router = Router(tags=["ecard"])


class PublicKeyOut(Schema):
    key_id: str
    area: str = Field(alias="area_id")
    algorithm: str = "Ed25519"
    public_key: str = Field(description="The raw 32-byte Ed25519 public key, standard base64")
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @staticmethod
    def resolve_public_key(obj: AreaSigningKey) -> str:
        return base64.b64encode(bytes(obj.public_key)).decode("ascii")


class KeyQuery(Schema):
    area: str | None = Field(None, description="Only this area's keys")


class VerifyIn(Schema):
    token: str = Field(description="The text of the holder's QR code", max_length=2000)


class VerificationOut(Schema):
    valid: bool
    reason: str = Field(
        description="ok, or why not: card_lost, card_frozen, card_expired, card_cancelled, "
        "card_pin_locked, card_not_usable, ecard_not_claimed, token_expired, token_signature, "
        "token_unknown_key, token_malformed, token_version"
    )
    message: str
    area: str | None = Field(None, description="The issuing area's code")
    area_name: str | None = None
    card_number: str | None = Field(None, description="Masked, e.g. A*****123")
    expires_at: dt.datetime | None = Field(None, description="When the code expires")


class ClaimIn(Schema):
    card: int = Field(description="The id of the holder's physical card")


class EcardOut(Schema):
    card: int = Field(alias="card_id")
    area: str = Field(alias="area_id")
    card_number: str | None = Field(None, alias="card.card_number")
    state: str = Field(description="Always the physical card's state as of now")
    frozen: bool
    usable: bool = Field(description="Whether a QR code can be shown and will be accepted")
    claimed_at: dt.datetime

    @staticmethod
    def resolve_state(obj: ElectronicCard) -> str:
        return ecard.ecard_state(obj).state

    @staticmethod
    def resolve_frozen(obj: ElectronicCard) -> bool:
        return ecard.ecard_state(obj).frozen

    @staticmethod
    def resolve_usable(obj: ElectronicCard) -> bool:
        return ecard.ecard_state(obj).usable


class TokenOut(Schema):
    token: str = Field(description="base64url(payload JSON).base64url(Ed25519 signature)")
    expires_at: dt.datetime


# --- public ------------------------------------------------------------------


@router.get(
    "/ecard/keys",
    auth=None,
    response=responses(200, list[PublicKeyOut]),
    summary="The areas' public keys for checking e-card codes offline (public, no sign-in)",
)
def key_list(request: HttpRequest, query: Query[KeyQuery]) -> Any:
    return list(ecard.published_keys(area_code=query.area))


@router.post(
    "/ecard/verify",
    auth=None,
    response=responses(200, VerificationOut),
    summary="Check an e-card code and the card's state now (public, no sign-in: anyone shown "
    "a code may check it; the answer shows only the area and a masked card number)",
)
def verify(request: HttpRequest, payload: VerifyIn) -> Any:
    return ecard.ecard_verify(payload.token)


# --- the holder --------------------------------------------------------------


@router.get(
    "/ecards",
    response=responses(200, list[EcardOut]),
    summary="My electronic cards and their state (cardholder)",
)
def ecard_list(request: HttpRequest) -> Any:
    user = actor(request)
    require(user, "card.ecard")
    return list(ecard.ecards_for(user).order_by("claimed_at"))


@router.post(
    "/ecards",
    response=responses(201, EcardOut),
    summary="Claim the electronic card of my valid physical card (cardholder)",
)
def ecard_claim(request: HttpRequest, payload: ClaimIn) -> Any:
    user = actor(request)
    card = card_get(user, payload.card, log=False)
    return Status(201, ecard.ecard_claim(actor=user, card=card))


@router.get(
    "/ecards/{card_id}",
    response=responses(200, EcardOut),
    summary="The state of my electronic card: always the physical card's (cardholder)",
)
def ecard_detail(request: HttpRequest, card_id: int) -> Any:
    return ecard.ecard_get(actor(request), card_id)


@router.post(
    "/ecards/{card_id}/token",
    response=responses(201, TokenOut),
    summary="A short-lived signed code to show as a QR code (cardholder)",
)
def ecard_token(request: HttpRequest, card_id: int) -> Any:
    user = actor(request)
    claimed = ecard.ecard_get(user, card_id)
    token = ecard.ecard_token(actor=user, card=claimed.card)
    return Status(201, {"token": token, "expires_at": ecard.token_expires_at(token)})
