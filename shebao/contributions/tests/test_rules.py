"""The pure rules of contributions and pensions: every worked example of
DOMAIN.md §3–4, the edges of each rule, and properties over generated figures.
No database: these are functions of values."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal as D

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from shebao.contributions.rules import (
    CREDITING_RATES,
    PAYOUT_MONTHS,
    Retirement,
    RetirementScheme,
    RuleInputError,
    assessed_amount,
    basic_pension,
    contribution_amount,
    contribution_base,
    late_fee,
    late_fee_days,
    minimum_contribution_years,
    payout_months,
    personal_account_pension,
    retirement_date,
    to_cents,
    unemployment_benefit_months,
    work_injury_rate,
    yearly_interest,
)
from shebao.core.errors import InvalidInput


@pytest.fixture(autouse=True)
def _english():
    """The refusals are matched by their English text."""
    with translation.override("en"):
        yield


money = st.decimals(min_value=0, max_value=10_000_000, places=2)
rates = st.decimals(min_value=0, max_value=1, places=5)
days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))
births = st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2010, 12, 31))
schemes = st.sampled_from(list(RetirementScheme))

OLD_AND_TARGET_AGE_IN_MONTHS = {
    RetirementScheme.MAN: (60 * 12, 63 * 12),
    RetirementScheme.WOMAN_55: (55 * 12, 58 * 12),
    RetirementScheme.WOMAN_50: (50 * 12, 55 * 12),
}


def is_cents(amount: D) -> bool:
    return amount == amount.quantize(D("0.01")) and amount.as_tuple().exponent == -2


def month(year: int, number: int) -> dt.date:
    return dt.date(year, number, 1)


# --- Money -------------------------------------------------------------------


def test_it_rounds_half_up_to_the_cent():
    assert to_cents(D("0.005")) == D("0.01")
    assert to_cents(D("0.004999")) == D("0.00")
    assert to_cents(D("2.675")) == D("2.68")  # banker's rounding would give 2.68 too…
    assert to_cents(D("2.665")) == D("2.67")  # …but 2.66 here: half up gives 2.67
    assert str(to_cents(D("9000"))) == "9000.00"


def test_it_refuses_a_float_near_money():
    with pytest.raises(TypeError, match="own_average_wage must be a Decimal"):
        contribution_base(own_average_wage=9000.0, area_average_wage=D("8000"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        contribution_amount(base=D("9000"), rate=0.08)  # type: ignore[arg-type]


def test_it_refuses_a_value_that_is_not_a_number():
    with pytest.raises(RuleInputError) as caught:
        contribution_amount(base=D("NaN"), rate=D("0.08"))
    assert caught.value.code == "not_finite"
    assert caught.value.field == "base"


def test_its_refusals_are_both_domain_errors_and_value_errors():
    with pytest.raises(InvalidInput):
        payout_months(39)
    with pytest.raises(ValueError, match="40 to 70, got 39"):
        payout_months(39)


# --- Contribution base (DOMAIN §3) ------------------------------------------


@pytest.mark.parametrize(
    ("wage", "base"),
    [
        pytest.param("3000", "4800.00", id="a wage of 3,000 is raised to the floor of 4,800"),
        pytest.param("30000", "24000.00", id="a wage of 30,000 is cut to the ceiling of 24,000"),
        pytest.param("9000", "9000.00", id="a wage of 9,000 is its own base"),
        pytest.param("4800", "4800.00", id="a wage on the floor stays"),
        pytest.param("24000", "24000.00", id="a wage on the ceiling stays"),
        pytest.param("0", "4800.00", id="no wage at all pays on the floor"),
    ],
)
def test_it_clamps_the_base_to_60_to_300_percent_of_an_area_average_of_8000(wage, base):
    assert contribution_base(own_average_wage=D(wage), area_average_wage=D("8000")) == D(base)


def test_it_rounds_a_floor_that_falls_between_cents_half_up():
    # 8,123.45 × 0.6 = 4,874.07; × 3 = 24,370.35
    assert contribution_base(own_average_wage=D("1"), area_average_wage=D("8123.45")) == D(
        "4874.07"
    )
    assert contribution_base(
        own_average_wage=D("1"), area_average_wage=D("8123.45"), floor_ratio=D("0.45")
    ) == D("3655.55")  # 3,655.5525


def test_it_applies_an_areas_own_ratios():
    assert contribution_base(
        own_average_wage=D("3000"),
        area_average_wage=D("8000"),
        floor_ratio=D("0.4"),
        ceiling_ratio=D("2"),
    ) == D("3200.00")


def test_it_refuses_a_ceiling_below_the_floor_and_a_zero_area_average():
    with pytest.raises(RuleInputError) as caught:
        contribution_base(
            own_average_wage=D("9000"), area_average_wage=D("8000"), ceiling_ratio=D("0.5")
        )
    assert caught.value.field == "ceiling_ratio"
    with pytest.raises(RuleInputError):
        contribution_base(own_average_wage=D("9000"), area_average_wage=D("0"))
    with pytest.raises(RuleInputError):
        contribution_base(own_average_wage=D("-1"), area_average_wage=D("8000"))


@given(wage=money, area=st.decimals(min_value=1, max_value=100_000, places=2))
def test_it_always_keeps_the_base_within_floor_and_ceiling(wage, area):
    base = contribution_base(own_average_wage=wage, area_average_wage=area)
    assert to_cents(area * D("0.6")) <= base <= to_cents(area * 3)
    assert is_cents(base)
    if area * D("0.6") <= wage <= area * 3:
        assert base == wage


@given(low=money, high=money, area=st.decimals(min_value=1, max_value=100_000, places=2))
def test_it_never_gives_a_lower_wage_a_higher_base(low, high, area):
    low, high = sorted((low, high))
    assert contribution_base(own_average_wage=low, area_average_wage=area) <= contribution_base(
        own_average_wage=high, area_average_wage=area
    )


# --- Contribution amounts ----------------------------------------------------


def test_it_bills_8_percent_individual_pension_on_a_base_of_9000_as_720():
    assert contribution_amount(base=D("9000"), rate=D("0.08")) == D("720.00")


def test_it_bills_16_percent_employer_pension_on_a_base_of_9000_as_1440():
    assert contribution_amount(base=D("9000"), rate=D("0.16")) == D("1440.00")


def test_it_rounds_each_line_half_up():
    # 4,874.07 × 0.02 = 97.4814 → 97.48; 4,874.25 × 0.02 = 97.485 → 97.49
    assert contribution_amount(base=D("4874.07"), rate=D("0.02")) == D("97.48")
    assert contribution_amount(base=D("4874.25"), rate=D("0.02")) == D("97.49")
    assert contribution_amount(base=D("0"), rate=D("0.08")) == D("0.00")


def test_it_refuses_a_rate_given_in_percent():
    with pytest.raises(RuleInputError) as caught:
        contribution_amount(base=D("9000"), rate=D("8"))
    assert caught.value.code == "rate_above_one"


@given(base=money, rate=rates)
def test_it_always_bills_whole_cents_within_half_a_cent_of_the_exact_amount(base, rate):
    amount = contribution_amount(base=base, rate=rate)
    assert is_cents(amount)
    assert abs(amount - base * rate) <= D("0.005")


# --- Undeclared month (art. 62) ----------------------------------------------


def test_it_assesses_an_undeclared_month_at_110_percent_of_the_previous_20000_as_22000():
    assert assessed_amount(D("20000")) == D("22000.00")


def test_it_rounds_an_assessment_half_up():
    assert assessed_amount(D("0.05")) == D("0.06")  # 0.055
    assert assessed_amount(D("1234.56")) == D("1358.02")  # 1,358.016
    assert assessed_amount(D("0")) == D("0.00")


@given(previous=money)
def test_it_always_assesses_at_least_the_previous_month_in_whole_cents(previous):
    assessed = assessed_amount(previous)
    assert is_cents(assessed)
    assert assessed >= previous


# --- Late fee (art. 86) -------------------------------------------------------


def test_it_charges_150_on_10000_overdue_for_30_days():
    fee = late_fee(
        overdue_amount=D("10000"),
        overdue_from=dt.date(2024, 3, 1),
        paid_on=dt.date(2024, 3, 31),
    )
    assert fee == D("150.00")


@pytest.mark.parametrize(
    ("overdue_from", "paid_on", "expected_days"),
    [
        pytest.param(dt.date(2024, 3, 1), dt.date(2024, 3, 1), 0, id="paid the day it fell due"),
        pytest.param(dt.date(2024, 3, 1), dt.date(2024, 2, 20), 0, id="paid early"),
        pytest.param(dt.date(2024, 3, 1), dt.date(2024, 3, 2), 1, id="paid the next day"),
        pytest.param(dt.date(2024, 2, 1), dt.date(2024, 3, 1), 29, id="across a leap day"),
        pytest.param(dt.date(2023, 2, 1), dt.date(2023, 3, 1), 28, id="no leap day"),
        pytest.param(dt.date(2023, 12, 16), dt.date(2024, 1, 15), 30, id="across a year"),
        pytest.param(dt.date(2023, 1, 1), dt.date(2024, 1, 1), 365, id="a whole year"),
    ],
)
def test_it_counts_the_overdue_day_but_not_the_day_of_payment(overdue_from, paid_on, expected_days):
    assert late_fee_days(overdue_from=overdue_from, paid_on=paid_on) == expected_days
    fee = late_fee(overdue_amount=D("10000"), overdue_from=overdue_from, paid_on=paid_on)
    assert fee == D("5") * expected_days


def test_it_charges_no_fee_when_paid_on_or_before_the_day_it_fell_due():
    for paid_on in (dt.date(2024, 3, 1), dt.date(2024, 1, 1)):
        assert late_fee(
            overdue_amount=D("10000"), overdue_from=dt.date(2024, 3, 1), paid_on=paid_on
        ) == D("0.00")


def test_it_rounds_a_late_fee_half_up_once_not_per_day():
    # 33.33 × 0.0005 = 0.016665 a day; 3 days = 0.049995 → 0.05 (per-day rounding gives 0.06)
    fee = late_fee(
        overdue_amount=D("33.33"), overdue_from=dt.date(2024, 3, 1), paid_on=dt.date(2024, 3, 4)
    )
    assert fee == D("0.05")


def test_it_applies_an_areas_own_daily_rate():
    fee = late_fee(
        overdue_amount=D("10000"),
        overdue_from=dt.date(2024, 3, 1),
        paid_on=dt.date(2024, 3, 11),
        daily_rate=D("0.0002"),
    )
    assert fee == D("20.00")


@given(amount=money, start=days, first=st.integers(0, 4000), more=st.integers(0, 4000))
def test_it_never_charges_less_for_paying_later(amount, start, first, more):
    earlier = late_fee(
        overdue_amount=amount, overdue_from=start, paid_on=start + dt.timedelta(days=first)
    )
    later = late_fee(
        overdue_amount=amount, overdue_from=start, paid_on=start + dt.timedelta(days=first + more)
    )
    assert D(0) <= earlier <= later
    assert is_cents(earlier) and is_cents(later)


@given(amount=money, overdue_from=days, paid_on=days)
def test_it_charges_the_daily_rate_times_the_days(amount, overdue_from, paid_on):
    fee = late_fee(overdue_amount=amount, overdue_from=overdue_from, paid_on=paid_on)
    expected_days = max((paid_on - overdue_from).days, 0)
    assert fee == to_cents(amount * D("0.0005") * expected_days)


# --- Work-injury rate ----------------------------------------------------------


@pytest.mark.parametrize(
    ("risk_class", "rate"),
    [
        (1, "0.002"),
        (2, "0.004"),
        (3, "0.007"),
        (4, "0.009"),
        (5, "0.011"),
        (6, "0.013"),
        (7, "0.016"),
        (8, "0.019"),
    ],
)
def test_it_gives_each_risk_class_its_base_rate(risk_class, rate):
    assert work_injury_rate(risk_class=risk_class) == D(rate)


def test_it_floats_class_1_only_upwards():
    assert work_injury_rate(risk_class=1, float_factor=D("1.2")) == D("0.0024")
    assert work_injury_rate(risk_class=1, float_factor=D("1.5")) == D("0.003")
    for factor in ("0.8", "0.5"):
        with pytest.raises(RuleInputError) as caught:
            work_injury_rate(risk_class=1, float_factor=D(factor))
        assert caught.value.code == "float_factor_not_allowed"
        assert "1, 1.2, 1.5" in str(caught.value)


def test_it_floats_classes_2_to_8_both_ways():
    assert work_injury_rate(risk_class=4, float_factor=D("0.8")) == D("0.0072")
    assert work_injury_rate(risk_class=8, float_factor=D("1.5")) == D("0.0285")
    assert work_injury_rate(risk_class=2, float_factor=D("0.5")) == D("0.002")
    assert work_injury_rate(risk_class=3, float_factor=D("1.20")) == D("0.0084")


@pytest.mark.parametrize("factor", ["0.9", "1.1", "2", "0", "1.25", "0.49"])
def test_it_refuses_a_float_outside_the_steps(factor):
    with pytest.raises(ValueError, match=re.escape("may float only by 0.5, 0.8, 1, 1.2, 1.5")):
        work_injury_rate(risk_class=5, float_factor=D(factor))


@pytest.mark.parametrize("risk_class", [0, 9, -1])
def test_it_refuses_an_unknown_risk_class(risk_class):
    with pytest.raises(ValueError, match=f"Risk class must be 1 to 8, got {risk_class}"):
        work_injury_rate(risk_class=risk_class)


@given(risk_class=st.integers(1, 8), factor=st.sampled_from(["0.5", "0.8", "1", "1.2", "1.5"]))
def test_it_keeps_every_allowed_rate_between_half_and_one_and_a_half_of_the_base(
    risk_class, factor
):
    if risk_class == 1 and factor in ("0.5", "0.8"):
        return
    rate = work_injury_rate(risk_class=risk_class, float_factor=D(factor))
    base = work_injury_rate(risk_class=risk_class)
    assert base / 2 <= rate <= base * D("1.5")
    assert D("0.001") <= rate <= D("0.0285")


# --- Retirement age (the 2025 reform) ------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "born", "retires", "age"),
    [
        pytest.param("man", (1964, 12), (2024, 12), (60, 0), id="a man born 1964-12 retires in 2024-12"),
        pytest.param("man", (1965, 1), (2025, 2), (60, 1), id="a man born 1965-01 retires in 2025-02"),
        pytest.param("man", (1965, 5), (2025, 7), (60, 2), id="a man born 1965-05 retires in 2025-07"),
        pytest.param("man", (1976, 9), (2039, 9), (63, 0), id="a man born 1976-09 retires in 2039-09 at 63"),
        pytest.param("woman_55", (1971, 4), (2026, 8), (55, 4), id="a woman of the 55 scheme born 1971-04 retires in 2026-08"),
        pytest.param("woman_50", (1984, 11), (2039, 11), (55, 0), id="a woman of the 50 scheme born 1984-11 retires in 2039-11 at 55"),
    ],
)  # fmt: skip
def test_it_sets_the_retirement_month_of_the_worked_examples(scheme, born, retires, age):
    retirement = retirement_date(birth_date=dt.date(born[0], born[1], 15), scheme=scheme)
    assert retirement == Retirement(month=month(*retires), age_years=age[0], age_months=age[1])


def test_a_man_born_1965_05_retires_in_2025_07():
    retirement = retirement_date(birth_date=dt.date(1965, 5, 31), scheme=RetirementScheme.MAN)
    assert retirement.month == dt.date(2025, 7, 1)
    assert (retirement.age_years, retirement.age_months) == (60, 2)
    assert retirement.age_in_months == 722


def test_it_steps_a_month_every_four_birth_months_for_men():
    def delay(year, number):
        return retirement_date(birth_date=month(year, number), scheme="man").age_in_months - 720

    assert [delay(1965, m) for m in range(1, 13)] == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    assert delay(1976, 8) == 35
    assert delay(1976, 9) == 36
    assert delay(1990, 1) == 36  # capped at 63


def test_it_starts_the_55_scheme_with_women_born_1970_01():
    def retires(year, number):
        return retirement_date(birth_date=month(year, number), scheme="woman_55")

    assert retires(1969, 12).month == month(2024, 12)  # 55 before the reform
    assert retires(1970, 1).month == month(2025, 2)  # 55 and 1 month
    assert retires(1981, 8).age_in_months == 58 * 12 - 1
    assert retires(1981, 9) == Retirement(month=month(2039, 9), age_years=58, age_months=0)


def test_it_starts_the_50_scheme_with_women_born_1975_01_and_steps_every_two_months():
    def delay(year, number):
        return (
            retirement_date(birth_date=month(year, number), scheme="woman_50").age_in_months - 600
        )

    assert delay(1974, 12) == 0
    assert retirement_date(birth_date=month(1974, 12), scheme="woman_50").month == month(2024, 12)
    assert [delay(1975, m) for m in range(1, 7)] == [1, 1, 2, 2, 3, 3]
    assert retirement_date(birth_date=month(1975, 1), scheme="woman_50").month == month(2025, 2)
    assert delay(1984, 10) == 59
    assert delay(1984, 11) == 60
    assert delay(2000, 1) == 60  # capped at 55


def test_it_keeps_the_old_age_for_those_born_long_before_the_reform():
    assert retirement_date(birth_date=dt.date(1950, 6, 1), scheme="man") == Retirement(
        month=month(2010, 6), age_years=60, age_months=0
    )


def test_it_refuses_an_unknown_scheme():
    with pytest.raises(ValueError, match="man, woman_55, woman_50, got woman_60"):
        retirement_date(birth_date=dt.date(1970, 1, 1), scheme="woman_60")


@given(birth=births, scheme=schemes)
def test_it_never_retires_below_the_old_age_nor_above_the_target(birth, scheme):
    retirement = retirement_date(birth_date=birth, scheme=scheme)
    old_age, target = OLD_AND_TARGET_AGE_IN_MONTHS[scheme]
    assert old_age <= retirement.age_in_months <= target
    assert retirement.month.day == 1
    assert 0 <= retirement.age_months < 12
    months_lived = (retirement.month.year - birth.year) * 12 + retirement.month.month - birth.month
    assert months_lived == retirement.age_in_months


@given(birth=births, scheme=schemes)
def test_it_never_lets_anyone_retire_before_2025_02_with_a_raised_age_or_later_without(
    birth, scheme
):
    retirement = retirement_date(birth_date=birth, scheme=scheme)
    old_age, _target = OLD_AND_TARGET_AGE_IN_MONTHS[scheme]
    raised = retirement.age_in_months > old_age
    assert raised == (retirement.month >= dt.date(2025, 2, 1))


@given(first=births, second=births, scheme=schemes)
def test_it_never_lets_a_younger_person_retire_earlier_or_younger(first, second, scheme):
    older, younger = sorted((first, second))
    older_retirement = retirement_date(birth_date=older, scheme=scheme)
    younger_retirement = retirement_date(birth_date=younger, scheme=scheme)
    assert older_retirement.month <= younger_retirement.month
    assert older_retirement.age_in_months <= younger_retirement.age_in_months


# --- Minimum contribution years (art. 16 and the 2025 reform) ------------------


@pytest.mark.parametrize(
    ("year", "minimum"),
    [
        (2000, "15"),
        (2025, "15"),
        (2029, "15"),
        (2030, "15.5"),
        (2031, "16"),
        (2035, "18"),
        (2038, "19.5"),
        (2039, "20"),
        (2040, "20"),
        (2060, "20"),
    ],
)
def test_it_raises_the_minimum_by_half_a_year_a_year_from_2030_to_20(year, minimum):
    assert minimum_contribution_years(year) == D(minimum)


@given(year=st.integers(1990, 2100), later=st.integers(0, 50))
def test_it_never_lowers_the_minimum(year, later):
    assert (
        D(15)
        <= minimum_contribution_years(year)
        <= minimum_contribution_years(year + later)
        <= D(20)
    )


# --- Payout months and pensions -------------------------------------------------


@pytest.mark.parametrize(
    ("age", "months"), [(40, 233), (50, 195), (55, 170), (60, 139), (63, 117), (70, 56)]
)
def test_it_pays_the_personal_account_over_the_national_months(age, months):
    assert payout_months(age) == months


def test_it_holds_the_full_national_table():
    # DOMAIN.md §4, as printed there
    table = (
        "40 233, 41 230, 42 226, 43 223, 44 220, 45 216, 46 212, 47 208, 48 204, "
        "49 199, 50 195, 51 190, 52 185, 53 180, 54 175, 55 170, 56 164, 57 158, "
        "58 152, 59 145, 60 139, 61 132, 62 125, 63 117, 64 109, 65 101, 66 93, "
        "67 84, 68 75, 69 65, 70 56"
    )
    expected = {int(age): int(months) for age, months in (p.split() for p in table.split(", "))}
    assert expected == PAYOUT_MONTHS
    assert list(PAYOUT_MONTHS) == list(range(40, 71))


@pytest.mark.parametrize("age", [39, 71, 0, -60])
def test_it_refuses_ages_outside_the_table(age):
    with pytest.raises(RuleInputError) as caught:
        payout_months(age)
    assert caught.value.code == "payout_age_out_of_table"


def test_it_pays_months_decreasing_with_age():
    months = [payout_months(age) for age in range(40, 71)]
    assert all(earlier > later for earlier, later in itertools.pairwise(months))


@given(age=st.integers(40, 69))
def test_it_never_pays_an_older_retiree_over_more_months(age):
    assert payout_months(age) > payout_months(age + 1)


def test_it_pays_a_basic_pension_of_3000_on_an_average_of_10000_index_1_and_30_years():
    pension = basic_pension(
        area_average_monthly_wage=D("10000"),
        indexed_average_monthly_wage_ratio=D("1.0"),
        contribution_years=D("30"),
    )
    assert pension == D("3000.00")


def test_it_pays_a_basic_pension_on_a_low_index_and_part_years():
    # (8,000 + 8,000 × 0.6) / 2 × 15.5 × 1% = 6,400 × 0.155 = 992.00
    assert basic_pension(
        area_average_monthly_wage=D("8000"),
        indexed_average_monthly_wage_ratio=D("0.6"),
        contribution_years=D("15.5"),
    ) == D("992.00")
    # (7,777.77 + 7,777.77 × 1.234) / 2 × 17.25 × 1% = 1,498.64 (1,498.6401…)
    assert basic_pension(
        area_average_monthly_wage=D("7777.77"),
        indexed_average_monthly_wage_ratio=D("1.234"),
        contribution_years=D("17.25"),
    ) == D("1498.64")


@given(
    average=st.decimals(min_value=1000, max_value=50_000, places=2),
    index=st.decimals(min_value=D("0.6"), max_value=3, places=4),
    years=st.decimals(min_value=0, max_value=50, places=2),
    more=st.decimals(min_value=0, max_value=10, places=2),
)
def test_it_pays_more_basic_pension_for_more_years_in_whole_cents(average, index, years, more):
    shorter = basic_pension(
        area_average_monthly_wage=average,
        indexed_average_monthly_wage_ratio=index,
        contribution_years=years,
    )
    longer = basic_pension(
        area_average_monthly_wage=average,
        indexed_average_monthly_wage_ratio=index,
        contribution_years=years + more,
    )
    assert is_cents(shorter)
    assert shorter <= longer


def test_it_pays_a_balance_of_200000_at_60_as_1438_85_a_month():
    assert personal_account_pension(balance=D("200000"), retirement_age_years=60) == D("1438.85")


def test_it_pays_the_personal_account_at_other_ages():
    assert personal_account_pension(balance=D("200000"), retirement_age_years=63) == D("1709.40")
    assert personal_account_pension(balance=D("100000"), retirement_age_years=50) == D("512.82")
    with pytest.raises(ValueError):
        personal_account_pension(balance=D("200000"), retirement_age_years=72)


@given(balance=money, age=st.integers(40, 69))
def test_it_never_pays_a_later_retiree_less_from_the_same_balance(balance, age):
    earlier = personal_account_pension(balance=balance, retirement_age_years=age)
    later = personal_account_pension(balance=balance, retirement_age_years=age + 1)
    assert is_cents(earlier)
    assert earlier <= later


# --- Unemployment benefit (arts. 45–46) -------------------------------------------


@pytest.mark.parametrize(
    ("years", "months"),
    [
        ("0", 0),
        ("0.99", 0),
        ("1", 12),
        ("4.99", 12),
        ("5", 18),
        ("9.999", 18),
        ("10", 24),
        ("35", 24),
    ],
)
def test_it_pays_unemployment_benefit_by_years_of_contributions(years, months):
    assert unemployment_benefit_months(D(years)) == months


@given(years=st.decimals(min_value=0, max_value=60, places=3), more=st.decimals(0, 10, places=3))
def test_it_never_pays_fewer_months_for_more_years(years, more):
    shorter = unemployment_benefit_months(years)
    assert shorter in (0, 12, 18, 24)
    assert shorter <= unemployment_benefit_months(years + more)


def test_it_refuses_negative_years():
    with pytest.raises(ValueError):
        unemployment_benefit_months(D("-1"))


# --- Personal account interest ----------------------------------------------------


def test_it_holds_the_crediting_rates_2016_to_2024():
    expected = {
        2016: D("0.0831"),
        2017: D("0.0712"),
        2018: D("0.0829"),
        2019: D("0.0761"),
        2020: D("0.0604"),
        2021: D("0.0669"),
        2022: D("0.0612"),
        2023: D("0.0397"),
        2024: D("0.0262"),
    }
    assert expected == CREDITING_RATES


def test_it_credits_the_docstring_example_of_2024():
    interest = yearly_interest(
        opening_balance=D("100000"),
        contributions_by_month={1: D("1000"), 10: D("1000")},
        year=2024,
    )
    assert interest == D("2652.75")  # 2,620 + 26.20 + 6.55


def test_it_credits_the_opening_balance_for_the_full_year():
    assert yearly_interest(opening_balance=D("100000"), contributions_by_month={}, year=2016) == D(
        "8310.00"
    )


def test_it_credits_january_for_twelve_months_and_december_for_one():
    rate = D("0.12")
    assert yearly_interest(
        opening_balance=D("0"), contributions_by_month={1: D("1000")}, rate=rate
    ) == D("120.00")
    assert yearly_interest(
        opening_balance=D("0"), contributions_by_month={12: D("1000")}, rate=rate
    ) == D("10.00")
    assert yearly_interest(
        opening_balance=D("0"), contributions_by_month={7: D("1000")}, rate=rate
    ) == D("60.00")


def test_it_credits_twelve_equal_months_as_thirteen_twenty_fourths_of_the_year():
    # The yearly shortcut "× 1.083 × 1/2" of the same method: 12 × 720 × 6.04% × 13/24
    interest = yearly_interest(
        opening_balance=D("0"),
        contributions_by_month={m: D("720") for m in range(1, 13)},
        year=2020,
    )
    assert interest == D("282.67")  # 282.672


def test_it_prefers_an_explicit_rate_and_refuses_an_unknown_year():
    assert yearly_interest(
        opening_balance=D("1000"), contributions_by_month={}, rate=D("0.05"), year=2024
    ) == D("50.00")
    with pytest.raises(RuleInputError) as caught:
        yearly_interest(opening_balance=D("1000"), contributions_by_month={}, year=2015)
    assert caught.value.code == "crediting_rate_unknown"
    with pytest.raises(RuleInputError):
        yearly_interest(opening_balance=D("1000"), contributions_by_month={})


@pytest.mark.parametrize("bad_month", [0, 13])
def test_it_refuses_a_month_outside_the_year(bad_month):
    with pytest.raises(ValueError, match=f"got {bad_month}"):
        yearly_interest(
            opening_balance=D("0"), contributions_by_month={bad_month: D("1")}, rate=D("0.05")
        )


@given(
    opening=money,
    contributions=st.dictionaries(st.integers(1, 12), st.decimals(0, 100_000, places=2)),
    year=st.sampled_from(sorted(CREDITING_RATES)),
)
def test_it_credits_between_the_opening_balance_and_the_full_year_on_everything(
    opening, contributions, year
):
    rate = CREDITING_RATES[year]
    interest = yearly_interest(
        opening_balance=opening, contributions_by_month=contributions, year=year
    )
    assert is_cents(interest)
    assert to_cents(opening * rate) <= interest
    assert interest <= to_cents((opening + sum(contributions.values(), D(0))) * rate)


@given(
    amount=st.decimals(0, 100_000, places=2), earlier=st.integers(1, 12), later=st.integers(1, 12)
)
def test_it_credits_an_earlier_payment_at_least_as_much(amount, earlier, later):
    earlier, later = sorted((earlier, later))
    rate = D("0.0612")
    assert yearly_interest(
        opening_balance=D("0"), contributions_by_month={earlier: amount}, rate=rate
    ) >= yearly_interest(opening_balance=D("0"), contributions_by_month={later: amount}, rate=rate)
