"""Staff, equipment and plan endpoints: the area administrator registers and
sets, the area's staff and the ministry read; strangers, administrators of
other areas and anonymous callers are refused everywhere."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.plans import services
from shebao.plans.models import Counter, Device, DeviceStatusChange, Plan, Training
from shebao.plans.testing import handed_over

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()

PLAN = {"valid_from": "2026-01-01", "channels": [{"channel": "counter", "target": 5}]}

OPERATIONS = [
    ("GET", "/counters", None, "list"),
    ("POST", "/counters", {"outlet": "{outlet}", "number": "09"}, "refused"),
    ("PATCH", "/counters/{counter}", {"active": False}, "refused"),
    ("GET", "/devices", None, "list"),
    (
        "POST",
        "/devices",
        {"outlet": "{outlet}", "kind": "scanner", "serial_number": "S9"},
        "refused",
    ),
    ("GET", "/devices/{device}", None, "refused"),
    ("POST", "/devices/{device}/status", {"status": "faulty", "reason": "x"}, "refused"),
    ("GET", "/trainings", None, "list"),
    (
        "POST",
        "/trainings",
        {
            "user": "{officer}",
            "course": "card_issuance",
            "completed_on": "2026-01-05",
            "valid_until": "2028-01-05",
        },
        "refused",
    ),
    ("GET", "/areas/{area}/plans/{year}/{kind}", None, "refused"),
    ("POST", "/areas/{area}/plans/{year}/{new_kind}", PLAN, "refused"),
    ("GET", "/areas/{area}/plans/{year}/{kind}/figures", None, "refused"),
]


@pytest.fixture
def world(area, other_area, outlet, colleague, area_admin):
    counter = services.counter_register(actor=area_admin, outlet=outlet, number="01")
    device = services.device_register(
        actor=area_admin, outlet=outlet, counter=counter, kind="card_reader", serial_number="R1"
    )
    services.training_record(
        actor=area_admin,
        user=colleague,
        course="card_issuance",
        completed_on=TODAY - dt.timedelta(days=30),
        valid_until=TODAY + dt.timedelta(days=700),
    )
    services.plan_set(
        actor=area_admin,
        area=area,
        year=2026,
        kind="distribution",
        valid_from=dt.date(2026, 1, 1),
        distribution_targets={(outlet.pk, 11): 10},
    )
    handed_over(area, outlet, dt.date(2026, 11, 5), actor=area_admin, count=3)
    return {
        "area": area.code,
        "year": 2026,
        "kind": "distribution",
        "new_kind": "application",
        "outlet": outlet.pk,
        "counter": counter.pk,
        "device": device.pk,
        "officer": colleague.pk,
        "admin_api": api_client(area_admin),
    }


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload is None:
        return getattr(client, method.lower())(path)
    body = re.sub(r'"\{(\w+)\}"', lambda m: str(world[m.group(1)]), json.dumps(payload))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


def unchanged():
    assert Counter.objects.count() == 1 and Counter.objects.get().active
    assert Device.objects.count() == 1 and Device.objects.get().status == "in_service"
    assert DeviceStatusChange.objects.count() == 1
    assert Training.objects.count() == 1
    assert Plan.objects.count() == 1


def check_refused(response, kind):
    if kind == "list":
        assert response.status_code == 200, response.content
        assert response.json()["items"] == []
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    check_refused(call(stranger_api, method, path, payload, world), kind)
    unchanged()


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_administrator_of_another_area_is_refused(
    world, other_area, method, path, payload, kind
):
    outsider = api_client(make_user("bjadmin", Role.AREA_ADMIN, other_area))
    check_refused(call(outsider, method, path, payload, world), kind)
    unchanged()


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    unchanged()


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_insured_person_of_the_area_is_refused(world, individual, method, path, payload, kind):
    check_refused(call(api_client(individual), method, path, payload, world), kind)
    unchanged()


def test_the_plan_against_reality_reads_30_per_cent_for_november(world, auditor):
    response = call(
        api_client(auditor),
        "GET",
        "/areas/{area}/plans/2026/distribution/figures?on=2026-12-31",
        None,
        world,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 1
    november = next(row for row in body["rows"] if row["key"] == "WD001" and row["month"] == 11)
    assert (november["target"], november["actual"], november["percent"]) == ("10", "3", "30.0")
    december = next(row for row in body["rows"] if row["key"] == "WD001" and row["month"] == 12)
    assert december["actual"] == "0"


def test_the_ministry_reads_any_areas_plan(world, ministry_api):
    response = call(ministry_api, "GET", "/areas/{area}/plans/2026/distribution", None, world)
    assert response.status_code == 200
    body = response.json()
    assert body["in_force"]["version"] == 1
    assert body["in_force"]["distribution_targets"] == [
        {"outlet": world["outlet"], "month": 11, "target": 10}
    ]


def test_the_administrator_sets_a_new_version(world):
    client = world["admin_api"]
    payload = {
        "valid_from": "2026-02-01",
        "note": "增加目标",
        "distribution_targets": [{"outlet": world["outlet"], "month": 11, "target": 12}],
    }
    response = call(client, "POST", "/areas/{area}/plans/2026/distribution", payload, world)
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2
    body = call(client, "GET", "/areas/{area}/plans/2026/distribution", None, world).json()
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["in_force"]["distribution_targets"][0]["target"] == 12


def test_a_cost_plan_round_trips_with_exact_money(world):
    client = world["admin_api"]
    payload = {
        "budget_per_card": "18.50",
        "budget_total": "185000",
        "expected_fee_income": "2000",
        "vendor_costs": [{"vendor": "金卡科技", "unit_cost": "18.5"}],
    }
    response = call(client, "POST", "/areas/{area}/plans/2026/cost", payload, world)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["budget_total"] == "185000.00"
    assert body["vendor_costs"] == [{"vendor": "金卡科技", "unit_cost": "18.50"}]


def test_a_plan_missing_its_figures_is_refused_at_the_field(world):
    response = call(world["admin_api"], "POST", "/areas/{area}/plans/2026/collection", {}, world)
    assert response.status_code == 400
    assert response.json()["field"] == "target_population"


def test_an_unknown_plan_kind_is_not_found(world):
    response = call(world["admin_api"], "GET", "/areas/{area}/plans/2026/budget", None, world)
    assert response.status_code == 404


def test_the_administrator_reports_a_device_faulty_and_reads_its_history(world):
    client = world["admin_api"]
    response = call(
        client,
        "POST",
        "/devices/{device}/status",
        {"status": "faulty", "reason": "读卡头损坏"},
        world,
    )
    assert response.status_code == 200, response.content
    history = response.json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("", "in_service"),
        ("in_service", "faulty"),
    ]
    assert history[1]["reason"] == "读卡头损坏"
    refused = call(
        client, "POST", "/devices/{device}/status", {"status": "bad", "reason": "x"}, world
    )
    assert refused.status_code == 400 and refused.json()["field"] == "status"


def test_counters_devices_and_trainings_are_registered_and_listed(world, auditor):
    client = world["admin_api"]
    made = call(
        client,
        "POST",
        "/counters",
        {"outlet": world["outlet"], "number": "02", "kind": "instant"},
        world,
    )
    assert made.status_code == 201 and made.json()["kind"] == "instant"
    device = call(
        client,
        "POST",
        "/devices",
        {
            "outlet": world["outlet"],
            "counter": made.json()["id"],
            "kind": "card_printer",
            "serial_number": "P1",
        },
        world,
    )
    assert device.status_code == 201, device.content
    assert device.json()["counter"] == made.json()["id"]
    closed = call(client, "PATCH", "/counters/{counter}", {"active": False}, world)
    assert closed.status_code == 200 and closed.json()["active"] is False
    reader = api_client(auditor)
    assert call(reader, "GET", "/counters", None, world).json()["count"] == 2
    assert call(reader, "GET", "/devices?kind=card_printer", None, world).json()["count"] == 1
    soon = TODAY + dt.timedelta(days=300)
    trainings = call(reader, "GET", f"/trainings?valid_on={soon}", None, world).json()
    assert trainings["count"] == 1 and trainings["items"][0]["valid_today"] is True
    later = TODAY + dt.timedelta(days=701)
    assert call(reader, "GET", f"/trainings?valid_on={later}", None, world).json()["count"] == 0


def test_a_reader_may_not_write(world, auditor):
    response = call(
        api_client(auditor), "POST", "/counters", {"outlet": world["outlet"], "number": "05"}, world
    )
    assert response.status_code == 403
