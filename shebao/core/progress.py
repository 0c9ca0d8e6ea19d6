"""Progress for long jobs (imports, demo data, billing runs).

A job reports `advance(n)`; the reporter prints a bar with rate and estimated
time left to a terminal, at most a few times a second, and stays silent for
jobs that finish within a second.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO


class Progress:
    def __init__(
        self, label: str, total: int, *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.monotonic()
        self.last_drawn = 0.0
        self.drawn = False
        # On a terminal the bar redraws in place; in a log, a line every few seconds.
        self.interval = 0.25 if getattr(self.stream, "isatty", lambda: False)() else 5.0
        self.end = "\r" if self.interval < 1 else "\n"

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.drawn:
            self.draw(final=True)
            if self.end == "\r":
                self.stream.write("\n")
            self.stream.flush()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self.started >= 1.0 and now - self.last_drawn >= self.interval:
            self.draw()
            self.last_drawn = now

    def draw(self, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        width = 30
        filled = int(width * min(fraction, 1.0))
        bar = "█" * filled + "·" * (width - filled)
        if final:
            tail = f"{elapsed:.1f}s"
        else:
            left = (self.total - self.done) / rate if rate else 0
            tail = f"{left:.0f}s left"
        line = (
            f"{self.label} [{bar}] {self.done:,}/{self.total:,} {fraction:6.1%} "
            f"{rate:,.0f}/s {tail}"
        )
        self.stream.write(f"\r{line}   " if self.end == "\r" else f"{line}\n")
        self.stream.flush()
        self.drawn = True
