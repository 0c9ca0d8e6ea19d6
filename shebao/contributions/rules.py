"""The pure rules of contributions, benefits and pensions (DOMAIN.md §3–4).

Plain functions of values: no database, no settings, no clock. Services
read the area settings and policy tables and pass the figures in; these
functions say what the law makes of them, so each can be tested against the
worked examples alone.

Conventions:
- Money and rates are `Decimal`, never float; a float argument is refused.
  Rates are fractions: 8% is `Decimal("0.08")`, 0.05% is `Decimal("0.0005")`.
- Money results are rounded once, half up, to the cent (`to_cents`), at the
  end of each line's computation; intermediate products stay exact.
- A month is the `datetime.date` of its first day (2025-07 is
  `date(2025, 7, 1)`), the same type as every other date in the project.

Legal basis: the Social Insurance Law of the PRC (2010, amended 2018), cited
as SIL; the Standing Committee's decision on gradually raising the statutory
retirement age (2024-09-13, in force 2025-01-01), cited as "the 2025 reform";
State Council decision Guofa [2005] No. 38 for the pension formula and the
payout months table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from shebao.core.errors import InvalidInput

CENT = Decimal("0.01")


class RuleInputError(InvalidInput, ValueError):
    """A figure outside what the rule allows (e.g. risk class 9).

    An `InvalidInput` for the API and the portals, and a `ValueError` for
    callers that treat these functions as plain Python.
    """


def to_cents(amount: Decimal) -> Decimal:
    """Round money half up to the cent: 0.005 → 0.01, 0.004 → 0.00."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any, field: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    """`value` as a finite Decimal not below `minimum`; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{field} must be a Decimal (or int), got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise RuleInputError(
            _("%(field)s must be a finite number."),
            code="not_finite",
            field=field,
            params={"field": field},
        )
    if minimum is not None and number < minimum:
        raise RuleInputError(
            _("%(field)s must be at least %(minimum)s, got %(value)s."),
            code="below_minimum",
            field=field,
            params={"field": field, "minimum": minimum, "value": number},
        )
    return number


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int, got {type(value).__name__}")
    return value


# --- §3 Contributions -------------------------------------------------------


def contribution_base(
    *,
    own_average_wage: Decimal,
    area_average_wage: Decimal,
    floor_ratio: Decimal = Decimal("0.6"),
    ceiling_ratio: Decimal = Decimal("3"),
) -> Decimal:
    """The monthly contribution base: own wage clamped to 60%–300% of the area's.

    Basis: SIL art. 12 (pension contributions on the wage) with the national
    practice, set per area and effective-dated, of a floor of 60% and a
    ceiling of 300% of the area's average monthly wage of the year; the
    ratios are area settings and come in as arguments.

    Method: own average monthly wage of the previous year, raised to the
    floor or cut to the ceiling, then rounded half up to the cent (an area
    average of 8,123.45 gives a floor of 4,874.07). Average 8,000: wage 3,000
    → 4,800.00; 30,000 → 24,000.00; 9,000 → 9,000.00.
    """
    own = _decimal(own_average_wage, "own_average_wage")
    area = _decimal(area_average_wage, "area_average_wage", minimum=CENT)
    floor = _decimal(floor_ratio, "floor_ratio")
    ceiling = _decimal(ceiling_ratio, "ceiling_ratio", minimum=floor)
    return to_cents(min(max(own, area * floor), area * ceiling))


def contribution_amount(*, base: Decimal, rate: Decimal) -> Decimal:
    """One line of a bill: base × rate, rounded half up to the cent.

    Basis: SIL arts. 10–12 (pension), 23 (medical), 33 (work injury),
    44 (unemployment); the rates come from the policy tables. Each line is
    rounded on its own, never the sum. Base 9,000: individual pension 8% →
    720.00; employer pension 16% → 1,440.00.
    """
    amount = _decimal(base, "base")
    fraction = _decimal(rate, "rate")
    if fraction > 1:
        raise RuleInputError(
            _("A rate is a fraction of the base (8%% is 0.08); got %(rate)s."),
            code="rate_above_one",
            field="rate",
            params={"rate": fraction},
        )
    return to_cents(amount * fraction)


ASSESSMENT_FACTOR = Decimal("1.1")


def assessed_amount(previous_month_amount: Decimal) -> Decimal:
    """The amount assessed for a month the employer did not declare.

    Basis: SIL art. 62: 110% of the previous month's amount, settled when
    the declaration arrives. Rounded half up to the cent. Previous month
    20,000 → 22,000.00.
    """
    previous = _decimal(previous_month_amount, "previous_month_amount")
    return to_cents(previous * ASSESSMENT_FACTOR)


LATE_FEE_DAILY_RATE = Decimal("0.0005")


def late_fee_days(*, overdue_from: dt.date, paid_on: dt.date) -> int:
    """The days a late fee runs: `(paid_on - overdue_from).days`, never negative.

    `overdue_from` is the first day the amount is overdue (the day after the
    due date). That day counts; the day of payment does not, so money that
    is overdue from 1 March and paid on 31 March is late for 30 days, and
    money paid on the day it became overdue (or before) owes no fee.
    """
    return max((paid_on - overdue_from).days, 0)


def late_fee(
    *,
    overdue_amount: Decimal,
    overdue_from: dt.date,
    paid_on: dt.date,
    daily_rate: Decimal = LATE_FEE_DAILY_RATE,
) -> Decimal:
    """The late fee on arrears: 0.05% of the amount per day overdue.

    Basis: SIL art. 86: "from the day the amount became overdue, a late fee
    of 0.05% per day". Simple (not compound) on the overdue amount, days
    counted by `late_fee_days`, rounded half up to the cent once.
    10,000 overdue from 2024-03-01, paid 2024-03-31 (30 days) → 150.00.
    Fines under arts. 84 and 86 are decisions, recorded, not computed here.
    """
    amount = _decimal(overdue_amount, "overdue_amount")
    rate = _decimal(daily_rate, "daily_rate")
    days = late_fee_days(overdue_from=overdue_from, paid_on=paid_on)
    return to_cents(amount * rate * days)


# Industry risk classes 1–8 (national work-injury rate notice, 2015).
WORK_INJURY_BASE_RATES: dict[int, Decimal] = {
    1: Decimal("0.002"),
    2: Decimal("0.004"),
    3: Decimal("0.007"),
    4: Decimal("0.009"),
    5: Decimal("0.011"),
    6: Decimal("0.013"),
    7: Decimal("0.016"),
    8: Decimal("0.019"),
}
# Class 1 may only float up; classes 2–8 up or down, in these steps.
WORK_INJURY_FLOAT_FACTORS_CLASS_1 = frozenset({Decimal("1"), Decimal("1.2"), Decimal("1.5")})
WORK_INJURY_FLOAT_FACTORS = frozenset(
    {Decimal("0.5"), Decimal("0.8"), Decimal("1"), Decimal("1.2"), Decimal("1.5")}
)


def work_injury_rate(*, risk_class: int, float_factor: Decimal = Decimal("1")) -> Decimal:
    """The employer's work-injury rate: the class's base rate × its float.

    Basis: SIL arts. 33–34 (rates by industry risk, floating by the employer's
    injury record) and the 2015 national notice: base rates 0.2, 0.4, 0.7,
    0.9, 1.1, 1.3, 1.6, 1.9% for classes 1–8. Class 1 may float up to 120%
    or 150%; classes 2–8 up to 120%/150% or down to 80%/50%. Any other
    class or factor is refused. Returned exact (class 4 at 80% → 0.0072).
    """
    level = _integer(risk_class, "risk_class")
    if level not in WORK_INJURY_BASE_RATES:
        raise RuleInputError(
            _("Risk class must be 1 to 8, got %(risk_class)s."),
            code="risk_class_unknown",
            field="risk_class",
            params={"risk_class": level},
        )
    factor = _decimal(float_factor, "float_factor")
    allowed = WORK_INJURY_FLOAT_FACTORS_CLASS_1 if level == 1 else WORK_INJURY_FLOAT_FACTORS
    if factor not in allowed:
        raise RuleInputError(
            _("Risk class %(risk_class)s may float only by %(allowed)s, got %(factor)s."),
            code="float_factor_not_allowed",
            field="float_factor",
            params={
                "risk_class": level,
                "allowed": ", ".join(str(f) for f in sorted(allowed)),
                "factor": factor,
            },
        )
    return WORK_INJURY_BASE_RATES[level] * factor


# --- §4 Retirement, pension, benefits --------------------------------------


class RetirementScheme(StrEnum):
    """The three statutory retirement ages the 2025 reform raises."""

    MAN = "man"  # 60 → 63
    WOMAN_55 = "woman_55"  # women in managerial/technical posts: 55 → 58
    WOMAN_50 = "woman_50"  # women workers: 50 → 55


@dataclass(frozen=True)
class _Reform:
    old_age_years: int
    first_cohort: dt.date  # first birth month whose age rises (turns old age in 2025-01)
    cohort_months_per_step: int  # birth months that share one step of one month
    max_delay_months: int


REFORMS: dict[RetirementScheme, _Reform] = {
    RetirementScheme.MAN: _Reform(60, dt.date(1965, 1, 1), 4, 36),
    RetirementScheme.WOMAN_55: _Reform(55, dt.date(1970, 1, 1), 4, 36),
    RetirementScheme.WOMAN_50: _Reform(50, dt.date(1975, 1, 1), 2, 60),
}


@dataclass(frozen=True)
class Retirement:
    """When a person reaches the statutory retirement age, and at what age."""

    month: dt.date  # first day of the retirement month
    age_years: int
    age_months: int  # 0–11, on top of age_years

    @property
    def age_in_months(self) -> int:
        return self.age_years * 12 + self.age_months


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_from_index(index: int) -> dt.date:
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


def retirement_date(*, birth_date: dt.date, scheme: RetirementScheme | str) -> Retirement:
    """The statutory retirement month and age under the 2025 reform.

    Basis: the Standing Committee's decision of 2024-09-13 (in force
    2025-01-01) and its annexed tables. Those who reach the old age before
    2025 keep it. From the first cohort that reaches the old age in January
    2025 (men born 1965-01, women of the 55 scheme born 1970-01, women of the
    50 scheme born 1975-01), the age rises by one month for each group of
    4 birth months (2 for the 50 scheme), starting at one month for the
    first group, until the target (63, 58, 55) is reached.

    Method: n = birth months since the first cohort; delay = n // step + 1,
    at most the full rise; retirement month = birth month + old age + delay.
    Only the birth month matters. A man born 1965-01 retires in 2025-02 at
    60y1m; born 1965-05 in 2025-07 at 60y2m; born 1976-09 in 2039-09 at 63.
    """
    try:
        reform = REFORMS[RetirementScheme(scheme)]
    except ValueError:
        raise RuleInputError(
            _("Retirement scheme must be one of %(schemes)s, got %(scheme)s."),
            code="retirement_scheme_unknown",
            field="scheme",
            params={"schemes": ", ".join(RetirementScheme), "scheme": scheme},
        ) from None
    cohort = _month_index(birth_date) - _month_index(reform.first_cohort)
    delay = (
        0
        if cohort < 0
        else min(cohort // reform.cohort_months_per_step + 1, reform.max_delay_months)
    )
    age = reform.old_age_years * 12 + delay
    return Retirement(
        month=_month_from_index(_month_index(birth_date) + age),
        age_years=age // 12,
        age_months=age % 12,
    )


MINIMUM_CONTRIBUTION_YEARS = Decimal("15")
MINIMUM_CONTRIBUTION_YEARS_TARGET = Decimal("20")


def minimum_contribution_years(retirement_year: int) -> Decimal:
    """Years of contributions needed for a monthly pension, by year of retirement.

    Basis: SIL art. 16 (15 years) as amended by the 2025 reform: from 2030
    the minimum rises by 6 months a year until it reaches 20 years.
    Up to 2029 → 15; 2030 → 15.5; 2035 → 18; 2039 and later → 20.
    """
    year = _integer(retirement_year, "retirement_year")
    rise = Decimal("0.5") * max(year - 2029, 0)
    return min(MINIMUM_CONTRIBUTION_YEARS + rise, MINIMUM_CONTRIBUTION_YEARS_TARGET)


# National table of payout months of the personal-account pension by age at
# retirement (Guofa [2005] No. 38, annex).
PAYOUT_MONTHS: dict[int, int] = {
    40: 233, 41: 230, 42: 226, 43: 223, 44: 220, 45: 216, 46: 212, 47: 208,
    48: 204, 49: 199, 50: 195, 51: 190, 52: 185, 53: 180, 54: 175, 55: 170,
    56: 164, 57: 158, 58: 152, 59: 145, 60: 139, 61: 132, 62: 125, 63: 117,
    64: 109, 65: 101, 66: 93, 67: 84, 68: 75, 69: 65, 70: 56,
}  # fmt: skip


def payout_months(age_years: int) -> int:
    """The payout months of the personal account for a retirement age in years.

    Basis: Guofa [2005] No. 38, national table for ages 40–70 (50 → 195,
    55 → 170, 60 → 139, 63 → 117). The age is in completed years: a man
    retiring at 60 years 2 months uses 60. Other ages are refused.
    """
    age = _integer(age_years, "age_years")
    if age not in PAYOUT_MONTHS:
        raise RuleInputError(
            _("The payout months table covers ages 40 to 70, got %(age)s."),
            code="payout_age_out_of_table",
            field="age_years",
            params={"age": age},
        )
    return PAYOUT_MONTHS[age]


BASIC_PENSION_RATE_PER_YEAR = Decimal("0.01")


def basic_pension(
    *,
    area_average_monthly_wage: Decimal,
    indexed_average_monthly_wage_ratio: Decimal,
    contribution_years: Decimal,
) -> Decimal:
    """The monthly basic (pooled) pension.

    Basis: SIL art. 15 and Guofa [2005] No. 38: (area average monthly wage
    of the previous year + own indexed average monthly wage) / 2 × years of
    contributions × 1%, where the own indexed wage is the area average × the
    person's average contribution index. Years may be fractional (months /
    12). Rounded half up to the cent. Average 10,000, index 1.0, 30 years
    → 3,000.00.
    """
    average = _decimal(area_average_monthly_wage, "area_average_monthly_wage")
    index = _decimal(indexed_average_monthly_wage_ratio, "indexed_average_monthly_wage_ratio")
    years = _decimal(contribution_years, "contribution_years")
    own_indexed_wage = average * index
    return to_cents((average + own_indexed_wage) / 2 * years * BASIC_PENSION_RATE_PER_YEAR)


def personal_account_pension(*, balance: Decimal, retirement_age_years: int) -> Decimal:
    """The monthly personal-account pension: balance / payout months.

    Basis: SIL art. 15 and Guofa [2005] No. 38; payout months by
    `payout_months`. Rounded half up to the cent. Balance 200,000 at 60 →
    200,000 / 139 = 1,438.85.
    """
    amount = _decimal(balance, "balance")
    return to_cents(amount / payout_months(retirement_age_years))


def unemployment_benefit_months(contribution_years: Decimal) -> int:
    """The longest period of unemployment benefit, by years of contributions.

    Basis: SIL art. 46: 1 to under 5 years → up to 12 months; 5 to under
    10 → up to 18; 10 or more → up to 24. Under 1 year → none (art. 45
    requires a full year).
    """
    years = _decimal(contribution_years, "contribution_years")
    if years < 1:
        return 0
    if years < 5:
        return 12
    if years < 10:
        return 18
    return 24


# Yearly crediting rates of the personal pension account (national, announced
# each year by MOHRSS and MOF). Data, not law: verify against the notices; a
# caller holding its own rates table passes `rate` explicitly.
CREDITING_RATES: dict[int, Decimal] = {
    2016: Decimal("0.0831"),
    2017: Decimal("0.0712"),
    2018: Decimal("0.0829"),
    2019: Decimal("0.0761"),
    2020: Decimal("0.0604"),
    2021: Decimal("0.0669"),
    2022: Decimal("0.0612"),
    2023: Decimal("0.0397"),
    2024: Decimal("0.0262"),
}


def yearly_interest(
    *,
    opening_balance: Decimal,
    contributions_by_month: dict[int, Decimal],
    rate: Decimal | None = None,
    year: int | None = None,
) -> Decimal:
    """The interest credited to a personal account for one year.

    Basis: the personal account earns the yearly crediting rate (Guofa
    [2005] No. 38; the rate is announced each year). Contributions are
    credited when paid, so `contributions_by_month` maps the month of
    payment (1–12) to the amount credited that month.

    Method (the monthly-product method, 月积数法): the opening balance earns
    the full year's rate; the amount credited in month m earns the rate for
    the 13 − m months from its month of crediting to December, both
    included (January 12/12, December 1/12):

        interest = opening × rate + Σ amount_m × rate × (13 − m) / 12

    rounded half up to the cent once. Example at 2.62% (2024): opening
    100,000 → 2,620.00; plus 1,000 credited in January → 26.20 and 1,000 in
    October → 1,000 × 0.0262 × 3/12 = 6.55; total 2,652.75.

    Give `rate`, or `year` to take the rate from `CREDITING_RATES`.
    """
    if rate is None:
        if year is None or year not in CREDITING_RATES:
            raise RuleInputError(
                _("No crediting rate for year %(year)s; give the rate."),
                code="crediting_rate_unknown",
                field="rate",
                params={"year": year},
            )
        rate = CREDITING_RATES[year]
    yearly_rate = _decimal(rate, "rate")
    interest = _decimal(opening_balance, "opening_balance") * yearly_rate
    for month, amount in contributions_by_month.items():
        if _integer(month, "month") not in range(1, 13):
            raise RuleInputError(
                _("A month is 1 to 12, got %(month)s."),
                code="month_unknown",
                field="contributions_by_month",
                params={"month": month},
            )
        credited = _decimal(amount, "contributions_by_month", minimum=None)
        interest += credited * yearly_rate * (13 - month) / 12
    return to_cents(interest)
