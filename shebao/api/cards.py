"""Card endpoints: applications, approval and the counter operations.

Production batches and distribution are in `card_production`, fees in
`card_fees`, the electronic card in `ecard`. Every state change follows the
lifecycle table (docs/cards-lifecycle.md); a refused transition is 409
`invalid_transition`. Send `expected_version` (the `version` you read) to be
told, instead of acting, when someone else changed the card in between.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.models import User
from shebao.api.paging import page_of, paginate
from shebao.api.registry import responses
from shebao.cards import selectors, services
from shebao.cards.models import Card
from shebao.core.errors import InvalidInput
from shebao.registry import selectors as registry_selectors

router = Router(tags=["cards"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _photo(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            _("The photo must be a base64-encoded JPEG."), code="photo_encoding", field="photo"
        ) from None


class CardOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    person: int = Field(alias="person_id")
    person_name: str = Field(alias="person.name")
    kind: str
    channel: str
    state: str = Field(
        description="State as of now: lapsed temporary losses read active, overdue cards expired"
    )
    stored_state: str = Field(description="The state as stored (before lapse and expiry)")
    frozen: bool
    account_class: int | None = Field(None, description="1, 2 or 3 (class I, II, III)")
    bank: str
    card_number: str | None
    identification_code: str | None
    bank_account: str = Field(description="Masked except the last four digits")
    valid_from: dt.date | None
    valid_to: dt.date | None
    replaces: int | None = Field(None, alias="replaces_id")
    outlet: int | None = Field(None, alias="outlet_id")
    due_on: dt.date | None
    loss_lapses_at: dt.datetime | None
    cancel_reason: str
    version: int

    @staticmethod
    def resolve_state(obj: Card) -> str:
        return selectors.card_state(obj)

    @staticmethod
    def resolve_stored_state(obj: Card) -> str:
        return obj.state

    @staticmethod
    def resolve_frozen(obj: Card) -> bool:
        return obj.frozen_at is not None

    @staticmethod
    def resolve_bank_account(obj: Card) -> str:
        account = obj.bank_account or ""
        return "*" * max(len(account) - 4, 0) + account[-4:]


class EventOut(Schema):
    at: dt.datetime
    operation: str
    from_state: str
    to_state: str
    actor: str | None
    detail: dict[str, Any]

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor else None


class ApplyIn(Schema):
    person: int = Field(description="Person id")
    kind: str = Field("first", description="first, replacement, renewal or type_change")
    replaces: int | None = Field(None, description="The card replaced (all kinds but first)")
    reason: str = Field("", description="Replacement reason: loss, damage, quality_fault, …")
    account_class: int = Field(description="1, 2 or 3 (class I, II, III)")
    bank: str = Field(description="Bank code, e.g. ICBC")
    phone: str
    address: str
    photo: str = Field(description="Base64 JPEG, 358×441 pixels, 24-bit colour")
    urgent: bool = False


class BulkRowIn(Schema):
    id_number: str
    account_class: int
    bank: str
    phone: str
    address: str
    photo: str = Field(description="Base64 JPEG, 358×441 pixels, 24-bit colour")


class BulkIn(Schema):
    rows: list[BulkRowIn]


class BulkRowOut(Schema):
    row: int
    ok: bool
    card: int | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None


class VersionIn(Schema):
    expected_version: int | None = Field(None, description="The version you read; 409 if changed")


class ReasonIn(Schema):
    reason: str


class IdentityIn(VersionIn):
    presented_id_number: str = Field(description="Identity number on the document presented")


class ActivateIn(Schema):
    guardian_id_number: str = Field("", description="Required when the holder is under 16")


class LossIn(Schema):
    channel: str = Field("", description="phone, online, bank or counter")


class ClassIn(Schema):
    account_class: int = Field(description="1, 2 or 3 (class I, II, III)")


class TemporaryIn(Schema):
    person: int
    outlet: int


class CardQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)
    person: int | None = None
    state: str | None = Field(None, description="Stored state")
    card_number: str | None = None


def _card(request: HttpRequest, card_id: int) -> Card:
    return selectors.card_get(actor(request), card_id)


@router.get(
    "/cards", response=responses(200, page_of(CardOut)), summary="List cards and applications"
)
def card_list(request: HttpRequest, query: Query[CardQuery]) -> Any:
    rows = selectors.cards_for(actor(request))
    if query.person is not None:
        rows = rows.filter(person_id=query.person)
    if query.state:
        rows = rows.filter(state=query.state)
    if query.card_number:
        rows = rows.filter(card_number=query.card_number.strip().upper())
    return paginate(rows.order_by("area_id", "-pk"), query.page, query.page_size)


@router.post("/cards", response=responses(201, CardOut), summary="Apply for a card")
def card_apply(request: HttpRequest, payload: ApplyIn) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, payload.person, purpose="card.apply")
    replaces = _card(request, payload.replaces) if payload.replaces else None
    return Status(
        201,
        services.card_apply(
            actor=user,
            person=person,
            kind=payload.kind,
            replaces=replaces,
            reason=payload.reason,
            account_class=payload.account_class,
            bank=payload.bank,
            phone=payload.phone,
            address=payload.address,
            photo=_photo(payload.photo),
            urgent=payload.urgent,
        ),
    )


@router.post(
    "/cards/bulk",
    response=responses(200, list[BulkRowOut]),
    summary="Apply for many people at once (employers for their staff); row by row",
)
def card_apply_bulk(request: HttpRequest, payload: BulkIn) -> Any:
    rows = []
    for row in payload.rows:
        data = row.dict()
        try:
            data["photo"] = _photo(row.photo)
        except InvalidInput:
            data["photo"] = b"not base64"
        rows.append(data)
    return services.card_apply_bulk(actor=actor(request), rows=rows)


@router.post(
    "/cards/temporary",
    response=responses(201, CardOut),
    summary="Issue a temporary card at the counter (no financial function)",
)
def card_issue_temporary(request: HttpRequest, payload: TemporaryIn) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, payload.person, purpose="card.issue")
    outlet = registry_selectors.outlet_get(user, payload.outlet)
    return Status(201, services.card_issue_temporary(actor=user, person=person, outlet=outlet))


@router.get(
    "/cards/{card_id}", response=responses(200, CardOut), summary="One card, state as of now"
)
def card_detail(request: HttpRequest, card_id: int) -> Card:
    return _card(request, card_id)


@router.get(
    "/cards/{card_id}/history",
    response=responses(200, list[EventOut]),
    summary="Every transition of the card",
)
def card_history(request: HttpRequest, card_id: int) -> Any:
    return list(selectors.card_history(_card(request, card_id)))


@router.post(
    "/cards/{card_id}/approve",
    response=responses(200, CardOut),
    summary="Approve an application (a second officer, never the submitter)",
)
def card_approve(request: HttpRequest, card_id: int, payload: VersionIn) -> Card:
    return services.card_approve(
        actor=actor(request),
        card=_card(request, card_id),
        expected_version=payload.expected_version,
    )


@router.post(
    "/cards/{card_id}/reject",
    response=responses(200, CardOut),
    summary="Reject an application, with the reason",
)
def card_reject(request: HttpRequest, card_id: int, payload: ReasonIn) -> Card:
    return services.card_reject(
        actor=actor(request), card=_card(request, card_id), reason=payload.reason
    )


@router.post(
    "/cards/{card_id}/withdraw",
    response=responses(200, CardOut),
    summary="Withdraw an application not yet in production",
)
def card_withdraw(request: HttpRequest, card_id: int) -> Card:
    return services.card_withdraw(actor=actor(request), card=_card(request, card_id))


@router.post(
    "/cards/{card_id}/hand-over",
    response=responses(200, CardOut),
    summary="Hand the card over after checking the holder's identity document",
)
def card_hand_over(request: HttpRequest, card_id: int, payload: IdentityIn) -> Card:
    return services.card_hand_over(
        actor=actor(request),
        card=_card(request, card_id),
        presented_id_number=payload.presented_id_number,
        expected_version=payload.expected_version,
    )


@router.post(
    "/cards/{card_id}/activate",
    response=responses(200, CardOut),
    summary="Activate an issued card (a guardian for a holder under 16)",
)
def card_activate(request: HttpRequest, card_id: int, payload: ActivateIn) -> Card:
    return services.card_activate(
        actor=actor(request),
        card=_card(request, card_id),
        guardian_id_number=payload.guardian_id_number,
    )


@router.post(
    "/cards/{card_id}/pin-failures",
    response=responses(200, CardOut),
    summary="Report a wrong PIN entry; the area's limit (6) locks the card",
)
def card_pin_failure(request: HttpRequest, card_id: int) -> Card:
    return services.card_pin_failure(actor=actor(request), card=_card(request, card_id))


@router.post(
    "/cards/{card_id}/pin-unlock",
    response=responses(200, CardOut),
    summary="Unlock a PIN-locked card at the counter, with identity check",
)
def card_pin_unlock(request: HttpRequest, card_id: int, payload: IdentityIn) -> Card:
    return services.card_pin_unlock(
        actor=actor(request),
        card=_card(request, card_id),
        presented_id_number=payload.presented_id_number,
    )


@router.post(
    "/cards/{card_id}/temporary-loss",
    response=responses(200, CardOut),
    summary="Report a temporary loss; it lapses by itself after the area's days",
)
def card_temporary_loss(request: HttpRequest, card_id: int, payload: LossIn) -> Card:
    return services.card_report_temporary_loss(
        actor=actor(request), card=_card(request, card_id), channel=payload.channel
    )


@router.post(
    "/cards/{card_id}/unfreeze",
    response=responses(200, CardOut),
    summary="Lift a temporary loss (only a temporary loss)",
)
def card_unfreeze(request: HttpRequest, card_id: int) -> Card:
    return services.card_unfreeze(actor=actor(request), card=_card(request, card_id))


@router.post(
    "/cards/{card_id}/formal-loss",
    response=responses(200, CardOut),
    summary="Report a formal loss in person; then apply for a replacement",
)
def card_formal_loss(request: HttpRequest, card_id: int, payload: IdentityIn) -> Card:
    return services.card_report_formal_loss(
        actor=actor(request),
        card=_card(request, card_id),
        presented_id_number=payload.presented_id_number,
    )


@router.post(
    "/cards/{card_id}/downgrade",
    response=responses(200, CardOut),
    summary="Lower the bank account class in place (I→II, I→III, II→III)",
)
def card_downgrade(request: HttpRequest, card_id: int, payload: ClassIn) -> Card:
    return services.card_downgrade(
        actor=actor(request), card=_card(request, card_id), account_class=payload.account_class
    )


@router.post(
    "/cards/{card_id}/upgrade",
    response=responses(200, CardOut),
    summary="Raise the class in place: 409 upgrade_needs_new_card unless the area "
    "allows it; detail.apply then describes the type-change application",
)
def card_upgrade(request: HttpRequest, card_id: int, payload: ClassIn) -> Card:
    return services.card_upgrade(
        actor=actor(request), card=_card(request, card_id), account_class=payload.account_class
    )


@router.post(
    "/cards/{card_id}/cancel",
    response=responses(200, CardOut),
    summary="Cancel the card and its bank account (death, emigration, transfer out)",
)
def card_cancel(request: HttpRequest, card_id: int, payload: ReasonIn) -> Card:
    return services.card_cancel(
        actor=actor(request), card=_card(request, card_id), reason=payload.reason
    )
