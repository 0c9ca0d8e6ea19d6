from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.inquiry.pdf import FONT_CANDIDATES, FONT_HINT, find_font


class Command(BaseCommand):
    help = (
        "Check that a CJK font can be embedded in PDF statements and print its path "
        "(SHEBAO_PDF_FONT, or the first of the usual Debian fonts found); exits 1 otherwise."
    )
    requires_system_checks: list[str] = []  # this command is the check

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="print nothing when found")

    def handle(self, *args: Any, **options: Any) -> None:
        path = find_font()
        if path is None:
            looked = (
                f"SHEBAO_PDF_FONT={settings.PDF_FONT} is not a file"
                if settings.PDF_FONT
                else f"none of {', '.join(FONT_CANDIDATES)} exists"
            )
            raise CommandError(f"No CJK font for PDF statements: {looked}. {FONT_HINT}")
        if not options["quiet"]:
            self.stdout.write(str(path))
