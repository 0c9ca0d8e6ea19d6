"""REST endpoint: a background job (a declaration file, a bank file, a billing
run) — its progress while it runs, then its result or its error. The same
JSON as the portal's `/jobs/<id>.json`; seen by its creator, staff of its
area who may start such jobs, and the ministry."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from shebao.api.registry import actor, responses
from shebao.jobs import selectors

router = Router(tags=["jobs"])


class JobLinkOut(Schema):
    label: str
    url: str


class JobErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class JobOut(Schema):
    id: int
    kind: str = Field(
        description="declaration_import, payments_import, bill_run, statement_batch, "
        "emergency_backup, emergency_verify or emergency_restore"
    )
    title: str
    subject: str = Field(description="The file or the month the job works on")
    area: str | None
    status: str = Field(description="queued, running, done or failed")
    status_label: str
    finished: bool
    done: int
    total: int = Field(description="0 while not known")
    unit: str = Field(description="What done and total count (rows, steps)")
    percent: int | None
    rate: float | None = Field(description="Units a second")
    rate_text: str
    seconds_left: int | None
    left_text: str
    message: str
    result: dict[str, Any] = Field(
        description="When done: ids and counts, e.g. upload, rows_accepted, rows_rejected; run, "
        "bills_created, lines_added; read, recorded, unchanged, rejected, errors"
    )
    error: JobErrorOut | None = Field(description="When failed: what went wrong")
    links: list[JobLinkOut] = Field(description="Portal pages of the result")
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None


@router.get(
    "/jobs/{job_id}",
    response=responses(200, JobOut),
    summary="A background job: its progress, then its result or error",
)
def job_detail(request: HttpRequest, job_id: int) -> Any:
    return selectors.job_state(selectors.job_get(actor(request), job_id))
