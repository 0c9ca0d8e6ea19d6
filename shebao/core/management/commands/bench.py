from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from shebao.registry.bench import bench_audited_registration, bench_demo_load


class Command(BaseCommand):
    help = "Time the workloads against pure-database baselines in a scratch database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=100_000)
        parser.add_argument("--registrations", type=int, default=2_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor == "sqlite":
            # A file, not memory: the figures should be those of the real engine.
            connection.settings_dict["TEST"]["NAME"] = str(settings.VAR_DIR / "bench.sqlite3")
        creation = connection.creation
        original = connection.settings_dict["NAME"]
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            self.stdout.write(f"engine: {connection.vendor}")
            for measurement in (
                bench_demo_load(options["persons"]),
                bench_audited_registration(options["registrations"]),
            ):
                self.stdout.write(measurement.line())
        finally:
            creation.destroy_test_db(original, verbosity=0)
