"""REST API: area approval — applications, documents, checklist, decisions, the
overview, drills and extra conditions; every endpoint refuses strangers and
anonymous callers."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import api_client
from shebao.approval import services
from shebao.approval.models import AreaApplication, DrillRecord, ExtraCondition
from shebao.approval.testing import fake_backup, only_own_checks, prepared_application
from shebao.cards import production
from shebao.cards.bench import approved_cards
from shebao.registry.models import AreaStatus

pytestmark = pytest.mark.django_db

BASE = "/api/v1"


@pytest.fixture(autouse=True)
def _approval_folders(settings, tmp_path, monkeypatch):
    settings.APPROVAL_DOCUMENTS_DIR = tmp_path / "approval"
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "backups")
    fake_backup(tmp_path / "backups")
    only_own_checks(monkeypatch)


def call(client, method, path, payload=None, **headers):
    if payload is not None and "file" in payload:
        data = {key: value for key, value in payload.items() if key != "file"}
        data["file"] = SimpleUploadedFile("doc.pdf", payload["file"].encode(), "application/pdf")
        return client.post(BASE + path, data=data, **headers)
    kwargs = {"content_type": "application/json", **headers}
    if payload is not None:
        kwargs["data"] = json.dumps(payload)
    return getattr(client, method.lower())(BASE + path, **kwargs)


def fill(text, world):
    return re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), text)


def fill_payload(payload, world):
    if payload is None:
        return None
    return json.loads(fill(json.dumps(payload), world))


@pytest.fixture
def world(area, other_area, stranger, area_admin, ministry):
    """Area A with an outlet and a submitted initial application; an extra
    condition for area A only; a drill."""
    area.outlets.create(code="WD001", name="玄武区社会保险服务大厅")
    application = prepared_application(area_admin, area)
    condition = services.extra_condition_create(
        actor=ministry, title="南京专项", area_codes=[area.code]
    )
    item = application.items.get(code="b.evidence")
    services.application_submit(actor=area_admin, application=application)
    return {
        "area": area.code,
        "application": application.pk,
        "document": application.documents.get(kind="card_face").pk,
        "item": item.pk,
        "condition": condition.pk,
    }


# Every endpoint of this module with a request a stranger might make against area A.
OPERATIONS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/area-applications", None, "list"),
    ("POST", "/area-applications", {"area": "{area}", "kind": "initial"}, "refused"),
    ("GET", "/area-applications/{application}", None, "refused"),
    (
        "POST",
        "/area-applications/{application}/documents",
        {"kind": "other", "file": "x"},
        "refused",
    ),
    ("GET", "/area-documents/{document}", None, "refused"),
    (
        "POST",
        "/area-applications/{application}/items/{item}",
        {"status": "met", "evidence": "x"},
        "refused",
    ),
    ("POST", "/area-applications/{application}/submit", None, "refused"),
    ("POST", "/area-applications/{application}/withdraw", None, "refused"),
    ("POST", "/area-applications/{application}/approve", {"issuer_id": "X1"}, "refused"),
    ("POST", "/area-applications/{application}/reject", {"reasons": "x"}, "refused"),
    ("POST", "/area-applications/{application}/acknowledge", {}, "refused"),
    ("GET", "/areas/{area}/approval", None, "refused"),
    ("POST", "/areas/{area}/approval-changes", {"kind": "card_face", "file": "x"}, "refused"),
    ("GET", "/approval-overview", None, "refused"),
    ("GET", "/drills", None, "list"),
    (
        "POST",
        "/drills",
        {
            "area": "{area}",
            "kind": "read_only",
            "done_at": "2026-01-01T10:00:00+08:00",
            "outcome": "passed",
            "evidence": "x",
        },
        "refused",
    ),
    ("GET", "/extra-conditions", None, "plain-list"),
    ("POST", "/extra-conditions", {"title": "x"}, "refused"),
    ("PATCH", "/extra-conditions/{condition}", {"active": False}, "refused"),
]


def nothing_changed(world):
    application = AreaApplication.objects.get(pk=world["application"])
    assert application.status == "submitted"
    assert application.documents.count() == 4
    assert AreaApplication.objects.count() == 1
    assert DrillRecord.objects.count() == 1
    assert ExtraCondition.objects.get().active


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, fill(path, world), fill_payload(payload, world))
    if kind == "list":
        assert response.status_code == 200
        assert response.json()["items"] == []
    elif kind == "plain-list":
        assert response.status_code == 200
        assert response.json() == []
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")
    nothing_changed(world)


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    nothing_changed(world)


# --- the workflow through the API -------------------------------------------------------


def test_apply_check_approve_and_produce_through_the_api(
    area, area_admin, ministry, card_officer, second_officer
):
    area.outlets.create(code="WD001", name="玄武")
    admin = api_client(area_admin)
    created = call(admin, "POST", "/area-applications", {"kind": "initial", "vendor": "金卡"})
    assert created.status_code == 201, created.content
    application = created.json()
    assert application["status"] == "draft" and application["area"] == "320100"
    codes = {item["code"] for item in application["items"]}
    assert {"a.backup", "a.audit_chain", "b.evidence", "d.drill"} <= codes

    for kind in ("preparation_report", "card_face", "file_structure", "local_rules"):
        uploaded = call(
            admin,
            "POST",
            f"/area-applications/{application['id']}/documents",
            {"kind": kind, "file": f"%PDF {kind}"},
        )
        assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["version"] == 1 and len(uploaded.json()["sha256"]) == 64

    drill = call(
        admin,
        "POST",
        "/drills",
        {
            "kind": "backup_restore",
            "done_at": (timezone.now() - dt.timedelta(days=3)).isoformat(),
            "outcome": "passed",
            "evidence": "恢复演练",
        },
    )
    assert drill.status_code == 201, drill.content
    assert drill.json()["area"] == "320100" and drill.json()["by"] == "areaadmin"

    detail = call(admin, "GET", f"/area-applications/{application['id']}").json()
    for item in detail["items"]:
        if item["source"] != "check":
            recorded = call(
                admin,
                "POST",
                f"/area-applications/{application['id']}/items/{item['id']}",
                {"status": "met", "evidence": "材料齐全"},
            )
            assert recorded.status_code == 200, recorded.content

    state = call(admin, "GET", "/areas/320100/approval").json()
    assert not state["may_produce"]
    assert all(check["ok"] for check in state["checks"]), state["checks"]

    submitted = call(admin, "POST", f"/area-applications/{application['id']}/submit")
    assert submitted.json()["status"] == "submitted"
    assert all(item["status"] == "met" for item in submitted.json()["items"])

    ministry_api = api_client(ministry)
    refused = call(
        admin, "POST", f"/area-applications/{application['id']}/approve", {"issuer_id": "X"}
    )
    assert refused.status_code == 403
    approved = call(
        ministry_api,
        "POST",
        f"/area-applications/{application['id']}/approve",
        {"issuer_id": "320100A1", "reasons": "同意"},
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["issuer_id"] == "320100A1"
    area.refresh_from_db()
    assert area.status == AreaStatus.APPROVED

    approved_cards(area, 1, submitted_by=card_officer, approved_by=second_officer)
    assert production.batch_create(actor=card_officer, area=area, vendor="金卡").card_count == 1

    overview = call(ministry_api, "GET", "/approval-overview").json()
    row = next(row for row in overview["areas"] if row["area"] == "320100")
    assert row["status"] == "approved" and row["conditions_met"] == row["conditions_total"]
    assert overview["totals"]["approved"] == 1


def test_a_card_face_change_and_a_rejection_through_the_api(world, area, area_admin, ministry):
    ministry_api = api_client(ministry)
    # The extra condition was set after the items were evidenced: not met, so approval
    # needs the ministry's written override.
    refused = call(
        ministry_api,
        "POST",
        f"/area-applications/{world['application']}/approve",
        {"issuer_id": "320100A1"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "conditions_not_met"
    approved = call(
        ministry_api,
        "POST",
        f"/area-applications/{world['application']}/approve",
        {"issuer_id": "320100A1", "override_reason": "专项条件已线下核实"},
    )
    assert approved.status_code == 200, approved.content

    admin = api_client(area_admin)
    changed = call(
        admin, "POST", "/areas/320100/approval-changes", {"kind": "card_face", "file": "v2"}
    )
    assert changed.status_code == 201, changed.content
    state = call(admin, "GET", "/areas/320100/approval").json()
    assert state["reapproval_required"] and not state["may_produce"]

    reapproval = state["open_application"]
    call(admin, "POST", f"/area-applications/{reapproval}/submit")
    rejected = call(
        ministry_api, "POST", f"/area-applications/{reapproval}/reject", {"reasons": "卡面不合规"}
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["reasons"] == "卡面不合规"
    assert call(admin, "GET", "/areas/320100/approval").json()["reapproval_required"]


def test_the_ministry_sets_and_switches_extra_conditions(world, ministry, area_admin):
    ministry_api = api_client(ministry)
    created = call(ministry_api, "POST", "/extra-conditions", {"title": "全国统一", "areas": []})
    assert created.status_code == 201 and created.json()["all_areas"]
    switched = call(
        ministry_api, "PATCH", f"/extra-conditions/{created.json()['id']}", {"active": False}
    )
    assert switched.json()["active"] is False
    seen = call(api_client(area_admin), "GET", "/extra-conditions").json()
    assert {row["title"] for row in seen} == {"南京专项", "全国统一"}
    downloaded = call(api_client(area_admin), "GET", f"/area-documents/{world['document']}")
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content).startswith(b"%PDF")
