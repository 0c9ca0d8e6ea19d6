"""Supervision and complaint endpoints: a person reads their table and files a
complaint with its evidence, staff handle it; strangers and anonymous callers
are refused everywhere."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.complaints import services
from shebao.complaints.models import Complaint, ComplaintEvent
from shebao.complaints.testing import OCTOBER, bill, contributions_officer, declare

pytestmark = pytest.mark.django_db

FILE = {
    "kind": "unpaid",
    "text": "单位扣款未缴。",
    "employer": "{employer}",
    "months": ["2026-10-01"],
}
RECORD = {
    "kind": "undeclared",
    "text": "来电举报。",
    "channel": "phone",
    "employer": "{employer}",
    "person": "{person}",
}

OPERATIONS = [
    ("GET", "/my/supervision", None, "refused"),
    ("GET", "/my/complaints", None, "refused"),
    ("POST", "/my/complaints", FILE, "refused"),
    ("GET", "/complaints", None, "list"),
    ("POST", "/complaints", RECORD, "refused"),
    ("GET", "/complaints/{complaint}", None, "refused"),
    ("POST", "/complaints/{complaint}/assign", {"assignee": "{officer}"}, "refused"),
    ("POST", "/complaints/{complaint}/accept", {"note": ""}, "refused"),
    ("POST", "/complaints/{complaint}/investigate", {}, "refused"),
    ("POST", "/complaints/{complaint}/resolve", {"outcome": "x"}, "refused"),
    ("POST", "/complaints/{complaint}/reject", {"reason": "x"}, "refused"),
    ("POST", "/complaints/{complaint}/transfer", {"to_area": "110100", "reason": "x"}, "refused"),
    ("POST", "/complaints/{complaint}/comment", {"note": "x"}, "refused"),
]


@pytest.fixture
def world(area, other_area, person, employer, employment, individual, area_admin):
    officer = contributions_officer(area)
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)
    complaint = services.complaint_file(
        actor=individual, kind="unpaid", text="单位扣款未缴。", employer=employer
    )
    return {
        "area": area.code,
        "person": person.pk,
        "employer": employer.pk,
        "officer": officer.pk,
        "complaint": complaint.pk,
        "officer_user": officer,
        "person_api": api_client(individual),
        "officer_api": api_client(officer),
        "admin_api": api_client(area_admin),
    }


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload is None:
        return getattr(client, method.lower())(path)
    body = re.sub(r'"\{(\w+)\}"', lambda m: str(world[m.group(1)]), json.dumps(payload))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


def unchanged(world):
    complaint = Complaint.objects.get(pk=world["complaint"])
    assert Complaint.objects.count() == 1
    assert (complaint.status, complaint.assignee_id) == ("received", None)
    assert ComplaintEvent.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    assert response.status_code in (403, 404), response.content
    assert response.json()["code"] in ("forbidden", "not_found")
    unchanged(world)


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_complaints_officer_of_another_area_is_refused(
    world, other_area, method, path, payload, kind
):
    outsider = api_client(make_user("bj", Role.CONTRIBUTIONS_OFFICER, other_area))
    response = call(outsider, method, path, payload, world)
    if kind == "list":
        assert response.status_code == 200 and response.json()["items"] == []
    else:
        assert response.status_code in (403, 404), response.content
    unchanged(world)


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    unchanged(world)


def test_the_person_reads_the_supervision_table(world):
    response = call(world["person_api"], "GET", "/my/supervision?on=2026-12-01", None, world)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["person"] == world["person"]
    assert body["months"] == [
        {
            "period": "2026-10-01",
            "employer": world["employer"],
            "employer_name": body["months"][0]["employer_name"],
            "employed": True,
            "declared_wage": "9000.00",
            "billed_employer": "2115.00",
            "billed_individual": "945.00",
            "bill": body["months"][0]["bill"],
            "due_on": "2026-11-15",
            "paid": False,
            "overdue": True,
            "flags": ["withheld_unpaid"],
        }
    ]


def test_the_person_files_with_evidence_and_follows_the_case(world):
    filed = call(world["person_api"], "POST", "/my/complaints", FILE, world)
    assert filed.status_code == 201, filed.content
    case = filed.json()
    assert [row["period"] for row in case["evidence"]] == ["2026-10"]
    assert case["evidence"][0]["flags"] == ["withheld_unpaid"]
    assert case["history"][0]["operation"] == "file"

    mine = call(world["person_api"], "GET", "/my/complaints", None, world).json()
    assert mine["count"] == 2

    path = f"/complaints/{case['id']}"
    accepted = call(world["officer_api"], "POST", path + "/accept", {"note": "受理"}, world)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["assignee"] == world["officer_user"].username
    resolved = call(world["officer_api"], "POST", path + "/resolve", {"outcome": "已补缴。"}, world)
    assert resolved.json()["status"] == "resolved"

    seen = call(world["person_api"], "GET", path, None, world).json()
    assert (seen["status"], seen["outcome"]) == ("resolved", "已补缴。")
    assert [(e["operation"], e["actor"]) for e in seen["history"]] == [
        ("file", "person"),
        ("accept", None),  # staff are not named to the complainant
        ("resolve", None),
    ]


def test_a_person_sees_no_one_elses_complaint(world, area):
    from shebao.registry.models import Person

    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date="1949-12-31",
        sex="F",
        registered_on="2005-01-01",
    )
    someone = api_client(make_user("li", Role.INDIVIDUAL, area, person_id=other.pk))
    response = call(someone, "GET", "/complaints/{complaint}", None, world)
    assert response.status_code == 404
    assert call(someone, "GET", "/my/complaints", None, world).json()["count"] == 0


def test_an_illegal_move_is_a_conflict(world):
    response = call(world["officer_api"], "POST", "/complaints/{complaint}/resolve",
                    {"outcome": "x"}, world)  # fmt: skip
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    unchanged(world)


def test_staff_record_assign_and_list_the_queue(world):
    recorded = call(world["officer_api"], "POST", "/complaints", RECORD, world)
    assert recorded.status_code == 201, recorded.content
    assert (recorded.json()["channel"], recorded.json()["person"]) == ("phone", world["person"])
    assigned = call(world["admin_api"], "POST", "/complaints/{complaint}/assign",
                    {"assignee": world["officer"]}, world)  # fmt: skip
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "contrib"
    queue = call(world["officer_api"], "GET", "/complaints?status=open", None, world).json()
    assert queue["count"] == 2
    assert (
        call(world["officer_api"], "GET", "/complaints?overdue=true", None, world).json()["count"]
        == 0
    )


def test_a_transfer_hands_the_case_to_the_other_area(world, other_area):
    response = call(world["officer_api"], "POST", "/complaints/{complaint}/transfer",
                    {"to_area": other_area.code, "reason": "属北京管辖。"}, world)  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "transferred"
    assert body["transferred_to"]["area"] == other_area.code
    assert "属北京管辖。" in body["history"][-1]["document"]
    beijing = api_client(make_user("bj", Role.CONTRIBUTIONS_OFFICER, other_area))
    queue = call(beijing, "GET", "/complaints", None, world).json()
    assert [item["reference"] for item in queue["items"]] == [body["transferred_to"]["reference"]]
    assert queue["items"][0]["person"] == world["person"]
