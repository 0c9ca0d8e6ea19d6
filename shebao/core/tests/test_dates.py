import datetime as dt

from shebao.core.dates import add_months, add_years


def test_it_adds_years_and_keeps_leap_days_in_february():
    assert add_years(dt.date(2024, 2, 29), 10) == dt.date(2034, 2, 28)
    assert add_years(dt.date(2024, 2, 29), 4) == dt.date(2028, 2, 29)
    assert add_years(dt.date(2026, 11, 27), 10) == dt.date(2036, 11, 27)


def test_it_adds_months_clamped_to_the_last_day():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 15), -12) == dt.date(2025, 11, 15)
