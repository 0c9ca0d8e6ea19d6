"""Internal control endpoints: the auditors' queue, reconciliations, chain checks,
samples and the nightly run; strangers and anonymous callers are refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.api.tests.test_api import call, fill, fill_payload
from shebao.audit import sampling
from shebao.audit.models import Alert, AlertKind, AlertStatus, AuditEvent, Sample, SampleItem
from shebao.audit.nightly import nightly_run
from shebao.registry.services import area_setting_set, person_register

pytestmark = pytest.mark.django_db

YESTERDAY = (timezone.localdate() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def world(area, other_area, owner, auditor, area_admin, stranger, person):
    """Nanjing: a registration yesterday, its nightly run, an alert and a drawn sample."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    # Nanjing works every day, so yesterday's 10:00 is in working hours whatever day it was.
    area_setting_set(
        actor=area_admin,
        area=area,
        key="working_days",
        value="1,2,3,4,5,6,7",
        valid_from=yesterday - dt.timedelta(days=1),
    )
    moment = timezone.make_aware(dt.datetime.combine(yesterday, dt.time(10, 0))).astimezone(dt.UTC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        person_register(actor=owner, area=area, id_number="11010519491231002X", name="李秀英")
    nightly_run(actor=None, area=area, day=yesterday)
    alert = Alert.objects.create(
        area=area,
        kind=AlertKind.REPEATED_REPLACEMENTS,
        subject=f"person:{person.pk}",
        day=yesterday,
        detail={"person": person.pk, "count": 2},
        raised_at=timezone.now(),
    )
    sample = sampling.sample_draw(
        actor=auditor, area=area, period_start=yesterday, period_end=yesterday, size=5, seed=11
    )
    return {
        "area": area.code,
        "alert": alert.pk,
        "sample": sample.pk,
        "item": sample.items.get().pk,
    }


# Every internal control operation with a request a stranger might make against
# area A's records. `list` answers an auditor of B with B's own (no A in it).
OPERATIONS = [
    ("GET", "/control/alerts", None, "list"),
    ("POST", "/control/alerts/{alert}/acknowledge", {"note": "看过"}, "refused"),
    ("POST", "/control/alerts/{alert}/dismiss", {"note": "无问题"}, "refused"),
    ("GET", "/control/reconciliations", None, "list"),
    ("GET", "/control/chain-checks", None, "list"),
    ("POST", "/control/nightly", {"area": "{area}"}, "refused"),
    ("GET", "/control/samples", None, "list"),
    (
        "POST",
        "/control/samples",
        {"period_start": YESTERDAY, "period_end": YESTERDAY, "size": 5},
        "own",
    ),
    ("GET", "/control/samples/{sample}", None, "refused"),
    ("POST", "/control/samples/{sample}/items/{item}/mark", {"verdict": "ok"}, "refused"),
]


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger, other_area, method, path, payload, kind):
    # Beijing's registrar, and Beijing's own auditor: neither touches Nanjing's controls.
    for someone in (stranger, make_user("auditor-bj", Role.AUDITOR, other_area)):
        response = call(
            api_client(someone), method, fill(path, world), fill_payload(payload, world)
        )
        if kind == "list" and someone.role == Role.AUDITOR:
            assert response.status_code == 200, response.content
            assert "320100" not in json.dumps(response.json()["items"])
        elif kind == "own" and someone.role == Role.AUDITOR:
            # Beijing's auditor samples Beijing, which had no staff action yesterday.
            assert response.status_code == 409 and response.json()["code"] == "sample_empty"
        else:
            assert response.status_code in (403, 404), response.content
            assert response.json()["code"] in ("forbidden", "not_found")
    assert Alert.objects.get(pk=world["alert"]).status == AlertStatus.OPEN
    assert Sample.objects.count() == 1
    assert SampleItem.objects.get(pk=world["item"]).verdict == "pending"


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_auditor_works_through_the_queue(world, auditor):
    client = api_client(auditor)
    listed = call(client, "GET", "/control/alerts?status=open").json()
    assert [item["id"] for item in listed["items"]] == [world["alert"]]
    item = listed["items"][0]
    assert (item["kind"], item["status"], item["detail"]["count"]) == (
        "repeated_replacements",
        "open",
        2,
    )
    refused = call(
        client,
        "POST",
        f"/control/alerts/{world['alert']}/dismiss",
        {"note": " "},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    assert (refused.json()["code"], refused.json()["field"]) == ("note_required", "note")
    assert refused.json()["message"] == "Say why the alert is dismissed."
    done = call(
        client, "POST", f"/control/alerts/{world['alert']}/acknowledge", {"note": "已约谈当事人"}
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["status"], body["note"], body["handled_by"]) == (
        "acknowledged",
        "已约谈当事人",
        "auditor",
    )
    assert call(client, "GET", "/control/alerts?status=open").json()["count"] == 0
    again = call(client, "POST", f"/control/alerts/{world['alert']}/dismiss", {"note": "x"})
    assert (again.status_code, again.json()["code"]) == (409, "alert_handled")


def test_the_administrator_reads_but_does_not_handle_alerts(world, area_admin):
    client = api_client(area_admin)
    assert call(client, "GET", "/control/alerts").json()["count"] == 1
    response = call(client, "POST", f"/control/alerts/{world['alert']}/acknowledge", {})
    assert response.status_code == 403
    assert (
        call(
            client,
            "POST",
            "/control/samples",
            {
                "period_start": YESTERDAY,
                "period_end": YESTERDAY,
                "size": 1,
            },
        ).status_code
        == 403
    )


def test_reconciliations_and_chain_checks_are_listed(world, auditor):
    client = api_client(auditor)
    reconciled = call(client, "GET", f"/control/reconciliations?day={YESTERDAY}").json()
    assert sorted(item["kind"] for item in reconciled["items"]) == ["cards", "fees", "stock"]
    assert all(item["ok"] and item["differences"] == [] for item in reconciled["items"])
    only_fees = call(client, "GET", "/control/reconciliations?kind=fees").json()
    assert [item["kind"] for item in only_fees["items"]] == ["fees"]
    checks = call(client, "GET", "/control/chain-checks").json()["items"]
    assert [(c["chain"], c["day"], c["ok"], c["breaks"]) for c in checks] == [
        ("320100", YESTERDAY, True, [])
    ]


def test_the_auditor_draws_a_sample_and_marks_its_actions(world, area, auditor):
    client = api_client(auditor)
    drawn = call(
        client,
        "POST",
        "/control/samples",
        {"period_start": YESTERDAY, "period_end": YESTERDAY, "size": 5, "seed": 11},
    )
    assert drawn.status_code == 201, drawn.content
    body = drawn.json()
    assert (body["seed"], body["population"], body["size"], body["drawn_by"]) == (
        11,
        1,
        5,
        "auditor",
    )
    [item] = body["items"]
    registered = AuditEvent.objects.get(action="person.register")
    assert (item["event"], item["action"], item["actor"], item["verdict"]) == (
        registered.pk,
        "person.register",
        "owner",
        "pending",
    )
    # The same seed finds the same action as the sample drawn before.
    first = call(client, "GET", f"/control/samples/{world['sample']}").json()
    assert [i["event"] for i in first["items"]] == [item["event"]]

    path = f"/control/samples/{body['id']}/items/{item['id']}/mark"
    finding = call(client, "POST", path, {"verdict": "finding"})
    assert (finding.status_code, finding.json()["field"]) == (400, "note")
    marked = call(client, "POST", path, {"verdict": "finding", "note": "未核验户籍证明"})
    assert marked.status_code == 200, marked.content
    assert (marked.json()["verdict"], marked.json()["checked_by"]) == ("finding", "auditor")
    listed = call(client, "GET", "/control/samples").json()["items"]
    counts = {sample["id"]: (sample["checked"], sample["findings"]) for sample in listed}
    assert counts == {world["sample"]: (0, 0), body["id"]: (1, 1)}
    # An item of one sample is not reachable through another.
    other = call(
        client,
        "POST",
        f"/control/samples/{world['sample']}/items/{item['id']}/mark",
        {
            "verdict": "ok",
        },
    )
    assert other.status_code == 404


def test_the_nightly_run_is_started_for_the_callers_area(world, area, auditor, ministry_api):
    client = api_client(auditor)
    response = call(client, "POST", "/control/nightly", {"day": YESTERDAY})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["area"], body["day"], body["chain"]["ok"]) == ("320100", YESTERDAY, True)
    assert sorted(row["kind"] for row in body["reconciliations"]) == ["cards", "fees", "stock"]
    assert body["new_alerts"] == []  # the same day again: nothing new
    # The ministry reads every area's controls but the area runs its own night.
    assert call(ministry_api, "POST", "/control/nightly", {"area": "320100"}).status_code == 403
    everything = call(ministry_api, "GET", "/control/alerts?area=320100").json()
    assert everything["count"] == 1
