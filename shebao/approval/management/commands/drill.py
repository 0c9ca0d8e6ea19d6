from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shebao.accounts.models import User
from shebao.approval.models import DrillKind, DrillOutcome
from shebao.approval.selectors import drills_for
from shebao.approval.services import drill_record
from shebao.core.errors import DomainError
from shebao.registry.selectors import area_get


class Command(BaseCommand):
    help = (
        "Emergency drills, the evidence of condition (d) for area approval: "
        "`shebao drill record --as ADMIN --kind backup_restore --outcome passed "
        "--evidence TEXT [--done-at 2026-11-28T10:00] [--area CODE]`, "
        "`shebao drill list --as USER`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        record = sub.add_parser("record", help="record a drill the area did")
        record.add_argument("--as", dest="username", required=True, help="the area administrator")
        record.add_argument("--area", help="area code (default: the user's area)")
        record.add_argument("--kind", required=True, choices=DrillKind.values)
        record.add_argument("--outcome", required=True, choices=DrillOutcome.values)
        record.add_argument("--evidence", required=True, help="what was done and what it showed")
        record.add_argument(
            "--done-at",
            type=dt.datetime.fromisoformat,
            help="when the drill was done, ISO 8601 local time (default: now)",
        )
        listing = sub.add_parser("list", help="the drills the user may see, newest first")
        listing.add_argument("--as", dest="username", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {options['username']!r}")
        try:
            if options["action"] == "list":
                for drill in drills_for(actor)[:100]:
                    self.stdout.write(
                        f"{timezone.localtime(drill.done_at):%Y-%m-%d %H:%M}  {drill.area_id}  "
                        f"{drill.kind:15} {drill.outcome:7} {drill.by.username}: {drill.evidence}"
                    )
                return
            area = area_get(actor, options["area"] or actor.area_id or "")
            drill = drill_record(
                actor=actor,
                area=area,
                kind=options["kind"],
                done_at=options["done_at"] or timezone.now(),
                outcome=options["outcome"],
                evidence=options["evidence"],
            )
        except DomainError as error:
            raise CommandError(f"{error.code}: {error}") from None
        self.stdout.write(
            f"drill #{drill.pk} recorded: {drill.area_id} {drill.kind} {drill.outcome} "
            f"{timezone.localtime(drill.done_at):%Y-%m-%d %H:%M}"
        )
