from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.audit.models import NATIONAL_CHAIN
from shebao.audit.nightly import national_chain_check, nightly_run, yesterday
from shebao.core.errors import DomainError
from shebao.registry.models import Area


class Command(BaseCommand):
    help = (
        "The nightly internal-control run: verify the audit chains, reconcile cards, stock "
        "and fees, and raise alerts, for one day (default yesterday). Run again for the same "
        "day, it leaves the same records. Exits with an error when a chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", help="area code (default: every area and the national chain)")
        parser.add_argument(
            "--day", type=dt.date.fromisoformat, help="the day, YYYY-MM-DD (default yesterday)"
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="the user running it (recorded in the audit chain); default 'system'",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["username"]:
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"--as {options['username']}: no such active user")
        day = options["day"] or yesterday()
        if options["area"]:
            areas = list(Area.objects.filter(code=options["area"]))
            if not areas:
                raise CommandError(f"--area {options['area']}: no such area")
        else:
            areas = list(Area.objects.order_by("code"))
        broken: list[str] = []
        try:
            for area in areas:
                report = nightly_run(actor=actor, area=area, day=day)
                self.stdout.write(report.summary())
                if not report.ok:
                    broken.append(area.code)
            if not options["area"]:
                national = national_chain_check(day=day)
                self.stdout.write(
                    f"{NATIONAL_CHAIN} {day}: chain "
                    + (f"intact, {national.checked} events" if national.ok else "BROKEN")
                )
                if not national.ok:
                    broken.append(NATIONAL_CHAIN)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error}") from None
        if broken:
            raise CommandError(f"audit chain broken: {', '.join(broken)}")
