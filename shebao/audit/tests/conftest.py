"""Fixtures of the internal-control tests: a clock to stand at a given local time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dt.datetime]:
    """`clock("2026-11-25 21:30")` sets the time (Asia/Shanghai) for everything that asks."""

    def at(local: str) -> dt.datetime:
        # In UTC, as Django's own clock gives it (the audit hash covers the offset).
        moment = timezone.make_aware(dt.datetime.fromisoformat(local)).astimezone(dt.UTC)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return at


@pytest.fixture
def auditor_b(area: Any) -> Any:
    """A second auditor of area A: handles what concerns the first."""
    from conftest import make_user
    from shebao.accounts.roles import Role

    return make_user("auditor2", Role.AUDITOR, area)
