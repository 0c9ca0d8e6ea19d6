"""An area's working days: its working weekdays, less its public holidays, plus
the weekend days worked in their place (调休), all area settings in force on
the day asked about. Used by the out-of-hours alerts and by the card issuance
time limit, which counts working days.

Holidays and make-up days are lists of dates (`2026-10-01,2026-10-02`),
published by the State Council each year and entered by the area as a new
setting value from the 1st of January.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shebao.registry.area_settings import parse_dates, parse_weekdays
from shebao.registry.selectors import area_setting


@dataclass(frozen=True)
class WorkCalendar:
    weekdays: frozenset[int]  # ISO 1 (Monday) – 7
    holidays: frozenset[dt.date]
    makeup_days: frozenset[dt.date]

    @classmethod
    def of(cls, area_code: str, on: dt.date) -> WorkCalendar:
        """The area's calendar as its settings stand on `on`."""

        def read(key: str) -> str:
            return str(area_setting(area_code, key, on=on))

        return cls(
            parse_weekdays("working_days", read("working_days")),
            parse_dates("public_holidays", read("public_holidays")),
            parse_dates("makeup_working_days", read("makeup_working_days")),
        )

    def is_working(self, day: dt.date) -> bool:
        if day in self.makeup_days:
            return True
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def after(self, day: dt.date, count: int) -> dt.date:
        """The day `count` working days after `day`."""
        while count > 0:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                count -= 1
        return day
