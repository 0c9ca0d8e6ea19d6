from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.core.errors import DomainError
from shebao.inquiry.services import CHUNK_SIZE, statement_batch_run
from shebao.registry.models import Area


class Command(BaseCommand):
    help = (
        "Make the yearly personal rights record statements of an area: "
        "`shebao statements --area 320100 --year 2025 [--as USER]`. Re-runnable: persons "
        "who have the year's statement are skipped, so an interrupted run is completed by "
        "running it again. Without --as the run is the system's (a scheduled job)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", required=True)
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument(
            "--as",
            dest="username",
            help="the contributions officer or area administrator running it",
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            area = Area.objects.get(code=options["area"])
            actor = (
                User.objects.get(username=options["username"], is_active=True)
                if options["username"]
                else None
            )
        except (Area.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from None
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            batch = statement_batch_run(
                actor=actor,
                area=area,
                year=options["year"],
                chunk_size=options["chunk_size"],
                progress=True,
                stream=self.stderr,
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{area} {batch.year}: {batch.done} of {batch.total} persons have the year's statement"
        )
