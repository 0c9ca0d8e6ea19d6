"""Forms of the card pages: the application and the counter actions.

The forms only collect input. Every rule (who may apply, which state allows
what, the photo specification, identity checks) is the card services', and
the views show a service's refusal at the field it concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shebao.cards.models import (
    AccountClass,
    CancelReason,
    Card,
    CardKind,
    CardState,
    ReplacementReason,
)
from shebao.cards.photo import PHOTO_HEIGHT, PHOTO_MAX_BYTES, PHOTO_WIDTH
from shebao.cards.selectors import card_state


def photo_rule() -> str:
    """The national card specification of the photo, in the active language."""
    return gettext(
        "JPEG, %(width)d×%(height)d pixels, 24-bit colour, white background; usually 14–40 KB, "
        "at most %(max)d KB."
    ) % {"width": PHOTO_WIDTH, "height": PHOTO_HEIGHT, "max": PHOTO_MAX_BYTES // 1024}


APPLICATION_KINDS = [(value, label) for value, label in CardKind.choices if value != "temporary"]

# The reasons a counter may cancel a card for; the others (replaced, renewed,
# type changed) are written by the hand-over of the new card.
CANCEL_REASONS = [
    (CancelReason.DEATH, CancelReason.DEATH.label),
    (CancelReason.EMIGRATION, CancelReason.EMIGRATION.label),
    (CancelReason.TRANSFER_OUT, CancelReason.TRANSFER_OUT.label),
    (CancelReason.HOLDER_REQUEST, CancelReason.HOLDER_REQUEST.label),
]


def card_label(card: Card) -> str:
    """How a card is named in a choice: number, class, bank and state as of now."""
    parts = [card.card_number or f"#{card.pk}"]
    if card.account_class:
        parts.append(str(AccountClass(card.account_class).label))
    if card.bank:
        parts.append(card.bank)
    parts.append(str(CardState(card_state(card)).label))
    return " · ".join(parts)


class CardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return card_label(obj)


class CardApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of application"), choices=APPLICATION_KINDS)
    replaces = CardChoiceField(
        label=_("Card replaced"),
        queryset=Card.objects.none(),
        required=False,
        empty_label="—",
        help_text=_("For a replacement, renewal or type change: the card the new one replaces."),
    )
    reason = forms.ChoiceField(
        label=_("Replacement reason"),
        choices=[("", "—"), *ReplacementReason.choices],
        required=False,
        help_text=_("For a replacement only. A lost card is first reported lost formally."),
    )
    account_class = forms.TypedChoiceField(
        label=_("Account class"),
        coerce=int,
        choices=AccountClass.choices,
        initial=AccountClass.II,
        help_text=_(
            "Class I: full functions, one per person per bank. Class II: limited payments "
            "(¥10,000 a day). Class III: small payments (balance at most ¥2,000)."
        ),
    )
    bank = forms.CharField(
        label=_("Bank code"), max_length=16, help_text=_("The bank's code, e.g. ICBC, ABC, BOC.")
    )
    phone = forms.CharField(label=_("Contact phone"), max_length=32)
    address = forms.CharField(label=_("Address"), max_length=200)
    photo = forms.FileField(
        label=_("Photo"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg"}),
    )
    urgent = forms.BooleanField(label=_("Urgent"), required=False)

    def __init__(
        self,
        *args: Any,
        replaceable: Any,
        counter: bool,
        issuance_days: tuple[int, int] = (12, 5),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        replaces = self.fields["replaces"]
        assert isinstance(replaces, forms.ModelChoiceField)
        replaces.queryset = replaceable
        self.fields["photo"].help_text = photo_rule()
        if counter:
            self.fields["urgent"].help_text = gettext(
                "Issued within %(urgent)d working days instead of %(normal)d."
            ) % {"normal": issuance_days[0], "urgent": issuance_days[1]}
        else:
            # Urgent issuance is decided at the counter.
            del self.fields["urgent"]

    def clean_photo(self) -> bytes | None:
        upload: UploadedFile | None = self.cleaned_data.get("photo")
        if upload is None:
            return None
        if (upload.size or 0) > PHOTO_MAX_BYTES:
            # Refused before reading a large upload into memory; the same
            # words as the service's own check.
            raise forms.ValidationError(
                _("The photo is %(size)d KB; at most %(max)d KB is accepted."),
                params={"size": (upload.size or 0) // 1024, "max": PHOTO_MAX_BYTES // 1024},
            )
        return upload.read()


# --- actions on one card -----------------------------------------------------


class CardActionForm(forms.Form):
    """An action without input; `version` is the card as the officer saw it."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("version", card.version)
        super().__init__(*args, **kwargs)


class IdentityCheckForm(CardActionForm):
    presented_id_number = forms.CharField(
        label=_("Identity number presented"),
        max_length=24,
        help_text=_("Type the number from the identity document the holder shows."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )


def under_16(birth_date: dt.date, today: dt.date) -> bool:
    age = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    return age < 16


class ActivateForm(CardActionForm):
    guardian_id_number = forms.CharField(
        label=_("Guardian's identity number"),
        max_length=24,
        required=False,
        help_text=_("The holder is under 16: a guardian activates the card with their own ID."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, card: Card, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, card=card, **kwargs)
        if not under_16(card.person.birth_date, today):
            del self.fields["guardian_id_number"]


class TemporaryLossForm(CardActionForm):
    channel = forms.ChoiceField(
        label=_("Reported"),
        choices=[("counter", _("At the counter")), ("phone", _("By phone"))],
        initial="counter",
    )


class AccountClassForm(CardActionForm):
    """A new account class; the choices are the classes below (or above) the card's."""

    account_class = forms.TypedChoiceField(label=_("New account class"), coerce=int)

    def __init__(self, *args: Any, card: Card, direction: str, **kwargs: Any) -> None:
        super().__init__(*args, card=card, **kwargs)
        field = self.fields["account_class"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = class_choices(card, direction)


def class_choices(card: Card, direction: str) -> list[tuple[int, str]]:
    """Classes below the card's ("down": a higher number) or above it ("up")."""
    if card.account_class is None:
        return []
    return [
        (value, str(label))
        for value, label in AccountClass.choices
        if (value > card.account_class if direction == "down" else value < card.account_class)
    ]


class CancelForm(CardActionForm):
    reason = forms.ChoiceField(label=_("Cancellation reason"), choices=CANCEL_REASONS)


class RejectForm(CardActionForm):
    reason = forms.CharField(
        label=_("Reason for rejection"),
        max_length=200,
        required=False,  # the service asks for it, in its own words
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- the staff list ----------------------------------------------------------


class CardSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Person or card number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Card number, ID number, its last digits or name"),
                "autocomplete": "off",
            }
        ),
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *CardState.choices]
    )
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)
