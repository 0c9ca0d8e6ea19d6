"""Flexible worker endpoints: a registrar enrols, a cashier records a payment, the
months follow; strangers and anonymous callers are refused everywhere."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.contributions import billing, flexible
from shebao.contributions.models import FlexibleEnrolment, FlexiblePayment
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES

pytestmark = pytest.mark.django_db
JUNE, JULY = dt.date(2026, 6, 1), dt.date(2026, 7, 1)

OPERATIONS = [
    (
        "POST",
        "/persons/{person}/flexible/enrolments",
        {"valid_from": "2026-09-01", "base_ratio": "1"},
        "refused",
    ),
    ("POST", "/flexible/enrolments/{enrolment}/end", {"valid_to": "2026-08-01"}, "refused"),
    ("GET", "/persons/{person}/flexible/enrolments", None, "refused"),
    ("GET", "/persons/{person}/flexible/bills", None, "refused"),
    (
        "POST",
        "/persons/{person}/flexible/payments",
        {"bank_reference": "S001", "amount": "1.00", "paid_on": "2026-07-10"},
        "refused",
    ),
]


@pytest.fixture
def world(area, owner, cashier, person):
    officer = make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    enrolment = flexible.flexible_enrol(
        actor=owner, person=person, valid_from=JUNE, base_ratio="0.6"
    )
    for month in (JUNE, JULY):
        billing.bill_run(actor=officer, area=area, period=month)
    return {"person": person.pk, "enrolment": enrolment.pk}


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload is None:
        return getattr(client, method.lower())(path)
    return getattr(client, method.lower())(
        path, data=json.dumps(payload), content_type="application/json"
    )


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    assert response.status_code in (403, 404), response.content
    assert response.json()["code"] in ("forbidden", "not_found")
    assert FlexibleEnrolment.objects.get().valid_to is None
    assert not FlexiblePayment.objects.exists()


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_lists_the_months_with_the_late_fee_running(world, cashier):
    client = api_client(cashier)
    body = call(client, "GET", "/persons/{person}/flexible/bills?on=2026-09-14", None, world)
    assert body.status_code == 200, body.content
    body = body.json()
    assert [(m["period"], m["pension"], m["account"], m["days_overdue"], m["late_fee_due"])
            for m in body["months"]] == [
        ("2026-06-01", "960.00", "384.00", 60, "28.80"),
        ("2026-07-01", "960.00", "384.00", 29, "13.92"),
    ]  # fmt: skip
    assert (body["principal_due"], body["late_fee_due"], body["total_due"]) == (
        "1920.00",
        "42.72",
        "1962.72",
    )


def test_it_records_a_payment_once_and_allocates_it(world, cashier):
    client = api_client(cashier)
    payment = {"bank_reference": "F001", "amount": "988.80", "paid_on": "2026-09-14"}

    first = call(client, "POST", "/persons/{person}/flexible/payments", payment, world)

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["allocations"] == [
        {"period": "2026-06-01", "principal": "960.00", "late_fee": "28.80"}
    ]
    assert body["unallocated"] == "0.00"
    again = call(client, "POST", "/persons/{person}/flexible/payments", payment, world)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    clash = call(
        client,
        "POST",
        "/persons/{person}/flexible/payments",
        {**payment, "amount": "1.00"},
        world,
    )
    assert clash.status_code == 409 and clash.json()["code"] == "bank_reference_used"
    months = call(client, "GET", "/persons/{person}/flexible/bills?on=2026-09-14", None, world)
    assert [m["status"] for m in months.json()["months"]] == ["paid", "unpaid"]


def test_a_registrar_enrols_and_ends(world, owner, person, employer):
    client = api_client(owner)
    ended = call(
        client, "POST", "/flexible/enrolments/{enrolment}/end", {"valid_to": "2026-08-01"}, world
    )
    assert ended.status_code == 200, ended.content
    assert ended.json()["valid_to"] == "2026-08-01"

    bad = call(
        client,
        "POST",
        "/persons/{person}/flexible/enrolments",
        {"valid_from": "2026-09-01", "base_ratio": "0.5"},
        world,
    )
    assert bad.status_code == 400
    assert (bad.json()["code"], bad.json()["field"]) == ("base_ratio_range", "base_ratio")
    created = call(
        client,
        "POST",
        "/persons/{person}/flexible/enrolments",
        {"valid_from": "2026-09-01", "base_ratio": "1.5"},
        world,
    )
    assert created.status_code == 201, created.content
    listed = call(client, "GET", "/persons/{person}/flexible/enrolments", None, world).json()
    assert [(e["valid_from"], e["valid_to"], e["base_ratio"]) for e in listed] == [
        ("2026-09-01", None, "1.50000"),
        ("2026-06-01", "2026-08-01", "0.60000"),
    ]


def test_a_cashier_may_not_enrol_and_the_person_reads_their_own(world, cashier, individual):
    refused = call(
        api_client(cashier),
        "POST",
        "/persons/{person}/flexible/enrolments",
        {"valid_from": "2026-09-01", "base_ratio": "1"},
        world,
    )
    assert refused.status_code == 403
    own = call(api_client(individual), "GET", "/persons/{person}/flexible/bills", None, world)
    assert own.status_code == 200
    assert len(own.json()["months"]) == 2
