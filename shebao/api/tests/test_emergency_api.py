"""Emergency plan endpoints: the area administrator takes the system through a
restore drill over the API — read-only, back up, verify, restore, writable
again — every step audited; strangers, other roles and anonymous callers are
refused, and a backup's name from a client is only ever looked up."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.audit.models import NATIONAL_CHAIN, AuditEvent
from shebao.audit.services import audit_verify
from shebao.core import maintenance
from shebao.emergency import backup
from shebao.emergency import jobs as emergency_jobs
from shebao.jobs.models import Job, JobStatus
from shebao.jobs.services import job_submit
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db

OPERATIONS = [
    ("GET", "/emergency", None, "refused"),
    ("POST", "/emergency/read-only", {"reason": "恢复演练"}, "refused"),
    ("DELETE", "/emergency/read-only", None, "refused"),
    ("POST", "/emergency/backups", None, "refused"),
    ("POST", "/emergency/backups/{backup}/verify", None, "refused"),
    ("POST", "/emergency/backups/{backup}/restore", {"confirm": "{backup}"}, "refused"),
]


@pytest.fixture(autouse=True)
def backups_in_tmp(settings, tmp_path):
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "backups")
    yield tmp_path / "backups"
    maintenance.remove_flag()  # a failed test must not leave the session read-only


@pytest.fixture
def world():
    return {"backup": "shebao-20260101T000000000000.sqlite3"}


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload is None:
        return getattr(client, method.lower())(path)
    body = re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), json.dumps(payload))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    assert response.status_code in (403, 404), response.content
    assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize("user", ["owner", "employer_user", "individual", "cashier"])
@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_other_users_of_the_area_are_refused(request, world, user, method, path, payload, kind):
    client = api_client(request.getfixturevalue(user))
    response = call(client, method, path, payload, world)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"
    assert maintenance.read_only_state() is None


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_auditor_reads_the_status_but_changes_nothing(area, world):
    client = api_client(make_user("auditor", Role.AUDITOR, area))
    status = client.get("/api/v1/emergency").json()
    assert status["read_only"] is None
    assert status["backups"] == [] and status["latest_verified_age_seconds"] is None
    for method, path, payload, _kind in OPERATIONS[1:]:
        assert call(client, method, path, payload, world).status_code == 403
    assert maintenance.read_only_state() is None


def test_a_backup_job_refuses_to_run_inside_an_open_transaction(area_admin, backups_in_tmp):
    # The test's own transaction is open here, as a request's would be with
    # ATOMIC_REQUESTS: the SQLite copy would wait for it for ever.
    job = job_submit(actor=area_admin, kind=emergency_jobs.BACKUP, params={})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error["code"] == "backup_in_transaction"
    assert not list(backups_in_tmp.glob("shebao-*"))


@pytest.mark.django_db(transaction=True)
def test_the_area_administrator_restores_a_backup_while_read_only(
    area_admin, owner, person, tmp_path, backups_in_tmp
):
    admin = api_client(area_admin)
    registrar = api_client(owner)

    # 1. Read-only: the reason is required, every write elsewhere is refused.
    refused = admin.post("/api/v1/emergency/read-only", data={}, content_type="application/json")
    assert refused.status_code == 422
    entered = admin.post(
        "/api/v1/emergency/read-only",
        data={"reason": "恢复演练"},
        content_type="application/json",
    )
    assert entered.status_code == 200, entered.content
    assert entered.json()["read_only"]["reason"] == "恢复演练"
    assert entered.json()["read_only"]["by"] == "areaadmin"
    assert events("emergency.read_only.enter")[-1].after == {"reason": "恢复演练"}
    write = registrar.patch(
        f"/api/v1/persons/{person.pk}", data={"phone": "1"}, content_type="application/json"
    )
    assert write.status_code == 503 and write.json()["code"] == "read_only"
    assert admin.get("/api/v1/emergency").status_code == 200

    # 2. Back up now: a job, answered 202, done (inline in tests), audited.
    started = admin.post("/api/v1/emergency/backups")
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["kind"] == "emergency_backup" and job["status"] == "done", job
    assert job["url"] == f"/api/v1/jobs/{job['id']}" and job["page"] == f"/jobs/{job['id']}/"
    name = job["result"]["file"]
    assert (backups_in_tmp / name).exists() and job["result"]["verified"] is True
    assert admin.get(job["url"]).json()["status"] == "done"
    recorded = events("emergency.backup")[-1]
    assert (recorded.after or {})["file"] == name and recorded.actor_name == "areaadmin"
    assert [(e.after or {})["kind"] for e in events("job.finish")] == ["emergency_backup"]

    status = admin.get("/api/v1/emergency").json()
    (listed,) = status["backups"]
    assert listed["file"] == name and listed["engine"] == connection.vendor and listed["verified"]
    assert listed["size"] == (backups_in_tmp / name).stat().st_size
    assert listed["sha256"] == backup.file_sha256(backups_in_tmp / name)
    assert listed["rows"] > 0 and 0 <= status["latest_verified_age_seconds"] < 600

    # 3. Verify it again: a job too, audited.
    verified = admin.post(f"/api/v1/emergency/backups/{name}/verify")
    assert verified.status_code == 202 and verified.json()["status"] == "done"
    assert verified.json()["result"]["verified"] is True
    assert (events("emergency.verify")[-1].after or {})["verification"]["ok"] is True

    # 4. Restores that must not start.
    def restore(target: str, payload: dict | None) -> Any:
        return admin.post(
            f"/api/v1/emergency/backups/{target}/restore",
            data=json.dumps(payload) if payload is not None else "{}",
            content_type="application/json",
        )

    assert restore(name, None).status_code == 422  # no confirmation at all
    wrong = restore(name, {"confirm": "shebao-other.sqlite3"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "restore_not_confirmed"
    unknown = restore("shebao-19990101T000000000000.sqlite3", {"confirm": "x"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "backup_not_found"
    assert "shebao-19990101T000000000000.sqlite3" in unknown.json()["message"]
    # A real backup outside the backup directory cannot be reached by its path.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(backups_in_tmp / name, elsewhere / name)
    shutil.copy(backup.manifest_path(backups_in_tmp / name), elsewhere)
    for sneaky in (f"..%2Felsewhere%2F{name}", f"..%5Celsewhere%5C{name}", "..", "."):
        assert restore(sneaky, {"confirm": sneaky}).status_code == 404, sneaky
    admin.delete("/api/v1/emergency/read-only")
    writable = restore(name, {"confirm": name})
    assert writable.status_code == 409 and writable.json()["code"] == "restore_needs_read_only"
    assert admin.post(
        "/api/v1/emergency/read-only", data={"reason": "恢复"}, content_type="application/json"
    ).json()["read_only"]
    assert events("emergency.restore") == []

    # 5. Something changes after the backup; the restore takes it back.
    Person.objects.filter(pk=person.pk).delete()
    restored = restore(name, {"confirm": name})
    assert restored.status_code == 202, restored.content
    body = restored.json()
    assert body["kind"] == "emergency_restore" and body["status"] == "done", body
    assert Person.objects.filter(pk=person.pk).exists()
    checked, breaks = audit_verify()
    assert breaks == [] and checked == AuditEvent.objects.count()
    last = list(AuditEvent.objects.filter(chain=NATIONAL_CHAIN).order_by("-seq")[:2])
    assert [e.action for e in last] == ["job.finish", "emergency.restore"]
    assert (last[1].after or {})["file"] == name and last[1].actor_name == "areaadmin"
    # The job's row came back with the restore, and ended.
    assert Job.objects.get(pk=body["id"]).status == JobStatus.DONE
    assert admin.get(body["url"]).json()["status"] == "done"

    # 6. Writable again.
    left = admin.delete("/api/v1/emergency/read-only")
    assert left.status_code == 200 and left.json()["read_only"] is None
    assert (events("emergency.read_only.leave")[-1].before or {})["reason"] == "恢复"
    again = admin.delete("/api/v1/emergency/read-only")
    assert again.status_code == 409 and again.json()["code"] == "read_only_not"
    assert (
        registrar.patch(
            f"/api/v1/persons/{person.pk}", data={"phone": "1"}, content_type="application/json"
        ).status_code
        == 200
    )
    assert maintenance.read_only_state() is None
