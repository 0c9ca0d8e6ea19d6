"""Jobs endpoint: the officer who started a billing run follows it, with the same
JSON as the portal's; strangers and anonymous callers are refused."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.contributions import declarations
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.jobs.services import job_submit

pytestmark = pytest.mark.django_db

OPERATIONS = [
    ("GET", "/jobs/{job}", None, "refused"),
]


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(area, officer, employer, employment):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    declarations.declaration_declare(
        actor=officer,
        employer=employer,
        person=employment.person,
        period=dt.date(2026, 10, 1),
        wage="9000",
    )
    job = job_submit(
        actor=officer, kind="bill_run", params={"area": area.code, "period": "2026-10-01"}
    )
    return {"job": job.pk, "client": api_client(officer)}


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


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_officer_follows_the_billing_run_to_its_counts(world):
    body = world["client"].get(f"/api/v1/jobs/{world['job']}").json()
    assert (body["kind"], body["status"], body["finished"]) == ("bill_run", "done", True)
    assert (body["done"], body["total"], body["percent"]) == (6, 6, 100)
    assert (body["result"]["bills_created"], body["result"]["lines_added"]) == (1, 5)
    assert body["error"] is None
    assert body["links"][0]["url"] == f"/contributions/?run={body['result']['run']}#runs"


def test_the_api_answers_the_same_json_as_the_portal(world, officer):
    portal = Client()
    portal.force_login(officer)
    from_portal = portal.get(f"/jobs/{world['job']}.json").json()
    from_api = world["client"].get(f"/api/v1/jobs/{world['job']}").json()
    assert from_api == from_portal


def test_a_registrar_of_the_area_does_not_see_the_billing_run(world, owner_api):
    response = owner_api.get(f"/api/v1/jobs/{world['job']}")
    assert response.status_code == 404
