from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.contributions.personal import CHUNK_SIZE, interest_credit
from shebao.core.errors import DomainError
from shebao.registry.models import Area


class Command(BaseCommand):
    help = (
        "Credit a year's interest to the personal pension accounts of an area: "
        "`shebao credit_interest --year 2024 [--area 320100] --as USER`. Re-runnable: "
        "accounts that have the year's interest are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--area", help="the area's code; by default the acting user's area")
        parser.add_argument(
            "--as",
            dest="username",
            required=True,
            help="the contributions officer or area administrator running it",
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist as error:
            raise CommandError(str(error)) from None
        code = options["area"] or actor.area_id
        if code is None:
            raise CommandError("--area is required: the acting user belongs to no area")
        try:
            area = Area.objects.get(code=code)
        except Area.DoesNotExist as error:
            raise CommandError(str(error)) from None
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            result = interest_credit(
                actor=actor,
                area=area,
                year=options["year"],
                chunk_size=options["chunk_size"],
                progress=True,
                stream=self.stderr,
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result.message)
