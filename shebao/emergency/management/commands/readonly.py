from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.core import maintenance
from shebao.core.errors import DomainError
from shebao.emergency.management.commands._actor import actor_of, add_actor
from shebao.emergency.services import read_only_enter, read_only_leave


class Command(BaseCommand):
    help = (
        "Read-only maintenance mode: `shebao readonly on --reason TEXT`, `shebao readonly off`, "
        "`shebao readonly status`. Inquiries keep working; every write is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["on", "off", "status"])
        parser.add_argument("--reason", default="", help="shown to users, e.g. 'database restore'")
        add_actor(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["what"] == "on":
                read_only_enter(actor=actor_of(options["username"]), reason=options["reason"])
            elif options["what"] == "off":
                read_only_leave(actor=actor_of(options["username"]))
        except DomainError as error:
            raise CommandError(
                f"{error.field + ': ' if error.field else ''}{error.message}"
            ) from None
        state = maintenance.read_only_state()
        if state is None:
            self.stdout.write("writable")
        else:
            self.stdout.write(
                f"read-only since {state.get('since')} by {state.get('by')}: {state.get('reason')}"
            )
