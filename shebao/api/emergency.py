"""REST endpoints: the emergency plan — read-only maintenance mode, backups,
verification and restores (docs/emergency.md).

The area administrator and the ministry manage it (`emergency.manage`); auditors
read the status (`emergency.read`). Backing up, verifying and restoring are
background jobs: the answer is 202 with the job, followed at `/jobs/{id}`.
A backup is named by its file name, which is looked up in the backup
directory's listing (an unknown name is 404), and a restore is started only
when the caller repeats that name as `confirm`. These endpoints keep working
while the system is read-only: they are what the mode is for.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from shebao.accounts.roles import require
from shebao.api.jobs import JobOut
from shebao.api.registry import actor, responses
from shebao.emergency import jobs as emergency_jobs
from shebao.emergency import services
from shebao.jobs import selectors as job_selectors
from shebao.jobs.models import Job
from shebao.jobs.services import job_submit

router = Router(tags=["emergency"])


class ReadOnlyOut(Schema):
    reason: str
    by: str
    since: str


class BackupOut(Schema):
    file: str = Field(description="The backup's file name: how the other endpoints name it")
    created_at: str
    engine: str = Field(description="sqlite or postgresql")
    size: int = Field(description="Bytes")
    sha256: str
    verified: bool = Field(description="Restored into a scratch database and found equal")
    verified_at: str | None
    verification: dict[str, Any] = Field(
        description="ok, tables, rows, count_differences, audit_heads_equal"
    )
    rows: int = Field(description="Rows of every table at the backup")


class StatusOut(Schema):
    read_only: ReadOnlyOut | None = Field(description="Null when the system is writable")
    backup_dir: str
    backups: list[BackupOut] = Field(description="Newest first")
    latest_verified_age_seconds: int | None = Field(
        description="Age of the newest verified backup; null when there is none"
    )


class ReadOnlyIn(Schema):
    reason: str = Field(description="Why; shown to every user while the mode lasts")


class RestoreIn(Schema):
    confirm: str = Field(description="The backup's file name again, so a mis-click cannot restore")


class EmergencyJobOut(JobOut):
    url: str = Field(description="Where to follow the job (this API)")
    page: str = Field(description="The job's page in the portal")


def _status(request: HttpRequest) -> dict[str, Any]:
    require(actor(request), "emergency.read")
    return services.emergency_status()


def _started(job: Job) -> Status:
    state = job_selectors.job_state(job)
    state["url"] = reverse("api-v1:job_detail", args=[job.pk])
    state["page"] = reverse("web:job", args=[job.pk])
    return Status(202, state)


@router.get(
    "/emergency",
    response=responses(200, StatusOut),
    summary="Read-only state, the backups and the age of the newest verified one",
)
def status(request: HttpRequest) -> Any:
    return _status(request)


@router.post(
    "/emergency/read-only",
    response=responses(200, StatusOut),
    summary="Switch the whole system to read-only (audited)",
)
def read_only_enter(request: HttpRequest, payload: ReadOnlyIn) -> Any:
    services.read_only_enter(actor=actor(request), reason=payload.reason)
    return _status(request)


@router.delete(
    "/emergency/read-only",
    response=responses(200, StatusOut),
    summary="Leave read-only mode (audited)",
)
def read_only_leave(request: HttpRequest) -> Any:
    services.read_only_leave(actor=actor(request))
    return _status(request)


@router.post(
    "/emergency/backups",
    response=responses(202, EmergencyJobOut),
    summary="Back up now and verify the copy, as a background job",
)
def backup_start(request: HttpRequest) -> Any:
    return _started(job_submit(actor=actor(request), kind=emergency_jobs.BACKUP, params={}))


@router.post(
    "/emergency/backups/{name}/verify",
    response=responses(202, EmergencyJobOut),
    summary="Verify a backup again (restore it into a scratch database), as a job",
)
def backup_verify(request: HttpRequest, name: str) -> Any:
    return _started(
        job_submit(actor=actor(request), kind=emergency_jobs.VERIFY, params={"file": name})
    )


@router.post(
    "/emergency/backups/{name}/restore",
    response=responses(202, EmergencyJobOut),
    summary="Restore a verified backup while read-only, as a job (confirm with its name)",
)
def backup_restore(request: HttpRequest, name: str, payload: RestoreIn) -> Any:
    return _started(
        job_submit(
            actor=actor(request),
            kind=emergency_jobs.RESTORE,
            params={"file": name, "confirm": payload.confirm},
        )
    )
