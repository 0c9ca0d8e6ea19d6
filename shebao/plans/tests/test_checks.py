"""The approval checks of staff, equipment and plans go from red to green as
the area registers what the conditions ask for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.approval.checks import CHECKS, run_checks
from shebao.plans import services
from shebao.plans.models import PlanKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(area):
    return make_user("planadmin", Role.AREA_ADMIN, area)


def check(code, area):
    return run_checks(area)[code]


def test_the_checks_are_registered_under_their_conditions():
    assert CHECKS["b.counters_and_readers"].condition == "b"
    assert CHECKS["b.trained_staff"].condition == "b"
    assert CHECKS["c.plans"].condition == "c"


def test_each_active_outlet_needs_an_open_counter_and_a_working_card_reader(area, admin, outlet):
    closed = area.outlets.create(code="QH003", name="秦淮", active=False)
    result = check("b.counters_and_readers", area)
    assert not result.ok and result.evidence["missing"] == ["WD001"]
    counter = services.counter_register(actor=admin, outlet=outlet, number="01")
    reader = services.device_register(
        actor=admin, outlet=outlet, counter=counter, kind="card_reader", serial_number="R1"
    )
    assert check("b.counters_and_readers", area).ok
    assert closed.code not in check("b.counters_and_readers", area).evidence["outlets"]
    # A faulty reader does not count; nor does a closed counter.
    services.device_set_status(actor=admin, device=reader, status="faulty", reason="坏了")
    assert not check("b.counters_and_readers", area).ok
    services.device_set_status(actor=admin, device=reader, status="in_service", reason="修好")
    services.counter_change(actor=admin, counter=counter, active=False)
    assert not check("b.counters_and_readers", area).ok


def test_an_area_without_an_active_outlet_is_not_ready(area):
    result = check("b.counters_and_readers", area)
    assert not result.ok and result.evidence["outlets"] == {}


def test_trained_card_officers_are_counted_per_area_against_the_outlets(
    area, admin, outlet, colleague, second_officer, cashier
):
    today = timezone.localdate()
    year_ago = today - dt.timedelta(days=365)

    def train(user, course="card_issuance", valid_until=today + dt.timedelta(days=30)):
        services.training_record(
            actor=admin,
            user=user,
            course=course,
            completed_on=year_ago,
            valid_until=valid_until,
        )

    assert not check("b.trained_staff", area).ok
    train(colleague, valid_until=today - dt.timedelta(days=1))  # expired
    train(second_officer, course="equipment")  # not the qualifying course
    train(cashier)  # not a card officer
    result = check("b.trained_staff", area)
    assert not result.ok and result.evidence["trained_officers"] == 0
    train(colleague)
    result = check("b.trained_staff", area)
    assert result.ok and result.evidence == {
        "trained_officers": 1,
        "active_outlets": 1,
        "on": today.isoformat(),
    }
    area.outlets.create(code="GL002", name="鼓楼")
    assert not check("b.trained_staff", area).ok
    train(second_officer)
    assert check("b.trained_staff", area).ok


def test_the_four_plans_must_be_in_force_for_this_year(area, admin, outlet):
    year = timezone.localdate().year
    result = check("c.plans", area)
    assert not result.ok and result.evidence["missing"] == PlanKind.values
    services.plan_set(
        actor=admin, area=area, year=year, kind="application", channels={"counter": 1}
    )
    services.plan_set(
        actor=admin,
        area=area,
        year=year,
        kind="cost",
        budget_per_card="20",
        budget_total="1000",
        expected_fee_income="0",
        vendor_costs={"金卡科技": "18"},
    )
    services.plan_set(actor=admin, area=area, year=year, kind="collection", target_population=10)
    # Last year's distribution plan does not count for this year.
    services.plan_set(
        actor=admin,
        area=area,
        year=year - 1,
        kind="distribution",
        distribution_targets={(outlet.pk, 1): 1},
    )
    result = check("c.plans", area)
    assert not result.ok and result.evidence["missing"] == ["distribution"]
    services.plan_set(
        actor=admin,
        area=area,
        year=year,
        kind="distribution",
        distribution_targets={(outlet.pk, 1): 1},
    )
    result = check("c.plans", area)
    assert result.ok and result.evidence["versions"] == {
        "application": 1,
        "cost": 1,
        "collection": 1,
        "distribution": 1,
    }
