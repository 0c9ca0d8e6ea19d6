from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from shebao.jobs.models import Job
from shebao.jobs.services import job_execute, job_next, jobs_recover, jobs_requeue_stale

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Background jobs. `shebao jobs` lists the latest; `shebao jobs run` runs queued jobs "
        "until stopped (`--once`: until none is left) — the worker for portals started with "
        "SHEBAO_JOBS_WORKERS=0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "run"], default="list")
        parser.add_argument("--once", action="store_true", help="run: stop when the queue is empty")
        parser.add_argument("--limit", type=int, default=50, help="list: how many jobs")
        parser.add_argument("--status", choices=["queued", "running", "done", "failed"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            self.work(once=options["once"])
        else:
            self.show(limit=options["limit"], status=options["status"])

    def show(self, *, limit: int, status: str | None) -> None:
        rows = Job.objects.select_related("created_by").order_by("-created_at", "-pk")
        if status:
            rows = rows.filter(status=status)
        for job in rows[:limit]:
            self.stdout.write(
                f"{job.pk:>6}  {job.area_id or '-':<6}  {job.kind:<20} {job.status:<8} "
                f"{job.done:>8}/{job.total:<8} {job.created_by.username:<16} "
                f"{job.created_at:%Y-%m-%d %H:%M}  {job.error.get('code', '') or job.message}"
            )

    def work(self, *, once: bool) -> None:
        requeued = jobs_recover()
        self.stderr.write(f"jobs worker: {len(requeued)} queued")
        last_check = time.monotonic()
        while True:
            if time.monotonic() - last_check > settings.JOBS_STALE_SECONDS:
                jobs_requeue_stale()
                last_check = time.monotonic()
            job_id = job_next()
            if job_id is None:
                if once:
                    return
                time.sleep(POLL_SECONDS)
                continue
            if job_execute(job_id, heartbeat=True):
                job = Job.objects.get(pk=job_id)
                self.stdout.write(f"job {job.pk} {job.kind}: {job.status}")
