"""`make bench` runs every app's workloads in one scratch database: each bench
module builds its data in an area of its own, or the second to build one fails."""

from __future__ import annotations

from django.apps import apps

from shebao.core.management.commands.bench import bench_modules
from shebao.registry.demo import DEMO_AREA_CODE


def test_every_bench_module_has_an_area_of_its_own():
    areas = {
        module.__name__: module.BENCH_AREA
        for config in apps.get_app_configs()
        if config.name.startswith("shebao.")
        for module in bench_modules(config)
    }
    assert len(areas) >= 5, areas
    assert len(set(areas.values())) == len(areas), areas
    assert DEMO_AREA_CODE not in areas.values()
