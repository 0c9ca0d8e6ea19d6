"""The emergency plan's page: the area administrator switches the system to
read-only, backs up, verifies, restores with the file name typed again and
makes it writable again — the page working throughout, each step a job page
or a message, each audited; auditors only look; everyone else gets 404."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from shebao.audit.models import NATIONAL_CHAIN, AuditEvent
from shebao.audit.services import audit_verify
from shebao.core import maintenance
from shebao.jobs.models import Job, JobStatus
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db

NAME = "shebao-20260101T000000000000.sqlite3"
PAGES = [
    ("get", reverse("web:emergency"), {}),
    ("post", reverse("web:emergency_read_only"), {"reason": "恢复演练"}),
    ("post", reverse("web:emergency_writable"), {}),
    ("post", reverse("web:emergency_backup"), {}),
    ("post", reverse("web:emergency_verify", args=[NAME]), {}),
    ("post", reverse("web:emergency_restore", args=[NAME]), {"confirm": NAME}),
]


@pytest.fixture(autouse=True)
def backups_in_tmp(settings, tmp_path):
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "backups")
    yield tmp_path / "backups"
    maintenance.remove_flag()  # a failed test must not leave the session read-only


def signed_in(user, language="en"):
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.parametrize("user", ["stranger", "owner", "employer_user", "individual", "cashier"])
@pytest.mark.parametrize(("method", "url", "data"), PAGES)
def test_it_is_not_found_for_anyone_else(request, user, method, url, data):
    client = signed_in(request.getfixturevalue(user))
    assert getattr(client, method)(url, data).status_code == 404
    assert maintenance.read_only_state() is None
    assert not AuditEvent.objects.filter(action__startswith="emergency.").exists()


@pytest.mark.parametrize(("method", "url", "data"), PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(db, method, url, data):
    response = getattr(Client(), method)(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert maintenance.read_only_state() is None


def test_the_navigation_leads_there_for_administrators_and_auditors(area_admin, auditor, owner):
    link = f'href="{reverse("web:emergency")}"'
    assert link in signed_in(area_admin).get("/").content.decode()
    assert link in signed_in(auditor).get("/").content.decode()
    assert link not in signed_in(owner).get("/").content.decode()


def test_an_auditor_sees_the_state_without_the_buttons(auditor):
    page = signed_in(auditor).get(reverse("web:emergency")).content.decode()
    assert "Emergency plan" in page and "There is no verified backup." in page
    assert "Back up now" not in page and "Switch to read-only" not in page
    chinese = signed_in(auditor, "zh-hans").get(reverse("web:emergency")).content.decode()
    assert "应急预案" in chinese


def test_the_reason_is_required(area_admin):
    response = signed_in(area_admin).post(reverse("web:emergency_read_only"), {"reason": " "})
    assert response.status_code == 400
    assert 'id="id_reason-error"' in response.content.decode()
    assert maintenance.read_only_state() is None


def follow_job(client, response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"].startswith("/jobs/")
    job = Job.objects.get(pk=int(response["Location"].split("/")[2]))
    assert client.get(response["Location"]).status_code == 200
    return job


@pytest.mark.django_db(transaction=True)
def test_the_administrator_restores_a_backup_from_the_page(area_admin, owner, person):
    client = signed_in(area_admin)
    page_url = reverse("web:emergency")

    entered = client.post(reverse("web:emergency_read_only"), {"reason": "恢复演练"})
    assert entered.status_code == 302 and entered["Location"] == page_url
    assert (maintenance.read_only_state() or {})["reason"] == "恢复演练"
    assert AuditEvent.objects.filter(action="emergency.read_only.enter").count() == 1
    # A write elsewhere is refused; this page goes on working.
    registrar = signed_in(owner)
    assert registrar.post(reverse("web:person", args=[person.pk]), {}).status_code == 503
    page = client.get(page_url).content.decode()
    assert "Leave read-only mode" in page and "恢复演练" in page
    assert 'accesskey="w"' in page and 'accesskey="b"' in page

    backed_up = follow_job(client, client.post(reverse("web:emergency_backup")))
    assert backed_up.status == JobStatus.DONE, backed_up.error
    name = backed_up.result["file"]
    job_page = client.get(reverse("web:job", args=[backed_up.pk])).content.decode()
    assert name in job_page and "It is verified" in job_page
    assert (AuditEvent.objects.get(action="emergency.backup").after or {})["file"] == name
    page = client.get(page_url).content.decode()
    assert name in page and "verified" in page and "Restore this backup" in page

    verified = follow_job(client, client.post(reverse("web:emergency_verify", args=[name])))
    assert verified.status == JobStatus.DONE and verified.result["verified"] is True
    assert AuditEvent.objects.filter(action="emergency.verify").count() == 1

    restore_url = reverse("web:emergency_restore", args=[name])
    missing = client.post(restore_url, {})
    assert missing.status_code == 400 and 'id="id_confirm-error"' in missing.content.decode()
    wrong = client.post(restore_url, {"confirm": "shebao-other.sqlite3"})
    assert wrong.status_code == 400
    assert "to confirm the restore" in wrong.content.decode()
    unknown = client.post(
        reverse("web:emergency_restore", args=["shebao-x.sqlite3"]), {"confirm": "shebao-x.sqlite3"}
    )
    assert unknown.status_code == 404
    assert "There is no backup called shebao-x.sqlite3" in unknown.content.decode()
    assert not AuditEvent.objects.filter(action="emergency.restore").exists()

    Person.objects.filter(pk=person.pk).delete()  # a change after the backup, taken back
    restored = follow_job(client, client.post(restore_url, {"confirm": name}))
    assert restored.status == JobStatus.DONE, restored.error
    assert Person.objects.filter(pk=person.pk).exists()
    checked, breaks = audit_verify()
    assert breaks == [] and checked == AuditEvent.objects.count()
    last = AuditEvent.objects.filter(chain=NATIONAL_CHAIN).order_by("-seq")[1]
    assert (last.action, (last.after or {})["file"]) == ("emergency.restore", name)

    left = client.post(reverse("web:emergency_writable"))
    assert left.status_code == 302 and maintenance.read_only_state() is None
    assert AuditEvent.objects.filter(action="emergency.read_only.leave").count() == 1
    assert "Switch to read-only" in client.get(page_url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_restore_is_refused_while_the_system_is_writable(area_admin):
    client = signed_in(area_admin)
    name = follow_job(client, client.post(reverse("web:emergency_backup"))).result["file"]
    page = client.get(reverse("web:emergency")).content.decode()
    assert "Restore this backup" not in page  # not offered
    response = client.post(reverse("web:emergency_restore", args=[name]), {"confirm": name})
    assert response.status_code == 400
    assert "Switch the system to read-only first" in response.content.decode()
    assert not AuditEvent.objects.filter(action="emergency.restore").exists()
