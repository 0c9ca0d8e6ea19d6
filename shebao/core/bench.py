"""`make bench`: each workload timed against a pure-database baseline that
does the same work in the same run (typically one INSERT … SELECT), so the
ratio says what the application adds on top of the database.

Workloads run in a scratch database (Django's test database for the
configured engine), never in the live one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Measurement:
    workload: str
    rows: int
    seconds: float
    baseline: str
    baseline_seconds: float
    goal: str = ""

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else float("inf")

    def line(self) -> str:
        return (
            f"{self.workload:<44} {self.rows:>9,} rows {self.seconds:>8.2f}s   "
            f"baseline {self.baseline_seconds:>7.3f}s ({self.baseline})   "
            f"ratio {self.ratio:>7.1f}×" + (f"   goal: {self.goal}" if self.goal else "")
        )


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started
