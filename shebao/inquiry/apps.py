from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class InquiryConfig(AppConfig):
    name = "shebao.inquiry"
    label = "inquiry"
    verbose_name = _("Inquiry and statements")

    def ready(self) -> None:
        from shebao.inquiry import jobs  # noqa: F401 - registers the yearly batch as a job kind

        checks.register(pdf_font_check)


def pdf_font_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn at start-up, not at the first download, when no CJK font can be embedded."""
    from shebao.inquiry.pdf import FONT_HINT, find_font

    if find_font() is None:
        return [
            checks.Warning(
                "PDF rights record statements cannot be made: no CJK font is installed.",
                hint=FONT_HINT + " `make run` and `make test` install it when they can.",
                id="inquiry.W001",
            )
        ]
    return []
