"""Read-only maintenance mode (emergency plan): inquiries work, writes are refused.

The switch is a small file under var/ rather than a database row, so that it
holds while the database itself is being restored or repaired, and every web
worker and command sees it at once. Every write of the system passes through
`audit_record` in its transaction, which calls `check_writable()`; the web
middleware refuses unsafe requests before they reach a view. Entering and
leaving the mode are themselves audited (they are the writes allowed in it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.core.errors import ReadOnlyMode

# The actions that may be recorded while the system is read-only.
ALLOWED_ACTIONS = frozenset(
    {
        "emergency.read_only.enter",
        "emergency.read_only.leave",
        "emergency.backup",
        "emergency.verify",
        "emergency.restore",
    }
)

# Set while the emergency plan's own background jobs (backing up, verifying,
# restoring) are submitted and ended, so that their bookkeeping is recorded in
# read-only mode too: those jobs are what the mode is for.
_emergency_work: ContextVar[bool] = ContextVar("shebao_emergency_work", default=False)


@contextmanager
def emergency_work(active: bool = True) -> Iterator[None]:
    token = _emergency_work.set(active)
    try:
        yield
    finally:
        _emergency_work.reset(token)


_cache: tuple[Path | None, float, dict[str, Any] | None] = (None, -1.0, None)


def flag_path() -> Path:
    return Path(
        getattr(settings, "SHEBAO_READ_ONLY_FLAG", "") or settings.VAR_DIR / "read-only.json"
    )


def read_only_state() -> dict[str, Any] | None:
    """The mode's reason, start and who switched it on; None when writable.

    One stat() per call; the file is read again only when it changed.
    """
    global _cache
    path = flag_path()
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    if (path, mtime) != _cache[:2]:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {"reason": "", "since": "", "by": ""}  # unreadable: still read-only
        _cache = (path, mtime, state)
    return _cache[2]


def refusal() -> ReadOnlyMode:
    state = read_only_state() or {}
    return ReadOnlyMode(
        _(
            "The system is in read-only maintenance mode (%(reason)s): you can look things up, "
            "but nothing can be changed now. Try again when maintenance is over."
        ),
        code="read_only",
        params={"reason": state.get("reason") or _("maintenance")},
        detail={"since": state.get("since", "")},
    )


def check_writable(action: str = "") -> None:
    """Raise ReadOnlyMode when the system is read-only (but for the mode's own switches)."""
    if action in ALLOWED_ACTIONS or _emergency_work.get():
        return
    if read_only_state() is not None:
        raise refusal()


def write_flag(*, reason: str, by: str) -> dict[str, Any]:
    state = {"reason": reason, "since": timezone.now().isoformat(), "by": by}
    path = flag_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)  # atomic: a reader sees the old state or the new one
    return state


def remove_flag() -> None:
    flag_path().unlink(missing_ok=True)
