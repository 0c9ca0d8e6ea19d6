"""Counters, devices, trainings and plan versions: who may write them, what the
rules refuse, and that every write is audited and history is kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.plans import selectors, services
from shebao.plans.figures import plan_in_force
from shebao.plans.models import (
    ChannelTarget,
    DeviceStatus,
    DeviceStatusChange,
    Plan,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def admin(area):
    return make_user("planadmin", Role.AREA_ADMIN, area)


@pytest.fixture
def other_admin(other_area):
    return make_user("bjadmin", Role.AREA_ADMIN, other_area)


def last_audit(action):
    return AuditEvent.objects.filter(action=action).latest("seq")


# --- counters and devices -----------------------------------------------------------------


def test_the_area_administrator_registers_a_counter(admin, outlet):
    counter = services.counter_register(actor=admin, outlet=outlet, number="03", kind="instant")
    assert (counter.area_id, counter.kind, counter.active) == ("320100", "instant", True)
    assert last_audit("counter.register").after["number"] == "03"
    with pytest.raises(Conflict) as refused:
        services.counter_register(actor=admin, outlet=outlet, number="03")
    assert refused.value.code == "counter_exists"


def test_it_refuses_counters_to_other_roles_and_areas(admin, other_admin, colleague, outlet):
    with pytest.raises(Forbidden):
        services.counter_register(actor=colleague, outlet=outlet, number="01")
    with pytest.raises(Forbidden):
        services.counter_register(actor=other_admin, outlet=outlet, number="01")
    counter = services.counter_register(actor=admin, outlet=outlet, number="01")
    with pytest.raises(Forbidden):
        services.counter_change(actor=other_admin, counter=counter, active=False)


def test_a_counter_is_closed_and_reopened(admin, outlet):
    counter = services.counter_register(actor=admin, outlet=outlet, number="01")
    services.counter_change(actor=admin, counter=counter, active=False)
    counter.refresh_from_db()
    assert counter.active is False
    event = last_audit("counter.change")
    assert (event.before["active"], event.after["active"]) == (True, False)


def test_a_device_moves_through_its_status_table_with_every_change_kept(admin, outlet):
    counter = services.counter_register(actor=admin, outlet=outlet, number="01")
    device = services.device_register(
        actor=admin, outlet=outlet, counter=counter, kind="card_reader", serial_number="CR-001"
    )
    assert device.status == DeviceStatus.IN_SERVICE
    services.device_set_status(actor=admin, device=device, status="faulty", reason="读卡失败")
    services.device_set_status(actor=admin, device=device, status="in_service", reason="已维修")
    services.device_set_status(actor=admin, device=device, status="retired", reason="报废")
    history = list(
        selectors.device_history(device).values_list("from_status", "to_status", "reason")
    )
    assert [(f, t) for f, t, _r in history] == [
        ("", "in_service"),
        ("in_service", "faulty"),
        ("faulty", "in_service"),
        ("in_service", "retired"),
    ]
    assert history[1][2] == "读卡失败"
    assert last_audit("device.retired").after["reason"] == "报废"
    with pytest.raises(Conflict) as refused:
        services.device_set_status(actor=admin, device=device, status="in_service", reason="x")
    assert refused.value.code == "invalid_transition"
    assert DeviceStatusChange.objects.filter(device=device).count() == 4


def test_a_status_change_needs_a_reason(admin, outlet):
    device = services.device_register(
        actor=admin, outlet=outlet, kind="scanner", serial_number="S1"
    )
    with pytest.raises(InvalidInput) as refused:
        services.device_set_status(actor=admin, device=device, status="faulty", reason=" ")
    assert refused.value.field == "reason"


def test_a_device_serial_number_is_registered_once_per_kind(admin, outlet, area):
    services.device_register(actor=admin, outlet=outlet, kind="pin_pad", serial_number="X1")
    with pytest.raises(Conflict):
        services.device_register(actor=admin, outlet=outlet, kind="pin_pad", serial_number="X1")
    second = area.outlets.create(code="GL002", name="鼓楼")
    counter = services.counter_register(actor=admin, outlet=second, number="01")
    with pytest.raises(InvalidInput) as refused:
        services.device_register(
            actor=admin, outlet=outlet, counter=counter, kind="scanner", serial_number="X2"
        )
    assert refused.value.code == "counter_outlet"


def test_a_device_moves_to_another_outlet(admin, outlet, area):
    second = area.outlets.create(code="GL002", name="鼓楼")
    device = services.device_register(
        actor=admin, outlet=outlet, kind="photo_camera", serial_number="C1"
    )
    services.device_move(actor=admin, device=device, outlet=second)
    device.refresh_from_db()
    assert device.outlet_id == second.pk
    assert last_audit("device.move").before["outlet_id"] == outlet.pk


# --- trainings --------------------------------------------------------------------------


def test_a_training_is_recorded_for_the_areas_staff(admin, colleague, individual, stranger):
    training = services.training_record(
        actor=admin,
        user=colleague,
        course="card_issuance",
        completed_on=dt.date(2026, 3, 1),
        valid_until=dt.date(2028, 3, 1),
        certificate="NJ-2026-001",
    )
    assert training.area_id == "320100"
    assert last_audit("training.record").after["certificate"] == "NJ-2026-001"
    with pytest.raises(InvalidInput):
        services.training_record(
            actor=admin,
            user=individual,
            course="card_issuance",
            completed_on=dt.date(2026, 3, 1),
            valid_until=dt.date(2028, 3, 1),
        )
    with pytest.raises(Forbidden):
        services.training_record(
            actor=admin,
            user=stranger,
            course="card_issuance",
            completed_on=dt.date(2026, 3, 1),
            valid_until=dt.date(2028, 3, 1),
        )


def test_a_training_is_valid_after_it_is_completed_and_not_before(admin, colleague):
    with pytest.raises(InvalidInput) as refused:
        services.training_record(
            actor=admin,
            user=colleague,
            course="card_issuance",
            completed_on=dt.date(2026, 3, 1),
            valid_until=dt.date(2026, 3, 1),
        )
    assert refused.value.field == "valid_until"
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        services.training_record(
            actor=admin,
            user=colleague,
            course="card_issuance",
            completed_on=tomorrow,
            valid_until=tomorrow + dt.timedelta(days=365),
        )
    assert refused.value.code == "completed_in_future"


# --- plans --------------------------------------------------------------------------------


def test_a_new_version_is_a_new_row_and_the_old_one_stays(admin, area):
    first = services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="application",
        valid_from=dt.date(2026, 1, 1),
        channels={"counter": 100, "online": 50},
    )
    second = services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="application",
        valid_from=dt.date(2026, 7, 1),
        note="增加单位代办渠道",
        channels={"counter": 80, "online": 60, "employer": 40},
    )
    assert (first.version, second.version) == (1, 2)
    assert Plan.objects.filter(area=area, year=2026, kind="application").count() == 2
    assert dict(first.channels.filter(offered=True).values_list("channel", "target")) == {
        "counter": 100,
        "online": 50,
    }
    # Every channel has a line; those not offered expect nothing.
    assert ChannelTarget.objects.filter(plan=second, offered=False).count() == 1
    assert plan_in_force(area.code, 2026, "application", dt.date(2026, 6, 30)) == first
    assert plan_in_force(area.code, 2026, "application", dt.date(2026, 7, 1)) == second
    assert plan_in_force(area.code, 2026, "application", dt.date(2025, 12, 31)) is None
    assert last_audit("plan.set").after["version"] == 2
    assert len(last_audit("plan.set").after["lines"]) == 4


def test_a_new_version_takes_effect_no_earlier_than_the_last(admin, area):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="application",
        valid_from=dt.date(2026, 7, 1),
        channels={"counter": 1},
    )
    with pytest.raises(InvalidInput) as refused:
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="application",
            valid_from=dt.date(2026, 6, 1),
            channels={"counter": 1},
        )
    assert refused.value.field == "valid_from"


def test_only_the_areas_administrator_sets_its_plans(area, colleague, other_admin, auditor):
    for actor in (colleague, other_admin, auditor):
        with pytest.raises(Forbidden):
            services.plan_set(
                actor=actor, area=area, year=2026, kind="application", channels={"counter": 1}
            )
    assert not Plan.objects.exists()


def test_the_cost_plan_keeps_money_exact(admin, area):
    plan = services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="cost",
        budget_per_card="18.505",
        budget_total="100000",
        expected_fee_income="0",
        vendor_costs={"金卡科技": "18.5"},
    )
    assert plan.budget_per_card == Decimal("18.51")
    assert plan.vendor_costs.get().unit_cost == Decimal("18.50")
    with pytest.raises(InvalidInput) as refused:
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="cost",
            budget_per_card="-1",
            budget_total="1",
            expected_fee_income="0",
            vendor_costs={"金卡科技": "1"},
        )
    assert refused.value.field == "budget_per_card"


def test_collection_targets_never_fall_and_stay_within_the_population(admin, area):
    with pytest.raises(InvalidInput) as refused:
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="collection",
            target_population=100,
            collection_targets={3: 50, 6: 40},
        )
    assert refused.value.code == "targets_fall"
    with pytest.raises(InvalidInput) as refused:
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="collection",
            target_population=100,
            collection_targets={12: 101},
        )
    assert refused.value.code == "above_population"
    with pytest.raises(InvalidInput):
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="collection",
            target_population=100,
            collection_targets={13: 1},
        )


def test_distribution_targets_are_for_the_areas_own_outlets(admin, area, other_area, outlet):
    beijing = other_area.outlets.create(code="DC001", name="东城")
    with pytest.raises(InvalidInput) as refused:
        services.plan_set(
            actor=admin,
            area=area,
            year=2026,
            kind="distribution",
            distribution_targets={(beijing.pk, 1): 5},
        )
    assert refused.value.code == "outlet_area"
    plan = services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="distribution",
        distribution_targets={(outlet.pk, 1): 5, (outlet.pk, 2): 7},
    )
    assert plan.distribution_targets.count() == 2


def test_selectors_show_each_user_their_own_area(
    admin, outlet, stranger, ministry, auditor, individual
):
    services.counter_register(actor=admin, outlet=outlet, number="01")
    assert selectors.counters_for(auditor).count() == 1
    assert selectors.counters_for(ministry).count() == 1
    assert selectors.counters_for(stranger).count() == 0
    assert selectors.counters_for(individual).count() == 0
