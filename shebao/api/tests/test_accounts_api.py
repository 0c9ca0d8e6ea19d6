"""Personal account endpoints: the person and the area's contribution staff
read them; strangers (of another area, or without the capability) and
anonymous callers are refused at every endpoint."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.contributions.models import AccountEntry
from shebao.contributions.services import policy_set
from shebao.contributions.tests.test_personal import INJURY, RATES, account_with, bill_month

pytestmark = pytest.mark.django_db

# (method, path, query or body, kind). GET sends the third column as the query.
OPERATIONS = [
    ("GET", "/persons/{person}/account", None, "refused"),
    ("GET", "/persons/{person}/contributions", None, "refused"),
    (
        "GET",
        "/persons/{person}/contributions/gaps",
        {"since": "2024-01-01", "until": "2024-06-01"},
        "refused",
    ),
    (
        "GET",
        "/persons/{person}/contributions/quote",
        {"month": "2024-03-01", "on": "2024-05-16"},
        "refused",
    ),
    ("GET", "/persons/{person}/pension-estimate", None, "refused"),
    ("POST", "/areas/{area}/interest-credits", {"year": 2024}, "refused"),
]


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(area, officer, person, employer):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(1990, 1, 1),
        average_monthly_wage="10000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    for month in (dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 4, 1)):
        bill_month(person, employer, month)
    bill_month(person, employer, dt.date(2024, 3, 1), paid=False)
    account_with(
        person,
        ("contribution", dt.date(2023, 6, 1), None, 10_000_000),
        ("contribution", dt.date(2024, 1, 1), None, 100_000),
        ("contribution", dt.date(2024, 10, 1), None, 100_000),
    )
    return {"area": area.code, "person": person.pk}


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if method == "GET":
        return client.get(path, data=payload or {})
    return client.post(path, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def stranger_officer_api(other_area):
    return api_client(make_user("contrib2", Role.CONTRIBUTIONS_OFFICER, other_area))


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_it_refuses_a_stranger(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    assert response.status_code in (403, 404), response.content


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_it_refuses_a_contributions_officer_of_another_area(
    world, stranger_officer_api, method, path, payload, kind
):
    response = call(stranger_officer_api, method, path, payload, world)
    assert response.status_code == 404, response.content


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_it_refuses_an_anonymous_caller(world, method, path, payload, kind):
    assert call(Client(), method, path, payload, world).status_code == 401


def test_it_shows_the_person_their_own_account(world, individual):
    body = call(api_client(individual), "GET", "/persons/{person}/account", None, world).json()
    assert body["balance"] == "102000.00"
    assert [e["kind"] for e in body["entries"]] == ["contribution"] * 3
    assert not AccessEvent.objects.exists()


def test_it_lists_the_paid_months_and_the_gap(world, officer):
    client = api_client(officer)
    record = call(client, "GET", "/persons/{person}/contributions", None, world).json()
    pension = next(r for r in record["insurances"] if r["insurance"] == "pension")
    assert pension["months"] == ["2024-01-01", "2024-02-01", "2024-04-01"]
    gaps = call(
        client,
        "GET",
        "/persons/{person}/contributions/gaps",
        {"since": "2024-01-01", "until": "2024-05-01"},
        world,
    ).json()
    assert gaps == [
        {"month": "2024-03-01", "billed": True},
        {"month": "2024-05-01", "billed": False},
    ]
    quote = call(
        client,
        "GET",
        "/persons/{person}/contributions/quote",
        {"month": "2024-03-01", "on": "2024-05-16"},
        world,
    ).json()
    assert (quote["principal"], quote["late_fee"], quote["total"]) == (
        "2250.00",
        "33.75",
        "2283.75",
    )
    assert AccessEvent.objects.filter(actor=officer).count() == 3


def test_it_estimates_a_pension_with_stated_assumptions(world, individual):
    response = call(
        api_client(individual),
        "GET",
        "/persons/{person}/pension-estimate",
        {"on": "2025-01-10", "indexed_wage_ratio": "1.2", "interest_rate": "0.03"},
        world,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["retirement_month"] == "2048-03-01"  # born 1985-03: 63 from 2048-03
    assert body["indexed_wage_ratio"] == "1.2" and body["interest_rate"] == "0.03"
    assert not body["eligible"] or body["monthly_pension"] is not None
    assert len(body["assumptions"]) >= 4


def test_it_refuses_an_unknown_retirement_scheme(world, officer):
    response = call(
        api_client(officer), "GET", "/persons/{person}/pension-estimate", {"scheme": "x"}, world
    )
    assert response.status_code == 422


def test_it_credits_interest_once_for_the_area(world, officer):
    client = api_client(officer)
    first = call(client, "POST", "/areas/{area}/interest-credits", {"year": 2024}, world)
    assert first.status_code == 200, first.content
    assert (first.json()["credited"], first.json()["total"]) == (1, "2652.75")
    again = call(client, "POST", "/areas/{area}/interest-credits", {"year": 2024}, world).json()
    assert (again["credited"], again["already_credited"]) == (0, 1)
    assert AccountEntry.objects.filter(kind="interest").count() == 1


def test_it_refuses_interest_for_a_year_without_a_rate(world, officer):
    response = call(
        api_client(officer), "POST", "/areas/{area}/interest-credits", {"year": 2015}, world
    )
    assert response.status_code == 404
    assert response.json()["code"] == "crediting_rate_unknown"
