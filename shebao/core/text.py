"""Checks of free-text input shared by every service."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from shebao.core.errors import InvalidInput


def required_text(value: str | None, field: str, *, max_length: int) -> str:
    """The stripped text, or InvalidInput naming the field when empty or too long."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(_("This field is required."), code="required", field=field)
    if len(text) > max_length:
        raise InvalidInput(
            _("At most %(max)d characters are allowed, got %(length)d."),
            code="too_long",
            field=field,
            params={"max": max_length, "length": len(text)},
        )
    return text
