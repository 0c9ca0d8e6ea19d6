"""Submitting and running background jobs (see models for the design).

`job_submit` stores a job and its files, audited, and hands it on once the
transaction commits: to this process's thread pool (`JOBS_WORKERS` threads),
to nobody (`JOBS_WORKERS = 0`: `shebao jobs run` picks it up), or, with
`JOBS_INLINE`, runs it at once. `job_execute` runs one queued job wherever it
is called from; `jobs_recover` puts back in the queue the jobs of a process
that died.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import can
from shebao.audit.services import audit_record, json_value
from shebao.core.errors import DomainError, Forbidden, InvalidInput
from shebao.core.maintenance import emergency_work
from shebao.jobs.kinds import KINDS, Files, JobKind, files_delete, files_save
from shebao.jobs.models import TRANSITIONS, Job, JobStatus

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # a running job's thread writes its heartbeat this often
WRITE_EVERY_SECONDS = 0.5  # progress is written at most this often
MAX_ATTEMPTS = 3  # a job whose process died this many times is failed, not run again
ORPHAN_SECONDS = 3600  # a job folder without a job this old is left over; removed


def kind_get(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(
            _("There is no kind of job called %(kind)s."),
            code="job_kind",
            field="kind",
            params={"kind": name},
        ) from None


# --- submitting -----------------------------------------------------------------------


def job_submit(
    *, actor: User, kind: str, params: dict[str, Any], files: Files | None = None
) -> Job:
    """Store a job with its files and start it after the transaction commits.

    The kind's check runs first, here, so what would certainly fail is refused
    while the user is still at the form (DomainError, at the field it names).
    """
    spec = kind_get(kind)
    if not can(actor, spec.capability):  # the kind's check then asks for the area's rights
        raise Forbidden(
            _("Your role (%(role)s) may not do this (%(capability)s)."),
            params={"role": actor.get_role_display(), "capability": spec.capability},
        )
    files = files or {}
    area_code = spec.check(actor, params, files)
    with transaction.atomic(), emergency_work(spec.while_read_only):
        job = Job.objects.create(
            area_id=area_code,
            kind=kind,
            params={**params, "files": {key: (f.name or key)[:200] for key, f in files.items()}},
            language=translation.get_language() or settings.LANGUAGE_CODE,
            created_by=actor,
            created_at=timezone.now(),
        )
        try:
            files_save(job, files)
        except BaseException:
            files_delete(job.pk)
            raise
        audit_record(
            actor=actor,
            action="job.submit",
            subject=job,
            area_code=area_code,
            after={"kind": kind, "params": json_value(job.params)},
        )
    if settings.JOBS_INLINE:
        job_execute(job.pk)
        job.refresh_from_db()
    else:
        transaction.on_commit(lambda: _dispatch(job.pk))
    return job


# --- the thread pool ------------------------------------------------------------------

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_futures: set[Future[None]] = set()


def _dispatch(job_id: int) -> None:
    """Hand a committed job to this process's threads (none: a worker process runs it)."""
    if settings.JOBS_WORKERS <= 0:
        return
    global _pool
    with _pool_lock:
        first = _pool is None
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.JOBS_WORKERS, thread_name_prefix="shebao-job"
            )
        pool = _pool
    waiting = jobs_recover() if first else []
    for pk in dict.fromkeys([*waiting, job_id]):
        future = pool.submit(_run_in_thread, pk)
        with _pool_lock:
            _futures.add(future)
        future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _pool_lock:
        _futures.discard(future)


def _run_in_thread(job_id: int) -> None:
    try:
        job_execute(job_id, heartbeat=True)
    except Exception:
        logger.exception("job %s could not be run", job_id)
    finally:
        connections.close_all()  # this thread's connections; the pool may keep the thread


def jobs_wait(timeout: float | None = None) -> bool:
    """Wait until the jobs handed to this process's threads have ended; False on timeout."""
    with _pool_lock:
        running = list(_futures)
    _done, pending = futures_wait(running, timeout=timeout)
    return not pending


# --- running ------------------------------------------------------------------------


class _Progress:
    """What a running job has reported, and writing it to the job's row.

    The job's own thread writes only when the job holds no transaction of its
    own: inside one (a billing run) the row would stay locked and the numbers
    unseen until it commits; the heartbeat thread writes them meanwhile.
    """

    def __init__(self, job: Job) -> None:
        self.job_id = job.pk
        self.done = 0
        self.total = 0
        self.message = ""
        self.lock = threading.Lock()
        self.depth = len(connection.atomic_blocks)
        self.written = 0.0

    def report(self, done: int, total: int, message: str = "") -> None:
        with self.lock:
            self.done, self.total, self.message = max(done, 0), max(total, 0), message[:300]
        if (
            time.monotonic() - self.written >= WRITE_EVERY_SECONDS
            and len(connection.atomic_blocks) == self.depth
        ):
            self.write()

    def write(self) -> None:
        with self.lock:
            values = {"done": self.done, "total": self.total, "message": self.message}
        Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
            **values, heartbeat_at=timezone.now()
        )
        self.written = time.monotonic()


class _Heartbeat:
    """A thread writing a running job's heartbeat and progress every HEARTBEAT_SECONDS
    from its own connection, whatever transaction the job holds."""

    def __init__(self, progress: _Progress) -> None:
        self.progress = progress
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"shebao-job-{progress.job_id}-heartbeat", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    self.progress.write()
                except DatabaseError:  # SQLite: a long write transaction holds the lock
                    logger.warning("job %s: heartbeat not written", self.progress.job_id)
        finally:
            connections.close_all()


def _claim(job_id: int) -> bool:
    """queued → running, for exactly one caller."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=TRANSITIONS[(JobStatus.QUEUED, "start")],
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            done=0,
            total=0,
            message="",
        )
    )


def job_execute(job_id: int, *, heartbeat: bool = False) -> bool:
    """Run a queued job here and now; False if it is not queued (another worker has it).

    The kind's function runs as the job's creator, in the creator's language,
    outside any transaction of ours (it keeps its own). A DomainError ends the
    job failed with that error; anything else ends it failed with a general
    message, and the trace goes to the log.
    """
    if not _claim(job_id):
        return False
    job = Job.objects.select_related("created_by").get(pk=job_id)
    progress = _Progress(job)
    beat: AbstractContextManager[Any] = _Heartbeat(progress) if heartbeat else nullcontext()
    result: dict[str, Any] = {}
    error: dict[str, Any] = {}
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            with beat:
                result = kind_get(job.kind).run(job, progress.report)
        except DomainError as refusal:
            error = refusal.as_dict()
        except Exception:
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            error = {
                "code": "job_crashed",
                "message": _g(
                    "The job stopped on an unexpected error. Try again; if it happens again, "
                    "tell the system administrator the job's number."
                ),
            }
        _job_end(job, progress, result=result, error=error)
    files_delete(job.pk)
    return True


@transaction.atomic
def _job_end(
    job: Job, progress: _Progress, *, result: dict[str, Any], error: dict[str, Any]
) -> None:
    operation = "fail" if error else "finish"
    now = timezone.now()
    total = progress.total if error else max(progress.total, progress.done)
    done = progress.done if error else total
    ended = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=TRANSITIONS[(JobStatus.RUNNING, operation)],
        done=done,
        total=total,
        message=progress.message,
        result=json_value(result),
        error=error,
        finished_at=now,
        heartbeat_at=now,
    )
    spec = KINDS.get(job.kind)
    if ended:
        with emergency_work(bool(spec and spec.while_read_only)):
            audit_record(
                actor=job.created_by,
                action=f"job.{operation}",
                subject=job,
                area_code=job.area_id,
                after={
                    "kind": job.kind,
                    "result": {
                        k: json_value(v) for k, v in result.items() if not isinstance(v, list)
                    },
                    "error": error.get("code", ""),
                },
            )


# --- recovery -----------------------------------------------------------------------


def jobs_requeue_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Jobs left running by a process that died (heartbeat older than JOBS_STALE_SECONDS)
    go back to the queue — safe, every kind is idempotent — or, after MAX_ATTEMPTS
    starts, end failed. Returns the ids re-queued."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.JOBS_STALE_SECONDS)
    requeued = []
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    for job in stale.select_related("created_by"):
        if job.attempts >= MAX_ATTEMPTS:
            _job_abandon(job, now)
        elif _job_requeue(job, cutoff):
            requeued.append(job.pk)
    return requeued


@transaction.atomic
def _job_requeue(job: Job, cutoff: dt.datetime) -> bool:
    with translation.override(job.language or settings.LANGUAGE_CODE):
        message = _g("Waiting to start again: the process running it stopped.")
    changed = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=cutoff
    ).update(status=TRANSITIONS[(JobStatus.RUNNING, "requeue")], message=message)
    if changed:
        audit_record(
            actor=None,
            action="job.requeue",
            subject=job,
            area_code=job.area_id,
            after={"kind": job.kind, "attempts": job.attempts, "heartbeat_at": job.heartbeat_at},
        )
    return bool(changed)


def _job_abandon(job: Job, now: dt.datetime) -> None:
    with translation.override(job.language or settings.LANGUAGE_CODE):
        error = {
            "code": "job_abandoned",
            "message": _g(
                "The job was started %(attempts)d times and stopped each time; it is not "
                "started again. Tell the system administrator the job's number."
            )
            % {"attempts": job.attempts},
        }
    with transaction.atomic():
        changed = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=TRANSITIONS[(JobStatus.RUNNING, "abandon")], error=error, finished_at=now
        )
        if changed:
            audit_record(
                actor=None,
                action="job.abandon",
                subject=job,
                area_code=job.area_id,
                after={"kind": job.kind, "attempts": job.attempts},
            )
    if changed:
        files_delete(job.pk)


def _sweep_folders() -> None:
    """Remove the file folders of ended jobs, and old ones of jobs never stored."""
    root = Path(settings.JOBS_DIR)
    if not root.is_dir():
        return
    folders = {int(p.name): p for p in root.iterdir() if p.is_dir() and p.name.isdigit()}
    live = set(
        Job.objects.filter(
            pk__in=list(folders), status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).values_list("pk", flat=True)
    )
    stored = set(Job.objects.filter(pk__in=list(folders)).values_list("pk", flat=True))
    for pk, folder in folders.items():
        old = time.time() - folder.stat().st_mtime > ORPHAN_SECONDS
        if pk not in live and (pk in stored or old):
            files_delete(pk)


def jobs_recover(*, now: dt.datetime | None = None) -> list[int]:
    """On a worker's start: re-queue the jobs of dead processes, tidy the file
    folders, and return the queued jobs' ids, oldest first."""
    jobs_requeue_stale(now=now)
    _sweep_folders()
    return list(
        Job.objects.filter(status=JobStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


def job_next() -> int | None:
    """The oldest queued job's id."""
    return (
        Job.objects.filter(status=JobStatus.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
