from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `shebao audit verify` walks every hash chain and reports breaks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        checked, breaks = audit_verify()
        if breaks:
            for broken in breaks:
                self.stderr.write(str(broken))
            raise CommandError(
                f"audit chain broken ({len(breaks)} chain(s)); {checked} events intact"
            )
        self.stdout.write(f"audit chain intact: {checked} events verified")
