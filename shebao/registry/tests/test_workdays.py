"""An area's working days: weekdays less public holidays plus make-up days."""

from __future__ import annotations

import datetime as dt

from shebao.registry.workdays import WorkCalendar

# National Day 2026: Thursday 1 and Friday 2 October off, Saturday 10 October worked.
NATIONAL_DAY = WorkCalendar(
    weekdays=frozenset({1, 2, 3, 4, 5}),
    holidays=frozenset({dt.date(2026, 10, 1), dt.date(2026, 10, 2)}),
    makeup_days=frozenset({dt.date(2026, 10, 10)}),
)


def test_holidays_are_off_and_makeup_days_worked():
    assert not NATIONAL_DAY.is_working(dt.date(2026, 10, 1))  # Thursday, holiday
    assert NATIONAL_DAY.is_working(dt.date(2026, 9, 30))  # Wednesday
    assert not NATIONAL_DAY.is_working(dt.date(2026, 10, 3))  # Saturday
    assert NATIONAL_DAY.is_working(dt.date(2026, 10, 10))  # Saturday worked in its place


def test_working_days_are_counted_past_holidays_and_weekends():
    # From Wednesday 30 September: Mon 5, Tue 6, ..., Fri 9, Sat 10 (make-up day).
    assert NATIONAL_DAY.after(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 5)
    assert NATIONAL_DAY.after(dt.date(2026, 9, 30), 6) == dt.date(2026, 10, 10)
    assert NATIONAL_DAY.after(dt.date(2026, 9, 30), 7) == dt.date(2026, 10, 12)
