from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.cards import production
from shebao.cards.lifecycle import markdown_table
from shebao.core.errors import DomainError
from shebao.registry.selectors import area_get

LIFECYCLE_DOC = Path(settings.PROJECT_DIR) / "docs" / "cards-lifecycle.md"


class Command(BaseCommand):
    help = (
        "Card tools. `shebao cards lifecycle` writes docs/cards-lifecycle.md from the table; "
        "the other actions work on production batches and outlet stock as the user named "
        "with --as (docs/production-files.md describes the files)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("lifecycle", help="write the lifecycle table to docs/cards-lifecycle.md")

        def acting(name: str, help: str) -> ArgumentParser:
            command = sub.add_parser(name, help=help)
            command.add_argument(
                "--as", dest="username", required=True, help="the user the action is done as"
            )
            return command

        freeze = acting("freeze-batch", "emergency freeze of a batch and all its cards")
        freeze.add_argument("number", help="batch number, e.g. 320100-20261127-001")
        freeze.add_argument("--reason", required=True)
        release = acting("release-batch", "lift a batch freeze")
        release.add_argument("number")
        seal = acting("seal-unclaimed", "seal cards unclaimed at outlets past the area's months")
        seal.add_argument("--area", help="area code (default: the user's area)")
        export = acting("export", "write a batch's production file for the vendor")
        export.add_argument("number")
        export.add_argument("--format", choices=production.FILE_FORMATS, default="csv")
        export.add_argument("--output", required=True, help="file to write")
        result = acting("import", "record the vendor's result file of a batch")
        result.add_argument("number")
        result.add_argument("file", help="the result file")
        result.add_argument("--format", choices=production.FILE_FORMATS, default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "lifecycle":
            LIFECYCLE_DOC.write_text(markdown_table(), encoding="utf-8")
            self.stdout.write(f"wrote {LIFECYCLE_DOC}")
            return
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {options['username']!r}")
        run = {
            "freeze-batch": self.freeze_batch,
            "release-batch": self.release_batch,
            "seal-unclaimed": self.seal_unclaimed,
            "export": self.export,
            "import": self.import_results,
        }[action]
        try:
            run(actor, options)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error}") from None

    def freeze_batch(self, actor: User, options: dict[str, Any]) -> None:
        batch = production.batch_find(actor, options["number"])
        production.batch_freeze(actor=actor, batch=batch, reason=options["reason"])
        self.stdout.write(f"batch {batch.number} frozen: {batch.frozen_reason}")

    def release_batch(self, actor: User, options: dict[str, Any]) -> None:
        batch = production.batch_find(actor, options["number"])
        production.batch_release(actor=actor, batch=batch)
        self.stdout.write(f"batch {batch.number} released")

    def seal_unclaimed(self, actor: User, options: dict[str, Any]) -> None:
        code = options["area"] or actor.area_id
        if not code:
            raise CommandError("name the area with --area")
        area = area_get(actor, code)
        sealed = production.cards_seal_unclaimed(actor=actor, area=area)
        self.stdout.write(f"area {area.code}: {sealed} unclaimed cards sealed")

    def export(self, actor: User, options: dict[str, Any]) -> None:
        batch = production.batch_find(actor, options["number"])
        stream = production.batch_export(actor=actor, batch=batch, file_format=options["format"])
        output = Path(options["output"])
        with output.open("w", encoding="utf-8", newline="") as out:
            for piece in stream:
                out.write(piece)
        self.stdout.write(f"batch {batch.number}: production file written to {output}")

    def import_results(self, actor: User, options: dict[str, Any]) -> None:
        batch = production.batch_find(actor, options["number"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no file {path}")
        report = production.batch_import(
            actor=actor, batch=batch, data=path.read_bytes(), file_format=options["format"]
        )
        self.stdout.write(
            f"batch {batch.number}: {report.rows} rows, produced {report.produced}, "
            f"failed {report.failed} (back in the queue), unchanged {report.unchanged}, "
            f"rejected {len(report.rejected)}" + (" — batch completed" if report.completed else "")
        )
        for rejection in report.rejected:
            self.stdout.write(
                f"  line {rejection.line}: record {rejection.record_id or '-'}: "
                f"{rejection.code}: {rejection.message}"
            )
