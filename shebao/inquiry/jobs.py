"""The yearly statement batch as a background job (`shebao.jobs`): started from the
area's statements page or the API, its page follows the batch's progress.

The batch is idempotent (persons who have the year's statement are skipped),
as every job kind must be: a job run again after its process died resumes it.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.core.errors import InvalidInput
from shebao.inquiry.services import check_year, statement_batch_run
from shebao.jobs.kinds import Files, JobKind, Report, register
from shebao.jobs.models import Job
from shebao.registry import selectors as registry_selectors

KIND = "statement_batch"


def _year(params: dict[str, Any]) -> int:
    try:
        return check_year(int(params["year"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(_("Give the year, e.g. 2025."), code="year", field="year") from None


def _check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    code = str(params.get("area") or actor.area_id or "")
    require(actor, "statement.issue", area_code=code)
    registry_selectors.area_get(actor, code)
    _year(params)
    return code


def _run(job: Job, report: Report) -> dict[str, Any]:
    area = registry_selectors.area_get(job.created_by, str(job.params["area"]))

    def progress(done: int, total: int) -> None:
        report(done, total, _g("Making the statements"))

    batch = statement_batch_run(
        actor=job.created_by, area=area, year=_year(job.params), on_progress=progress
    )
    return {
        "batch": batch.pk,
        "area": area.code,
        "year": batch.year,
        "total": batch.total,
        "done": batch.done,
    }


def _links(job: Job) -> list[tuple[str, str]]:
    return [(_g("Statements of the area"), reverse("web:statement_batches"))]


register(
    JobKind(
        name=KIND,
        title=_("Yearly rights record statements"),
        unit=_("persons"),
        capability="statement.issue",
        run=_run,
        check=_check,
        subject=lambda job: f"{job.area_id or ''} {job.params.get('year', '')}",
        links=_links,
    )
)
