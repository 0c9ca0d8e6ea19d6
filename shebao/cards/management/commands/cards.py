from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from shebao.cards.lifecycle import markdown_table

LIFECYCLE_DOC = Path(settings.PROJECT_DIR) / "docs" / "cards-lifecycle.md"


class Command(BaseCommand):
    help = "Card tools. `shebao cards lifecycle` writes docs/cards-lifecycle.md from the table."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("lifecycle", help="write the lifecycle table to docs/cards-lifecycle.md")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "lifecycle":
            LIFECYCLE_DOC.write_text(markdown_table(), encoding="utf-8")
            self.stdout.write(f"wrote {LIFECYCLE_DOC}")
