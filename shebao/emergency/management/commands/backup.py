from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.core.errors import DomainError
from shebao.emergency import backup as backups
from shebao.emergency.management.commands._actor import actor_of, add_actor
from shebao.emergency.services import backup_run


class Command(BaseCommand):
    help = (
        "Back up the database and prove the copy restorable: `shebao backup` (create and "
        "verify), `shebao backup verify FILE`, `shebao backup list`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "what", nargs="?", default="create", choices=["create", "verify", "list"]
        )
        parser.add_argument("file", nargs="?", help="the backup file to verify")
        parser.add_argument(
            "--to", type=Path, help="directory for the backup (default var/backups)"
        )
        add_actor(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["what"] == "list":
                for path, manifest in backups.backups(options["to"]):
                    ok = manifest.verification.get("ok")
                    state = "verified" if ok else ("FAILED" if ok is False else "unverified")
                    self.stdout.write(f"{manifest.created_at}  {state:10}  {path}")
                return
            if options["what"] == "verify":
                if not options["file"]:
                    raise CommandError("shebao backup verify FILE: name the backup file")
                manifest = backups.backup_verify(Path(options["file"]))
                path = Path(options["file"])
            else:
                path, manifest = backup_run(actor=actor_of(options["username"]), to=options["to"])
        except DomainError as error:
            raise CommandError(error.message) from None
        check = manifest.verification
        self.stdout.write(
            f"{path}\n  sha256 {manifest.sha256}\n  {check.get('tables')} tables, "
            f"{check.get('rows'):,} rows; audit chains {len(manifest.audit_heads)}"
        )
        if not check.get("ok"):
            raise CommandError(
                f"verification FAILED: counts differ in {check.get('count_differences')}, "
                f"audit heads equal: {check.get('audit_heads_equal')}"
            )
        self.stdout.write(
            self.style.SUCCESS("  restored into a scratch database: counts and audit heads equal")
        )
