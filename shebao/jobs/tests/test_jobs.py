"""Jobs: submitted, run with their progress recorded, ended with a result or an
error; run on a thread of the pool; taken back from a process that died and
run again without declaring anything twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from shebao.api.jobs import JobOut
from shebao.audit.models import AuditEvent
from shebao.contributions import declarations
from shebao.contributions.models import DeclarationLine, DeclarationUpload
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.jobs import services
from shebao.jobs.kinds import KINDS, JobKind, job_dir, job_file
from shebao.jobs.models import Job, JobStatus
from shebao.jobs.tests.conftest import GOOD_ROWS, OCTOBER, october_file

pytestmark = pytest.mark.django_db


def submit_october(user, employer, *rows):
    return services.job_submit(
        actor=user,
        kind="declaration_import",
        params={"employer": employer.pk, "period": OCTOBER.isoformat()},
        files={"file": october_file(*rows)},
    )


def counting_kind(run, name="count"):
    """A kind for the tests: the officer's area, no file."""
    return JobKind(
        name=name,
        title="Counting",
        unit="things",
        capability="bill.run",
        run=run,
        check=lambda actor, params, files: actor.area_id,
    )


def test_it_imports_a_declaration_file_and_keeps_the_counts(employer_user, employer, staff):
    job = submit_october(employer_user, employer, *GOOD_ROWS, "110105194912310021,李秀英,8000")
    assert job.status == JobStatus.DONE
    assert (job.area_id, job.kind, job.created_by) == (
        employer.area_id,
        "declaration_import",
        employer_user,
    )
    upload = DeclarationUpload.objects.get()
    assert job.result == {
        "upload": upload.pk,
        "employer": employer.pk,
        "period": "2026-10-01",
        "rows_read": 3,
        "rows_accepted": 2,
        "rows_unchanged": 0,
        "rows_rejected": 1,
    }
    assert (job.done, job.total) == (3, 3)
    assert job.started_at <= job.finished_at and job.heartbeat_at is not None
    assert DeclarationLine.objects.count() == 2
    assert not job_dir(job.pk).exists()  # the file is deleted when the job ends
    actions = list(
        AuditEvent.objects.filter(subject_id=str(job.pk), action__startswith="job.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["job.submit", "job.finish"]


def test_it_records_progress_while_it_runs(monkeypatch, officer):
    monkeypatch.setattr(services, "WRITE_EVERY_SECONDS", 0)
    seen = []

    def run(job, report):
        for done in (1, 2, 3):
            report(done, 3, f"thing {done}")
            row = Job.objects.get(pk=job.pk)
            seen.append((row.status, row.done, row.total, row.message))
        return {"things": 3}

    monkeypatch.setitem(KINDS, "count", counting_kind(run))
    job = services.job_submit(actor=officer, kind="count", params={})
    assert seen == [("running", n, 3, f"thing {n}") for n in (1, 2, 3)]
    assert (job.status, job.done, job.total, job.result, job.error) == (
        "done",
        3,
        3,
        {"things": 3},
        {},
    )


def test_a_job_that_is_refused_records_the_error_users_can_read(monkeypatch, officer):
    def run(job, report):
        report(1, 10, "")
        raise Conflict("The month is closed.", code="month_closed", field="period")

    monkeypatch.setitem(KINDS, "count", counting_kind(run))
    job = services.job_submit(actor=officer, kind="count", params={})
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.error == {
        "code": "month_closed",
        "message": "The month is closed.",
        "field": "period",
    }
    assert (job.done, job.total, job.result) == (1, 10, {})
    assert AuditEvent.objects.filter(action="job.fail", subject_id=str(job.pk)).exists()


def test_a_job_that_crashes_says_so_without_the_trace(monkeypatch, officer, staff, employer):
    def run(job, report):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setitem(KINDS, "count", counting_kind(run))
    with translation.override("en"):
        job = services.job_submit(actor=officer, kind="count", params={})
    assert job.status == JobStatus.FAILED
    assert job.error["code"] == "job_crashed"
    assert "unexpected error" in job.error["message"]
    assert "secret" not in job.error["message"]


def test_what_would_certainly_fail_is_refused_at_submission(employer_user, employer, staff):
    with pytest.raises(InvalidInput) as caught:
        services.job_submit(
            actor=employer_user,
            kind="declaration_import",
            params={"employer": employer.pk, "period": OCTOBER.isoformat()},
            files={"file": october_file(name="october.pdf")},
        )
    assert caught.value.field == "file"
    with pytest.raises(InvalidInput) as caught:
        services.job_submit(
            actor=employer_user,
            kind="declaration_import",
            params={"employer": employer.pk, "period": "2099-01-01"},
            files={"file": october_file(*GOOD_ROWS)},
        )
    assert caught.value.code == "period_future"
    assert not Job.objects.exists()


def test_a_role_without_the_capability_cannot_submit(owner, employer_user, staff):
    with pytest.raises(Forbidden):
        services.job_submit(actor=owner, kind="bill_run", params={"area": owner.area_id})
    with pytest.raises(Forbidden):
        services.job_submit(actor=employer_user, kind="bill_run", params={"area": "320100"})
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_pool_runs_the_job_on_a_thread_of_its_own(
    settings, monkeypatch, employer_user, employer, staff
):
    settings.JOBS_INLINE = False
    settings.JOBS_WORKERS = 1
    ran_on = []
    declaration = KINDS["declaration_import"]

    def run(job, report):
        ran_on.append(threading.current_thread().name)
        return declaration.run(job, report)

    monkeypatch.setitem(KINDS, "declaration_import", dataclasses.replace(declaration, run=run))
    job = submit_october(employer_user, employer, *GOOD_ROWS)
    assert services.jobs_wait(timeout=30)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert (
        ran_on
        and ran_on[0].startswith("shebao-job")
        and ran_on[0] != threading.current_thread().name
    )
    assert job.result["rows_accepted"] == 2
    assert DeclarationLine.objects.count() == 2


def test_a_job_of_a_process_that_died_is_run_again_and_declares_nothing_twice(
    settings, employer_user, employer, staff
):
    settings.JOBS_INLINE = False
    settings.JOBS_WORKERS = 0  # queued for `shebao jobs run`
    job = submit_october(employer_user, employer, *GOOD_ROWS)
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    # A worker took the job, imported the whole file, and died before ending it.
    long_ago = timezone.now() - dt.timedelta(seconds=settings.JOBS_STALE_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago, attempts=1
    )
    with job_file(Job.objects.get(pk=job.pk), "file").open("rb") as stream:
        declarations.declaration_import(
            actor=employer_user,
            employer=employer,
            period=OCTOBER,
            stream=stream,
            filename="october.csv",
        )
    assert DeclarationLine.objects.count() == 2

    out = io.StringIO()
    call_command("jobs", "run", "--once", stdout=out, stderr=io.StringIO())

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert DeclarationLine.objects.count() == 2  # nothing declared twice
    assert (job.result["rows_accepted"], job.result["rows_unchanged"]) == (0, 2)
    assert AuditEvent.objects.filter(action="job.requeue", subject_id=str(job.pk)).exists()
    assert f"job {job.pk} declaration_import: done" in out.getvalue()


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(settings, monkeypatch, officer):
    settings.JOBS_INLINE = False
    settings.JOBS_WORKERS = 0
    monkeypatch.setitem(KINDS, "count", counting_kind(lambda job, report: {}))
    job = services.job_submit(actor=officer, kind="count", params={})
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now)
    assert services.jobs_requeue_stale() == []
    assert services.job_execute(job.pk) is False  # not queued: someone runs it
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_a_job_that_keeps_dying_is_failed_not_started_again(settings, monkeypatch, officer):
    settings.JOBS_INLINE = False
    settings.JOBS_WORKERS = 0
    monkeypatch.setitem(KINDS, "count", counting_kind(lambda job, report: {}))
    job = services.job_submit(actor=officer, kind="count", params={})
    long_ago = timezone.now() - dt.timedelta(days=1)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=long_ago,
        heartbeat_at=long_ago,
        attempts=services.MAX_ATTEMPTS,
    )
    assert services.jobs_recover() == []
    job.refresh_from_db()
    assert (job.status, job.error["code"]) == (JobStatus.FAILED, "job_abandoned")


def test_the_command_lists_jobs(monkeypatch, officer):
    monkeypatch.setitem(KINDS, "count", counting_kind(lambda job, report: {}))
    job = services.job_submit(actor=officer, kind="count", params={})
    out = io.StringIO()
    call_command("jobs", stdout=out)
    line = out.getvalue().splitlines()[0]
    assert line.split()[:4] == [str(job.pk), "320100", "count", "done"]


def test_the_api_schema_names_every_kind_of_job():
    described = JobOut.model_fields["kind"].description or ""
    assert KINDS and all(name in described for name in KINDS), sorted(KINDS)
