"""Reads of jobs: who may see a job, and what its page and JSON show.

A job is seen by the user who started it, by staff of its area who hold the
capability its kind needs (a colleague can follow the billing run another
officer started), and by the ministry; by nobody else, not even other users
of its employer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can
from shebao.core.errors import NotFound
from shebao.jobs.kinds import KINDS
from shebao.jobs.models import Job, JobStatus


def jobs_for(user: User) -> QuerySet[Job]:
    rows = Job.objects.select_related("created_by")
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    visible = Q(created_by=user)
    if user.role in AREA_STAFF and user.area_id:
        kinds = [kind.name for kind in KINDS.values() if can(user, kind.capability)]
        visible |= Q(area_id=user.area_id, kind__in=kinds)
    return rows.filter(visible)


def job_get(user: User, pk: int) -> Job:
    try:
        return jobs_for(user).get(pk=pk)
    except Job.DoesNotExist:
        raise NotFound(_("No job with that number is visible to you.")) from None


def _time_left(seconds: float) -> str:
    if seconds < 60:
        count = max(round(seconds), 1)
        return ngettext("about %(count)d second left", "about %(count)d seconds left", count) % {
            "count": count
        }
    if seconds < 3600:
        count = round(seconds / 60)
        return ngettext("about %(count)d minute left", "about %(count)d minutes left", count) % {
            "count": count
        }
    count = round(seconds / 3600)
    return ngettext("about %(count)d hour left", "about %(count)d hours left", count) % {
        "count": count
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def job_state(job: Job, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The job as its page and `/jobs/<id>.json` show it: progress with rate and time
    left while it runs, then the result with links, or the error."""
    now = now or timezone.now()
    kind = KINDS.get(job.kind)
    percent = None
    if job.finished and job.status == JobStatus.DONE:
        percent = 100
    elif job.total:
        percent = min(job.done * 100 // job.total, 100)
    rate = seconds_left = None
    if job.started_at and job.done:
        elapsed = ((job.finished_at or now) - job.started_at).total_seconds()
        if elapsed > 0:
            rate = round(job.done / elapsed, 1)
            if job.status == JobStatus.RUNNING and job.total > job.done:
                seconds_left = round((job.total - job.done) / rate)
    unit = str(kind.unit) if kind else ""
    return {
        "id": job.pk,
        "kind": job.kind,
        "title": str(kind.title) if kind else job.kind,
        "subject": kind.subject(job) if kind else "",
        "area": job.area_id,
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "finished": job.finished,
        "done": job.done,
        "total": job.total,
        "unit": unit,
        "percent": percent,
        "rate": rate,
        "rate_text": gettext("%(rate)s %(unit)s a second") % {"rate": f"{rate:,.0f}", "unit": unit}
        if rate
        else "",
        "seconds_left": seconds_left,
        "left_text": _time_left(seconds_left) if seconds_left is not None else "",
        "message": job.message,
        "result": job.result if job.status == JobStatus.DONE else {},
        "error": job.error or None,
        "links": [
            {"label": label, "url": url}
            for label, url in (kind.links(job) if kind and job.status == JobStatus.DONE else [])
        ],
        "created_by": job.created_by.username,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "heartbeat_at": _iso(job.heartbeat_at),
    }
