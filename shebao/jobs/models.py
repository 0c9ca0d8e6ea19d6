"""Background jobs: long work started from the portal (declaration files, bank
files, billing runs) that runs outside the request and shows its progress.

Design notes
- A `Job` is one piece of such work: its kind (a name in `kinds.KINDS`, which
  maps it to the function that does the work and the capability needed to
  start it), its parameters, who started it, and where it stands: status,
  `done` of `total` units with a message, then the result (upload id, run id,
  counts) or an error a user can read (code and message). Keyed by area
  first like every table; the area is empty for a ministry-wide job.
- Status is a table, `TRANSITIONS`: queued → running → done or failed; a
  running job whose process died goes back to queued. Every change is one
  conditional UPDATE (`status` still what it was), so two workers never both
  start the same job.
- Where it runs: after the submitting transaction commits, on a small pool of
  threads inside the portal process; or, with `JOBS_WORKERS = 0`, in a
  separate `shebao jobs run` process; or (`JOBS_INLINE`, the tests) at once,
  in the request. Files a job reads are saved under `JOBS_DIR/<job id>/`
  when it is submitted and deleted when it ends.
- A running job's thread writes `heartbeat_at` every few seconds, from its
  own database connection so that a job holding a long transaction (a billing
  run) still beats. A job left `running` with an old heartbeat belonged to a
  process that died; the next worker to start, or the first submit in a
  portal process, puts it back in the queue (failing it after
  `MAX_ATTEMPTS`). Running a job again is safe because every kind is
  idempotent: the same declaration file again declares nothing twice
  (unchanged rows), a bank reference is recorded once, and a billing run adds
  only the difference between what is due and what is billed.
- Submitting, ending and re-queueing a job are audited; progress and
  heartbeats are bookkeeping and are not.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


FINISHED = (JobStatus.DONE, JobStatus.FAILED)

# (status, operation) → new status. Nothing leaves done or failed.
TRANSITIONS: dict[tuple[str, str], str] = {
    (JobStatus.QUEUED, "start"): JobStatus.RUNNING,
    (JobStatus.RUNNING, "finish"): JobStatus.DONE,
    (JobStatus.RUNNING, "fail"): JobStatus.FAILED,
    (JobStatus.RUNNING, "requeue"): JobStatus.QUEUED,
    (JobStatus.RUNNING, "abandon"): JobStatus.FAILED,
}


class Job(models.Model):
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(default=dict)
    # The submitter's language: messages the job writes (refused rows) read in it.
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0, help_text=_("0 while not known"))
    done = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # {"code": ..., "message": ..., "field"?: ...}; empty unless failed.
    error = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            models.Index(fields=["area", "created_at"]),
            models.Index(fields=["created_by", "created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="job_finished_when_ended",
                condition=Q(status__in=list(FINISHED), finished_at__isnull=False)
                | (~Q(status__in=list(FINISHED)) & Q(finished_at__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED
