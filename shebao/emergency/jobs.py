"""The emergency plan's long actions as background jobs (`shebao.jobs`): backing up,
verifying a backup and restoring one, started from the emergency page or the API.

They are the jobs that run while the system is read-only (`while_read_only`).
A backup copies the database through its own connection and must not run
inside an open transaction: on SQLite the copy would wait for that transaction
to end, which is the request's own, and never finish. The run refuses clearly
instead. Every kind is idempotent: a backup run again makes a new file, a
verification or a restore run again gives the same result.
"""

from __future__ import annotations

from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.core import maintenance
from shebao.core.errors import Conflict, InvalidInput
from shebao.emergency import backup, services
from shebao.jobs.kinds import Files, JobKind, Report, register
from shebao.jobs.models import Job, JobStatus

BACKUP, VERIFY, RESTORE = "emergency_backup", "emergency_verify", "emergency_restore"


def _outside_transaction() -> None:
    if connection.in_atomic_block:
        raise Conflict(
            _(
                "A backup, verification or restore cannot run inside an open database "
                "transaction; start it as a job of its own."
            ),
            code="backup_in_transaction",
        )


def _named(params: dict[str, Any]) -> Any:
    return services.backup_find(str(params.get("file") or ""))


def _result(path: Any, manifest: backup.Manifest) -> dict[str, Any]:
    return {
        "file": path.name,
        "sha256": manifest.sha256,
        "engine": manifest.engine,
        "size": manifest.size,
        "rows": sum(manifest.counts.values()),
        "verified": bool(manifest.verification.get("ok")),
    }


def _links(job: Job) -> list[tuple[str, str]]:
    return [(_g("Emergency plan"), reverse("web:emergency"))]


# --- backing up -------------------------------------------------------------------------


def _backup_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    require(actor, "emergency.manage")
    return None


def _backup_run(job: Job, report: Report) -> dict[str, Any]:
    _outside_transaction()
    report(0, 2, _g("Copying the database"))
    path, manifest = services.backup_run(actor=job.created_by)
    report(2, 2, _g("The copy is made and verified"))
    return _result(path, manifest)


# --- verifying ----------------------------------------------------------------------------


def _verify_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    require(actor, "emergency.manage")
    _named(params)
    return None


def _verify_run(job: Job, report: Report) -> dict[str, Any]:
    _outside_transaction()
    path = _named(job.params)
    report(0, 1, _g("Restoring the backup into a scratch database"))
    manifest = services.backup_check(actor=job.created_by, path=path)
    report(1, 1, _g("Compared with the manifest"))
    return _result(path, manifest)


# --- restoring ----------------------------------------------------------------------------


def _restore_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    require(actor, "emergency.manage")
    path = _named(params)
    if str(params.get("confirm") or "") != path.name:
        raise InvalidInput(
            _("Type the backup's file name (%(file)s) to confirm the restore."),
            code="restore_not_confirmed",
            field="confirm",
            params={"file": path.name},
        )
    if maintenance.read_only_state() is None:
        raise Conflict(
            _("Switch the system to read-only first, so nobody writes while the data is replaced."),
            code="restore_needs_read_only",
        )
    if not backup.Manifest.load(path).verification.get("ok"):
        raise InvalidInput(
            _("%(file)s has not passed verification; verify it first."),
            code="backup_unverified",
            field="file",
            params={"file": path.name},
        )
    return None


def _keep_job_row(job: Job) -> None:
    """Put this job's row back after a restore replaced the jobs table, so that its page
    follows it to the end and its end is recorded (a backup older than the job has no
    such row). Without its creator in the restored data the row cannot come back."""
    if not User.objects.filter(pk=job.created_by_id).exists():
        return
    with transaction.atomic():
        Job.objects.update_or_create(
            pk=job.pk,
            defaults={
                "area_id": job.area_id,
                "kind": job.kind,
                "params": job.params,
                "language": job.language,
                "status": JobStatus.RUNNING,
                "attempts": job.attempts,
                "created_by_id": job.created_by_id,
                "created_at": job.created_at,
                "started_at": job.started_at,
                "finished_at": None,
                "heartbeat_at": job.heartbeat_at,
            },
        )
    if connection.vendor == "postgresql":  # an explicit id does not move the sequence
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Job]):
                cursor.execute(statement)


def _restore_run(job: Job, report: Report) -> dict[str, Any]:
    _outside_transaction()
    path = _named(job.params)
    report(0, 1, _g("Replacing the data with the backup's"))
    manifest = services.restore_run(actor=job.created_by, path=path)
    _keep_job_row(job)
    report(1, 1, _g("The data is restored"))
    return _result(path, manifest)


for name, title, unit, check, run in (
    (BACKUP, _("Backup"), _("steps"), _backup_check, _backup_run),
    (VERIFY, _("Backup verification"), _("steps"), _verify_check, _verify_run),
    (RESTORE, _("Restore from a backup"), _("steps"), _restore_check, _restore_run),
):
    register(
        JobKind(
            name=name,
            title=title,
            unit=unit,
            capability="emergency.manage",
            run=run,
            check=check,
            subject=lambda job: str(job.params.get("file", "")),
            links=_links,
            while_read_only=True,
        )
    )
