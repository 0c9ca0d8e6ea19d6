"""The electronic card on the portal: the holder's QR code and the public check.

The holder sees, on "My cards", each card's electronic card: a button to
claim it, or its QR code (a fresh signed token from `ecard.ecard_token`,
drawn on the server as inline SVG: no JavaScript, no image request), or why
no code is offered (the card is lost, frozen, cancelled, …). The e-card has
no state of its own, so that reason is always the physical card's state as
of now.

`/verify-ecard/` is public, like `POST /api/v1/ecard/verify`: a hospital or
pharmacy pastes a code and sees whether the card is valid now, the area and
the masked card number, never the holder's name or identity number.
"""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from shebao.accounts.models import User
from shebao.cards import ecard
from shebao.cards.models import Card, CardKind, CardState
from shebao.core.errors import DomainError

# States in which a card is (or was) held, so its e-card means something; a
# claimed e-card is explained in any state, an unclaimed one only in these.
HELD_STATES = (
    CardState.ISSUED,
    CardState.ACTIVE,
    CardState.TEMPORARY_LOSS,
    CardState.FORMAL_LOSS,
    CardState.PIN_LOCKED,
    CardState.EXPIRED,
)

# Why no code is shown, for the reasons `ecard.ecard_verify` gives a verifier.
NO_CODE_REASONS: dict[str, Any] = {
    "card_frozen": gettext_lazy(
        "The card is held by the card issuing area, so no code is shown. Ask at a service outlet."
    ),
    "card_lost": gettext_lazy(
        "The card is reported lost, so no code is shown: the electronic card cannot be used "
        "either while the card is lost."
    ),
    "card_cancelled": gettext_lazy(
        "The card is cancelled, so its electronic card no longer works."
    ),
    "card_expired": gettext_lazy(
        "The card has expired, so its electronic card no longer works. Apply for a renewal."
    ),
    "card_pin_locked": gettext_lazy(
        "The card's PIN is locked, so no code is shown. Unlock it at a service outlet with "
        "your identity card."
    ),
    "card_not_usable": gettext_lazy(
        "The electronic card works only with an issued or active card, so no code is shown."
    ),
}


def qr_svg(text: str, *, title: str) -> SafeString:
    """`text` as a QR code in inline SVG (error correction M, quiet zone of 4 modules)."""
    code = segno.make(text, error="m", micro=False)
    # segno escapes the title and writes nothing else that comes from outside.
    return mark_safe(  # noqa: S308
        code.svg_inline(
            border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr", title=title
        )
    )


def _no_code_reason(card: Card, state: str) -> str | None:
    """Why the card's e-card may not be shown now, as a verifier's reason code."""
    if card.frozen_at is not None:
        return "card_frozen"
    if state in ecard.USABLE_STATES:
        return None
    return ecard.STATE_REASONS.get(CardState(state), "card_not_usable")


def ecard_panel(
    user: User, card: Card, state: str, *, claimed: bool, refusal: str | None = None
) -> dict[str, Any] | None:
    """What "My cards" shows of the card's electronic card, or None for no panel.

    `state` is the card's state as of now; a usable claimed e-card gets a fresh
    token each time the page is shown.
    """
    if card.kind == CardKind.TEMPORARY or not card.card_number:
        return None  # no e-card for a temporary card or an application
    panel: dict[str, Any] = {"claimed": claimed, "refusal": refusal}
    reason = _no_code_reason(card, state)
    if reason is not None:
        if not claimed and state not in HELD_STATES:
            return None
        panel.update(reason=reason, why=NO_CODE_REASONS[reason])
        return panel
    if not claimed:
        panel["claim_url"] = reverse("web:my_ecard_claim", args=[card.pk])
        return panel
    try:
        token = ecard.ecard_token(actor=user, card=card)
    except DomainError as error:  # changed since the state was read
        panel.update(reason=error.code, why=error.message)
        return panel
    panel.update(
        token=token,
        qr=qr_svg(token, title=_("Electronic social security card code")),
        expires_at=ecard.token_expires_at(token),
        # A new address every time, so following it always loads a new code.
        refresh_url=reverse("web:my_cards") + f"?code={get_random_string(8)}#ecard-{card.pk}",
    )
    return panel


# --- the public check --------------------------------------------------------------


class VerifyForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code of the electronic card"),
        max_length=2000,
        help_text=gettext_lazy("Scan the holder's QR code, or paste the text it contains."),
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
                "class": "mono",
            }
        ),
    )


@require_http_methods(["GET", "POST"])
def verify_ecard(request: HttpRequest) -> HttpResponse:
    """Anyone shown a code may check it; no sign-in."""
    form = VerifyForm(request.POST or None)
    result = ecard.ecard_verify(form.cleaned_data["token"]) if form.is_valid() else None
    response = render(
        request,
        "web/cards/verify.html",
        # After an answer the box is empty again, ready for the next code.
        {"form": VerifyForm() if result else form, "result": result},
        status=400 if form.is_bound and result is None else 200,
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
