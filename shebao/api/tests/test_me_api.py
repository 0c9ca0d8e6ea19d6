"""The insured person's own records over the API (/me/…): a person reads their
own history by year, account and pension estimate; staff, employers, strangers
and anonymous callers are refused at every operation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.inquiry.bench import build_history
from shebao.inquiry.tests.test_history import (
    declare_and_bill,
    pay_bill,
    second_employer,
    second_person,
)

pytestmark = pytest.mark.django_db

# (method, path, query, kind): every operation is the caller's own; others are refused.
OPERATIONS = [
    ("GET", "/me/contributions", {"page": 1}, "self"),
    ("GET", "/me/account", None, "self"),
    ("GET", "/me/pension-estimate", None, "self"),
]


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(officer, area, employer, person):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2000, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2023, 7, 1), months=24
    )
    return person


def call(client, path, query=None):
    return client.get("/api/v1" + path, data=query or {})


@pytest.mark.parametrize(("method", "path", "query", "kind"), OPERATIONS)
def test_it_refuses_staff_employers_and_strangers(
    world, officer, stranger, employer_user, ministry, method, path, query, kind
):
    for user in (officer, stranger, employer_user, ministry):
        response = call(api_client(user), path, query)
        assert response.status_code == 403, (user.role, response.content)
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "query", "kind"), OPERATIONS)
def test_it_refuses_an_anonymous_caller(world, method, path, query, kind):
    assert call(Client(), path, query).status_code == 401


def test_it_pages_the_history_by_year_latest_first(world, individual):
    client = api_client(individual)

    first = call(client, "/me/contributions").json()
    assert (first["year"], first["years"], first["page"], first["pages"]) == (
        2025,
        [2025, 2024, 2023],
        1,
        3,
    )
    assert first["count"] == 6 and first["items"][0]["period"] == "2025-06-01"
    month = first["items"][0]
    assert month["status"] == "paid" and not month["withheld_unpaid"]
    assert [i["insurance"] for i in month["insurances"]] == [
        "pension",
        "medical",
        "unemployment",
        "work_injury",
        "maternity",
    ]
    assert month["payers"][0]["name"] == "南京钟山科技有限公司"
    last = call(client, "/me/contributions", {"page": 3}).json()
    assert last["year"] == 2023 and [m["period"] for m in last["items"]][-1] == "2023-07-01"
    beyond = call(client, "/me/contributions", {"page": 4}).json()
    assert (beyond["year"], beyond["items"]) == (None, [])
    assert call(client, "/me/contributions", {"page": 0}).status_code == 422
    assert not AccessEvent.objects.exists()  # one's own records: no third-party access


def test_it_shows_the_worked_example_unpaid_then_paid_with_720_credited(
    officer, cashier, individual, area, employer, employment
):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    bill = declare_and_bill(officer, employer, employment.person, dt.date(2026, 10, 1))
    client = api_client(individual)

    [october] = call(client, "/me/contributions").json()["items"]
    assert (october["status"], october["withheld_unpaid"]) == ("unpaid", True)
    pension = october["insurances"][0]
    assert (pension["base"], pension["employer"], pension["individual"]) == (
        "9000.00",
        "1440.00",
        "720.00",
    )
    assert call(client, "/me/account").json()["balance"] == "0.00"

    pay_bill(cashier, bill, dt.date(2026, 11, 10))

    [october] = call(client, "/me/contributions").json()["items"]
    assert october["status"] == "paid"
    account = call(client, "/me/account").json()
    assert account["balance"] == "720.00"
    assert [(e["kind"], e["period"], e["amount"]) for e in account["entries"]] == [
        ("contribution", "2026-10-01", "720.00")
    ]


def test_it_estimates_the_persons_own_pension(world, individual):
    body = call(api_client(individual), "/me/pension-estimate", {"interest_rate": "0.03"}).json()
    assert body["person"] == world.pk
    assert body["interest_rate"] == "0.03"
    assert body["months_contributed"] == 24
    assert body["unemployment_benefit_months"] == 12  # 2 years: up to 12 months (art. 46)


def test_two_persons_each_get_only_their_own(world, individual, area):
    other = second_person(area)
    build_history(
        area=area,
        employer=second_employer(area),
        persons=[other.pk],
        first=dt.date(2019, 5, 1),
        months=3,
    )
    other_client = api_client(make_user("other", Role.INDIVIDUAL, area, person_id=other.pk))

    theirs = call(other_client, "/me/contributions").json()
    mine = call(api_client(individual), "/me/contributions").json()

    assert theirs["years"] == [2019] and mine["years"] == [2025, 2024, 2023]
    assert {p["name"] for m in theirs["items"] for p in m["payers"]} == {"南京玄武商贸有限公司"}
    assert call(other_client, "/me/account").json()["person"] == other.pk
    assert call(other_client, "/me/pension-estimate").json()["person"] == other.pk
