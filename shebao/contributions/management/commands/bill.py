from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.contributions.billing import bill_run
from shebao.core.errors import DomainError
from shebao.registry.models import Area


def month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").replace(tzinfo=dt.UTC).date()
    except ValueError:
        raise CommandError(f"--period {text!r}: give the month as YYYY-MM, e.g. 2026-10") from None


class Command(BaseCommand):
    help = "Bill an area's month: `shebao bill --area 320100 --period 2026-10 --as USER`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", required=True)
        parser.add_argument("--period", required=True, type=month)
        parser.add_argument(
            "--as",
            dest="username",
            required=True,
            help="the contributions officer or area administrator running it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            area = Area.objects.get(code=options["area"])
            actor = User.objects.get(username=options["username"], is_active=True)
        except (Area.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from None
        try:
            run = bill_run(
                actor=actor, area=area, period=options["period"], progress=True, stream=self.stderr
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{area} {options['period']:%Y-%m}: {run.bills_created} new bills, "
            f"{run.lines_added} lines added"
        )
