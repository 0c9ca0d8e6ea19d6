"""Billing endpoints: the officer sets a policy and bills a month, the employer
sees its own bill with masked identity numbers, and strangers and anonymous
callers are refused everywhere."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.contributions import declarations
from shebao.contributions.models import Bill
from shebao.contributions.services import policy_set
from shebao.registry.identifiers import make_credit_code

pytestmark = pytest.mark.django_db

OCTOBER = dt.date(2026, 10, 1)
RATES = {
    "pension": ["0.16", "0.08"],
    "medical": ["0.06", "0.02"],
    "maternity": ["0.008", "0"],
    "unemployment": ["0.005", "0.005"],
}
INJURY = {
    "1": "0.002",
    "2": "0.004",
    "3": "0.007",
    "4": "0.009",
    "5": "0.011",
    "6": "0.013",
    "7": "0.016",
    "8": "0.019",
}
POLICY = {
    "area": "{area}",
    "valid_from": "2027-01-01",
    "average_monthly_wage": "11000",
    "rates": RATES,
    "work_injury_rates": INJURY,
}
OPERATIONS = [
    ("GET", "/policies", None, "list"),
    ("GET", "/policies/current", {"area": "{area}", "period": "2026-10-01"}, "refused"),
    ("POST", "/policies", POLICY, "refused"),
    ("POST", "/billing-runs", {"area": "{area}", "period": "2026-10-01"}, "refused"),
    ("GET", "/billing-runs", None, "list"),
    ("GET", "/bills", None, "list"),
    ("GET", "/bills/{bill}", None, "refused"),
]


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(area, officer, employer, employment, employer_user):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates={k: (a, b) for k, (a, b) in RATES.items()},
        work_injury_rates={int(k): v for k, v in INJURY.items()},
    )
    declarations.declaration_declare(
        actor=officer, employer=employer, person=employment.person, period=OCTOBER, wage="9000"
    )
    client = api_client(officer)
    response = client.post(
        "/api/v1/billing-runs",
        data={"area": area.code, "period": "2026-10-01"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return {
        "area": area.code,
        "employer": employer.pk,
        "bill": Bill.objects.get().pk,
        "run": response.json(),
        "client": client,
        "employer_client": api_client(employer_user),
    }


def call(client, method, path, payload, world):
    def fill(text):
        return re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), text)

    path = "/api/v1" + fill(path)
    if payload is None:
        return getattr(client, method.lower())(path)
    body = fill(json.dumps(payload))
    if method == "GET":  # the payload is the query
        return client.get(path, json.loads(body))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    if kind == "list":
        assert response.status_code == 200 and response.json()["items"] == []
    else:
        assert response.status_code in (403, 404), response.content


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    assert call(Client(), method, path, payload, world).status_code == 401


def test_the_run_answers_with_its_counts(world):
    assert (world["run"]["bills_created"], world["run"]["lines_added"]) == (1, 5)
    assert world["run"]["started_by"] == "contrib"
    runs = world["client"].get("/api/v1/billing-runs?period=2026-10-01").json()
    assert [r["id"] for r in runs["items"]] == [world["run"]["id"]]


def test_the_current_policy_and_a_new_one(world):
    client = world["client"]
    current = client.get("/api/v1/policies/current?period=2026-10-01").json()
    assert current["average_monthly_wage"] == "8000.00"
    assert {r["insurance"] for r in current["rates"]} == set(RATES)
    assert [r["risk_class"] for r in current["work_injury_rates"]] == list(range(1, 9))
    created = call(client, "POST", "/policies", POLICY, world)
    assert created.status_code == 201, created.content
    assert created.json()["valid_from"] == "2027-01-01"
    listed = client.get("/api/v1/policies").json()["items"]
    assert [(p["valid_from"], p["valid_to"]) for p in listed] == [
        ("2027-01-01", None),
        ("2026-01-01", "2027-01-01"),
    ]


def test_the_employer_sees_its_bill_with_masked_identity_numbers(world):
    client = world["employer_client"]
    listed = client.get("/api/v1/bills?period=2026-10-01").json()
    assert [b["id"] for b in listed["items"]] == [world["bill"]]
    bill = client.get(f"/api/v1/bills/{world['bill']}").json()
    # Base 9,000: pension 1,440 + 720, medical 540 + 180, maternity 72, unemployment 45 + 45,
    # work injury class 1 18.
    assert Decimal(bill["total"]) == Decimal("3060.00")
    assert {line["id_number"] for line in bill["lines"]} == {"3201**********3314"}
    pension = next(line for line in bill["lines"] if line["insurance"] == "pension")
    assert (pension["employer_amount"], pension["individual_amount"]) == ("1440.00", "720.00")


def test_another_employer_does_not_see_the_bill(world, area):
    from shebao.registry.models import Employer

    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京其他有限公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )
    client = api_client(make_user("other-employer", Role.EMPLOYER, area, employer_id=other.pk))
    assert client.get("/api/v1/bills").json()["items"] == []
    assert client.get(f"/api/v1/bills/{world['bill']}").status_code == 404
    assert client.get("/api/v1/billing-runs").json()["items"] == []
    run = {"area": "{area}", "period": "2026-10-01"}
    response = call(client, "POST", "/billing-runs", run, world)
    assert response.status_code == 403


def test_an_employer_user_may_not_set_a_policy(world):
    response = call(world["employer_client"], "POST", "/policies", POLICY, world)
    assert response.status_code == 403
