from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.core.errors import DomainError
from shebao.emergency.management.commands._actor import actor_of, add_actor
from shebao.emergency.services import restore_run


class Command(BaseCommand):
    help = (
        "Replace the database's contents with a verified backup: "
        "`shebao readonly on --reason ...`, then `shebao restore FILE --yes`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--yes", action="store_true", help="confirm: the current data is replaced"
        )
        add_actor(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError(
                "restoring replaces every record now in the database; add --yes to confirm"
            )
        try:
            manifest = restore_run(actor=actor_of(options["username"]), path=options["file"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {options['file']} ({sum(manifest.counts.values()):,} rows, made "
                f"{manifest.created_at}); leave read-only mode with `shebao readonly off`"
            )
        )
