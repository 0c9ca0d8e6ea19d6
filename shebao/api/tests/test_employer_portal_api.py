"""Employer portal endpoints: an employer reads its employees and the monthly
detail it owes each of them (SIL art. 60), as JSON pages or one CSV file;
another employer's user, staff of another area and anonymous callers are
refused at every operation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.contributions import employer_detail
from shebao.contributions.testing import hire
from shebao.contributions.tests.test_employer_detail import (
    another_employer,
    contributions_officer,
    declare_and_bill,
    policy_2026,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(area):
    return contributions_officer(area)


@pytest.fixture
def policy(officer, area):
    return policy_2026(officer, area)


# (method, path, query): every operation reads one employer's records.
OPERATIONS = [
    ("GET", "/employers/{employer}/employees", {}),
    ("GET", "/employers/{employer}/monthly-detail", {"period": "2026-10-01"}),
    ("GET", "/employers/{employer}/monthly-detail.csv", {"period": "2026-10-01"}),
]


@pytest.fixture
def world(officer, policy, employer, employment):
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    return employer


def call(client, path, query, employer):
    return client.get("/api/v1" + path.replace("{employer}", str(employer.pk)), data=query)


def body_of(response):
    if isinstance(response, StreamingHttpResponse):
        return response.getvalue().decode()
    return json.dumps(response.json(), ensure_ascii=False)


@pytest.mark.parametrize(("method", "path", "query"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, query):
    response = call(stranger_api, path, query, world)
    assert response.status_code == 404, body_of(response)
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("method", "path", "query"), OPERATIONS)
def test_another_employers_user_and_other_areas_staff_are_refused(
    world, area, other_area, method, path, query
):
    outsider = make_user(
        "other-employer", Role.EMPLOYER, area, employer_id=another_employer(area).pk
    )
    staff_elsewhere = make_user("contrib-bj", Role.CONTRIBUTIONS_OFFICER, other_area)
    for user in (outsider, staff_elsewhere):
        response = call(api_client(user), path, query, world)
        assert response.status_code == 404, (user.username, body_of(response))
        assert "张伟" not in body_of(response)


@pytest.mark.parametrize(("method", "path", "query"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, query):
    response = call(Client(), path, query, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "query"), OPERATIONS)
def test_the_employer_and_its_areas_contribution_staff_may_read(
    world, employer_user, officer, method, path, query
):
    for user in (employer_user, officer):
        response = call(api_client(user), path, query, world)
        assert response.status_code == 200, (user.username, body_of(response))
        assert "张伟" in body_of(response)


def test_the_monthly_detail_gives_the_worked_example(world, employer_user):
    body = call(api_client(employer_user), OPERATIONS[1][1], {"period": "2026-10-01"}, world).json()
    assert (body["period"], body["paid"], body["count"], body["pages"]) == (
        "2026-10-01",
        False,
        1,
        1,
    )
    [row] = body["items"]
    assert (row["name"], row["id_number"], row["base"]) == ("张伟", "3201**********3314", "9000.00")
    shares = {s["insurance"]: (s["employer"], s["individual"]) for s in row["insurances"]}
    assert shares["pension"] == ("1440.00", "720.00")
    assert shares["medical"] == ("540.00", "180.00")
    assert (row["withheld"], row["employer_total"], row["total"]) == (
        "945.00",
        "2115.00",
        "3060.00",
    )


def test_the_detail_is_paged_and_the_csv_streams_every_row(
    world, officer, employer_user, monkeypatch
):
    monkeypatch.setattr(employer_detail, "STREAM_CHUNK", 2)
    declare_and_bill(officer, world, [(hire(world, f"员工{n}", 30 + n), "7000") for n in range(4)])
    client = api_client(employer_user)
    second = call(
        client, OPERATIONS[1][1], {"period": "2026-10-01", "page": 2, "page_size": 2}, world
    )
    body = second.json()
    assert (body["count"], body["page"], body["pages"], len(body["items"])) == (5, 2, 3, 2)
    response = call(client, OPERATIONS[2][1], {"period": "2026-10-01"}, world)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    records = list(csv.reader(io.StringIO(body_of(response).removeprefix("\ufeff"))))
    assert len(records) == 1 + 5


def test_employees_are_listed_with_their_declared_months(world, employer_user):
    hire(world, "李秀英", 2, end=dt.date(2026, 9, 30))
    client = api_client(employer_user)
    body = call(client, OPERATIONS[0][1], {}, world).json()
    assert [(e["name"], e["current"], e["months_declared"]) for e in body["items"]] == [
        ("张伟", True, 1),
        ("李秀英", False, 0),
    ]
    assert body["items"][0]["months"] == [{"period": "2026-10-01", "wage": "9000.00"}]
    assert body["items"][0]["id_number"] == "3201**********3314"
    found = call(client, OPERATIONS[0][1], {"q": "秀英"}, world).json()
    assert [e["name"] for e in found["items"]] == ["李秀英"]
    current = call(client, OPERATIONS[0][1], {"state": "current"}, world).json()
    assert [e["name"] for e in current["items"]] == ["张伟"]
    assert call(client, OPERATIONS[0][1], {"state": "x"}, world).status_code == 422
