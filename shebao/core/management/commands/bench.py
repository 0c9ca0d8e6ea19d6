from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from shebao.core.bench import Measurement


def bench_modules(config: AppConfig) -> list[ModuleType]:
    """An app's `bench` module and its `bench_*` modules that define `workloads()`."""
    names = sorted(
        found.name
        for found in pkgutil.iter_modules(config.module.__path__)  # type: ignore[union-attr]
        if found.name == "bench" or found.name.startswith("bench_")
    )
    modules = [importlib.import_module(f"{config.name}.{name}") for name in names]
    return [module for module in modules if hasattr(module, "workloads")]


class Command(BaseCommand):
    help = (
        "Time each app's workloads (the `workloads()` of its bench module) against "
        "pure-database baselines, in a scratch database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Multiply every workload's row count (0.1 for a quick run).",
        )
        parser.add_argument(
            "--only",
            default="",
            help="Run only workloads whose name contains this (several: comma-separated).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor == "sqlite":
            # A file, not memory: the figures should be those of the real engine.
            connection.settings_dict["TEST"]["NAME"] = str(settings.VAR_DIR / "bench.sqlite3")
        creation = connection.creation
        original = connection.settings_dict["NAME"]
        # No serialized copy: nothing here rolls back to the initial data.
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
        wanted = [part for part in options["only"].split(",") if part]
        try:
            self.stdout.write(f"engine: {connection.vendor}")
            for config in apps.get_app_configs():
                if not config.name.startswith("shebao."):
                    continue
                for module in bench_modules(config):
                    for workload in module.workloads(options["scale"], connection.vendor):
                        name = getattr(workload, "func", workload).__name__
                        if wanted and not any(part in name for part in wanted):
                            continue
                        measurement: Measurement = workload()
                        self.stdout.write(measurement.line())
        finally:
            creation.destroy_test_db(original, verbosity=0)
