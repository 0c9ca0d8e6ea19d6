"""The kinds of background job: one table from a kind's name to the function
that does the work, the capability needed to start it, and the check run
while the user still waits at the form.

A kind's `run(job, report)` does the work as the job's creator (the services
it calls check their rights again) and returns the result, JSON-native: the
keys the job page and `links` read. It calls `report(done, total, message)`
as it goes; `total` 0 means not known. Every kind must be idempotent — a job
whose process died is run again from the start (see models).

`check(actor, params, files)` refuses at once what would certainly fail —
no right, a month not begun, a file without the expected columns — so the
user corrects the form instead of watching a job fail; it returns the job's
area code (None for a ministry-wide job).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.contributions import billing, declarations, payments
from shebao.contributions.services import policy_for
from shebao.core.errors import InvalidInput
from shebao.jobs.models import Job
from shebao.registry import selectors as registry_selectors

Report = Callable[[int, int, str], None]
Files = dict[str, UploadedFile]


@dataclass(frozen=True)
class JobKind:
    name: str
    title: Any  # lazy text: "Declaration file"
    unit: Any  # lazy text: what `done` and `total` count
    capability: str
    run: Callable[[Job, Report], dict[str, Any]]
    check: Callable[[User, dict[str, Any], Files], str | None]
    subject: Callable[[Job], str] = field(default=lambda job: "")
    links: Callable[[Job], list[tuple[str, str]]] = field(default=lambda job: [])
    # Submitted and ended while the system is read-only (the emergency plan's jobs).
    while_read_only: bool = False


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


# --- the files a job reads ------------------------------------------------------------


def job_dir(job_id: int) -> Path:
    return Path(settings.JOBS_DIR) / str(job_id)


def job_file(job: Job, key: str) -> Path:
    """Where the file sent as `key` was saved for the job."""
    return job_dir(job.pk) / key


def job_filename(job: Job, key: str = "file") -> str:
    """The name the file sent as `key` had on the user's machine."""
    return str(job.params.get("files", {}).get(key, ""))


def files_save(job: Job, files: Files) -> None:
    folder = job_dir(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    for key, upload in files.items():
        with (folder / key).open("wb") as out:
            for piece in upload.chunks():
                out.write(piece)


def files_delete(job_id: int) -> None:
    shutil.rmtree(job_dir(job_id), ignore_errors=True)


# --- checks shared by the kinds -----------------------------------------------------


def _file(files: Files) -> UploadedFile:
    upload = files.get("file")
    if upload is None:
        raise InvalidInput(_("Choose a file to send."), code="file_required", field="file")
    return upload


def _first_row(rows: Callable[[IO[bytes]], Iterator[Any]], upload: UploadedFile) -> None:
    """Read the header and the first row, so that a file without the columns is
    refused at the form; the file is left rewound."""
    stream = cast(IO[bytes], upload)
    stream.seek(0)
    reader = rows(stream)
    try:
        next(reader, None)
    finally:
        if isinstance(reader, Generator):
            reader.close()  # lets the reader detach from the stream
    stream.seek(0)


def _int(params: dict[str, Any], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            _("%(name)s must be a number."), code="invalid_input", field=name, params={"name": name}
        ) from None


def _month(params: dict[str, Any], name: str = "period") -> dt.date:
    try:
        day = dt.date.fromisoformat(str(params[name]))
    except (KeyError, ValueError):
        raise InvalidInput(
            _("Give the month as its first day, e.g. 2026-10-01."), code="period_day", field=name
        ) from None
    return declarations.check_period(day, field=name)


def _estimate_rows(path: Path, filename: str) -> int:
    """Data rows of a file, for the progress bar: its lines less the header (CSV), or
    the sheet's recorded size (XLSX); 0 when not known."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True)
        except Exception:  # an unreadable file is reported by the import itself
            return 0
        try:
            rows = book.worksheets[0].max_row or 0
        finally:
            book.close()
        return max(rows - 1, 0)
    lines, last = 0, b"\n"
    with path.open("rb") as stream:
        while piece := stream.read(1 << 20):
            lines += piece.count(b"\n")
            last = piece[-1:]
    return max(lines + (last != b"\n") - 1, 0)


# --- declaration files --------------------------------------------------------------


def _declaration_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    employer = registry_selectors.employer_get(actor, _int(params, "employer"))
    require(
        actor,
        "declaration.submit",
        area_code=employer.area_id,
        employer_id=employer.pk if actor.role == Role.EMPLOYER else None,
    )
    _month(params)
    upload = _file(files)
    _first_row(lambda stream: declarations.read_rows(stream, upload.name or ""), upload)
    return employer.area_id


def _declaration_run(job: Job, report: Report) -> dict[str, Any]:
    employer = registry_selectors.employer_get(job.created_by, _int(job.params, "employer"))
    path, filename = job_file(job, "file"), job_filename(job)
    total = _estimate_rows(path, filename)
    report(0, total, _g("Reading the file"))

    def progress(upload: Any) -> None:
        report(upload.rows_read, max(total, upload.rows_read), _g("Checking and keeping the rows"))

    with path.open("rb") as stream:
        upload = declarations.declaration_import(
            actor=job.created_by,
            employer=employer,
            period=_month(job.params),
            stream=stream,
            filename=filename,
            on_progress=progress,
        )
    report(upload.rows_read, upload.rows_read, _g("Every row is read"))
    return {
        "upload": upload.pk,
        "employer": employer.pk,
        "period": upload.period.isoformat(),
        "rows_read": upload.rows_read,
        "rows_accepted": upload.rows_accepted,
        "rows_unchanged": upload.rows_unchanged,
        "rows_rejected": upload.rows_rejected,
    }


def _declaration_subject(job: Job) -> str:
    return f"{job_filename(job)} · {str(job.params.get('period', ''))[:7]}"


def _declaration_links(job: Job) -> list[tuple[str, str]]:
    upload = job.result.get("upload")
    if not upload:
        return []
    links = [(_g("Declaration result"), reverse("web:declaration_upload_result", args=[upload]))]
    if job.result.get("rows_rejected"):
        links.append(
            (
                _g("Download the refused rows (CSV)"),
                reverse("web:declaration_upload_errors", args=[upload]),
            )
        )
    return links


register(
    JobKind(
        name="declaration_import",
        title=_("Wage declaration file"),
        unit=_("rows"),
        capability="declaration.submit",
        run=_declaration_run,
        check=_declaration_check,
        subject=_declaration_subject,
        links=_declaration_links,
    )
)


# --- bank files ---------------------------------------------------------------------


def _payments_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    require(actor, "payment.record", area_code=actor.area_id)
    upload = _file(files)
    if not (upload.name or "").lower().endswith((".csv", ".txt")):
        raise InvalidInput(_("Send the bank file as CSV."), code="bank_file_format", field="file")
    _first_row(payments._bank_rows, upload)
    return actor.area_id


def _payments_run(job: Job, report: Report) -> dict[str, Any]:
    path, filename = job_file(job, "file"), job_filename(job)
    total = _estimate_rows(path, filename)
    report(0, total, _g("Reading the file"))

    def progress(imported: payments.PaymentImport) -> None:
        report(imported.read, max(total, imported.read), _g("Recording the payments"))

    with path.open("rb") as stream:
        imported = payments.payments_import(
            actor=job.created_by, stream=stream, filename=filename, on_progress=progress
        )
    report(imported.read, imported.read, _g("Every row is read"))
    return {
        "filename": imported.filename,
        "read": imported.read,
        "recorded": imported.recorded,
        "unchanged": imported.unchanged,
        "rejected": imported.rejected,
        "errors": [error.as_dict() for error in imported.errors],
    }


def _payments_links(job: Job) -> list[tuple[str, str]]:
    return [
        (_g("Arrears of the area"), reverse("web:contribution_area_arrears")),
        (_g("Record a payment"), reverse("web:contribution_payment_new")),
    ]


register(
    JobKind(
        name="payments_import",
        title=_("Bank file"),
        unit=_("rows"),
        capability="payment.record",
        run=_payments_run,
        check=_payments_check,
        subject=lambda job: job_filename(job),
        links=_payments_links,
    )
)


# --- billing runs -------------------------------------------------------------------


def _bill_check(actor: User, params: dict[str, Any], files: Files) -> str | None:
    code = str(params.get("area") or "")
    require(actor, "bill.run", area_code=code)
    registry_selectors.area_get(actor, code)
    period = _month(params)
    policy_for(code, period)  # refuses a month no policy covers
    return code


def _bill_run(job: Job, report: Report) -> dict[str, Any]:
    area = registry_selectors.area_get(job.created_by, str(job.params["area"]))

    def progress(done: int, total: int) -> None:
        report(done, total, _g("Computing the bills"))

    run = billing.bill_run(
        actor=job.created_by, area=area, period=_month(job.params), on_progress=progress
    )
    return {
        "run": run.pk,
        "area": area.code,
        "period": run.period.isoformat(),
        "bills_created": run.bills_created,
        "lines_added": run.lines_added,
    }


def _bill_links(job: Job) -> list[tuple[str, str]]:
    run = job.result.get("run")
    if not run:
        return []
    return [(_g("The billing run"), reverse("web:contributions") + f"?run={run}#runs")]


register(
    JobKind(
        name="bill_run",
        title=_("Billing run"),
        unit=_("steps"),
        capability="bill.run",
        run=_bill_run,
        check=_bill_check,
        subject=lambda job: f"{job.area_id or ''} {str(job.params.get('period', ''))[:7]}",
        links=_bill_links,
    )
)
