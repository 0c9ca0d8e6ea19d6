"""The job pages: the upload form leads to the job's page, which follows the job
and then shows the counts; who else may see a job."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.jobs import services
from shebao.jobs.models import Job, JobStatus
from shebao.jobs.tests.conftest import GOOD_ROWS, OCTOBER, october_file
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer

pytestmark = pytest.mark.django_db


def signed_in(user, language="en"):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def submitted(user, employer):
    return services.job_submit(
        actor=user,
        kind="declaration_import",
        params={"employer": employer.pk, "period": OCTOBER.isoformat()},
        files={"file": october_file(*GOOD_ROWS, "110105194912310021,李秀英,8000")},
    )


def test_the_upload_form_leads_to_the_jobs_page_with_the_counts(employer_user, employer, staff):
    client = signed_in(employer_user)
    response = client.post(
        reverse("web:declaration_upload"),
        {"period": "2026-10", "file": october_file(*GOOD_ROWS, "110105194912310021,李秀英,8000")},
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:job", args=[job.pk])
    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert "<progress" in text and 'value="3"' in text  # done: the bar is full
    tiles = dict(
        (label, int(count))
        for count, label in re.findall(r"<b>(\d+)</b><span>([^<]+)</span>", text)
    )
    assert (tiles["rows kept"], tiles["rows refused"]) == (2, 1)
    upload = job.result["upload"]
    assert reverse("web:declaration_upload_result", args=[upload]) in text
    assert reverse("web:declaration_upload_errors", args=[upload]) in text
    assert "jobs.js" not in text  # an ended job is not followed any more
    state = client.get(reverse("web:job_json", args=[job.pk])).json()
    assert (state["status"], state["percent"]) == ("done", 100)
    assert (state["result"]["rows_accepted"], state["result"]["rows_rejected"]) == (2, 1)


def test_a_running_job_shows_its_rate_and_time_left_and_follows_itself(officer, area):
    now = timezone.now()
    job = Job.objects.create(
        area=area,
        kind="bill_run",
        params={"area": area.code, "period": "2026-10-01"},
        status=JobStatus.RUNNING,
        done=50,
        total=200,
        message="Computing the bills",
        created_by=officer,
        created_at=now - dt.timedelta(seconds=11),
        started_at=now - dt.timedelta(seconds=10),
        heartbeat_at=now,
    )
    client = signed_in(officer)
    state = client.get(reverse("web:job_json", args=[job.pk])).json()
    assert (state["done"], state["total"], state["percent"], state["finished"]) == (
        50,
        200,
        25,
        False,
    )
    assert 4.9 <= state["rate"] <= 5.0
    assert 30 <= state["seconds_left"] <= 31
    assert state["left_text"] in ("about 30 seconds left", "about 31 seconds left")
    text = client.get(reverse("web:job", args=[job.pk])).content.decode()
    assert 'max="200" value="50"' in text
    assert "shebao/jobs.js" in text
    assert '<noscript><meta http-equiv="refresh"' in text
    assert f'data-job-poll="{reverse("web:job_json", args=[job.pk])}"' in text
    assert "steps a second" in text


def test_a_failed_job_shows_its_error(officer, area):
    now = timezone.now()
    job = Job.objects.create(
        area=area,
        kind="bill_run",
        status=JobStatus.FAILED,
        error={"code": "no_policy", "message": "No contribution policy covers 2026-10."},
        created_by=officer,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    text = signed_in(officer).get(reverse("web:job", args=[job.pk])).content.decode()
    assert 'id="job-error"' in text and "No contribution policy covers 2026-10." in text


def test_who_sees_a_job(employer_user, employer, staff, officer, owner, stranger, ministry, area):
    job = submitted(employer_user, employer)
    other_employer = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京其他有限公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )
    other_employer_user = make_user(
        "other-employer", Role.EMPLOYER, area, employer_id=other_employer.pk
    )
    page = reverse("web:job", args=[job.pk])
    data = reverse("web:job_json", args=[job.pk])
    api = f"/api/v1/jobs/{job.pk}"
    # The creator, a contributions officer of the area, the ministry.
    for user in (employer_user, officer, ministry):
        client = signed_in(user)
        assert client.get(page).status_code == 200, user.username
        assert client.get(data).json()["id"] == job.pk
        assert str(job.pk) in client.get(reverse("web:jobs")).content.decode()
        assert api_client(user).get(api).status_code == 200
    # A stranger, a registrar of the area (no right to declare), another employer.
    for user in (stranger, owner, other_employer_user):
        client = signed_in(user)
        assert client.get(page).status_code == 404, user.username
        assert client.get(data).status_code == 404
        assert page not in client.get(reverse("web:jobs")).content.decode()
        assert api_client(user).get(api).status_code == 404
    assert Client().get(page).status_code == 302  # to the sign-in page
    assert Client().get(api).status_code == 401


def test_the_bank_file_form_leads_to_the_report(officer, employer, area):
    content = (
        "bank_reference,credit_code,amount,paid_on\n"
        f"F001,{employer.credit_code},500.00,2026-08-15\n"
        f"F002,{employer.credit_code},lots,2026-08-15\n"
    ).encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(officer)
    response = client.post(
        reverse("web:contribution_payment_new"),
        {"send_file": "1", "file": SimpleUploadedFile("bank.csv", content, "text/csv")},
    )
    job = Job.objects.get()
    assert response["Location"] == reverse("web:job", args=[job.pk])
    assert (job.kind, job.status, job.done, job.total) == ("payments_import", "done", 2, 2)
    assert (job.result["recorded"], job.result["rejected"]) == (1, 1)
    assert job.result["errors"][0]["code"] == "amount_format"
    bad = client.post(
        reverse("web:contribution_payment_new"),
        {"send_file": "1", "file": SimpleUploadedFile("bank.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert bad.status_code == 400 and bad.context["file_form"].errors["file"]
    assert Job.objects.count() == 1


def test_the_jobs_list_shows_the_nav_link(officer):
    with translation.override("en"):
        text = signed_in(officer).get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:jobs")}"' in text
