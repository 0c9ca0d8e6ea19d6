"""Employers' monthly wage declarations (SIL art. 60): upload, single lines,
corrections.

An upload is read as a stream (CSV or XLSX, never the whole file in memory)
and handled a chunk of rows at a time, each chunk in its own transaction:
what was accepted stays accepted whatever happens to later rows, and the
upload's counters show progress while it runs. Every row is judged on its
own — a valid identity number of a registered person, employed by this
employer in that month, a wage of at least 0 with at most two decimals, not
twice in the file — and a refused row gets its line, field and reason. A row
already declared with the same wage is "unchanged", so sending the same file
again creates nothing; a different wage for a month already declared is
refused: that is a correction, which is a reversal plus a new line.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import audit_record, snapshot
from shebao.contributions.models import (
    DeclarationLine,
    DeclarationUpload,
    LineKind,
    UploadStatus,
)
from shebao.core.dates import add_months
from shebao.core.errors import Conflict, DomainError, InvalidInput
from shebao.registry.identifiers import mask_identity_number, parse_identity_number
from shebao.registry.models import Employer, Employment, Person

CHUNK = 5000
MAX_ERRORS = 5000
MAX_WAGE = Decimal("100000000")

# Accepted column headers, English and Chinese, → field.
HEADERS = {
    "id_number": "id_number",
    "身份证号码": "id_number",
    "公民身份号码": "id_number",
    "社会保障号码": "id_number",
    "name": "name",
    "姓名": "name",
    "wage": "wage",
    "工资": "wage",
    "月工资": "wage",
    "缴费工资": "wage",
    "申报工资": "wage",
}
TEMPLATE_HEADER = ["身份证号码 id_number", "姓名 name", "月工资 wage"]


@dataclass(frozen=True)
class RowError:
    line: int
    id_number: str  # masked
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "id_number": self.id_number,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class _Row:
    line: int
    id_number: str
    wage: Decimal
    person_id: int = 0


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def check_period(period: dt.date, *, field: str = "period") -> dt.date:
    """A declared month: the first day of a month not after the current one."""
    if period.day != 1:
        raise InvalidInput(
            _("A month is given by its first day, e.g. 2026-10-01."), code="period_day", field=field
        )
    if period > first_of_month(timezone.localdate()):
        raise InvalidInput(
            _("%(month)s has not begun; wages are declared for past or current months."),
            code="period_future",
            field=field,
            params={"month": f"{period:%Y-%m}"},
        )
    return period


def template_csv() -> str:
    """The downloadable template: header and one example row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(["11010519491231002X", "李秀英", "8500.00"])
    return "\ufeff" + out.getvalue()


def _header_map(header: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = str(cell or "").strip().lstrip("\ufeff")
        key = (
            HEADERS.get(text) or HEADERS.get(text.split(" ")[-1]) or HEADERS.get(text.split(" ")[0])
        )
        if key and key not in found:
            found[key] = index
    missing = [name for name in ("id_number", "wage") if name not in found]
    if missing:
        raise InvalidInput(
            _(
                "The file's first row must name the columns; missing: %(missing)s. Download the "
                "template to see them."
            ),
            code="declaration_header",
            field="file",
            params={"missing": ", ".join(missing)},
        )
    return found


def _csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from enumerate(csv.reader(text), start=1)
    finally:
        with contextlib.suppress(ValueError):  # already closed by its owner
            text.detach()  # leave the caller's stream open


def _xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(stream, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def read_rows(stream: IO[bytes], filename: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {id_number, wage}) for each data row of a CSV or XLSX file."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        source = _xlsx_rows(stream)
    elif lower.endswith((".csv", ".txt")):
        source = _csv_rows(stream)
    else:
        raise InvalidInput(
            _("Send a CSV or XLSX file (the template is CSV)."),
            code="declaration_format",
            field="file",
        )
    columns: dict[str, int] | None = None
    for line, row in source:
        if columns is None:
            columns = _header_map(row)
            continue
        if not any(str(cell or "").strip() for cell in row):
            continue  # blank line
        yield (
            line,
            {name: (row[index] if index < len(row) else None) for name, index in columns.items()},
        )


def _parse_wage(value: Any) -> Decimal:
    text = str(value if value is not None else "").strip().replace(",", "")
    try:
        wage = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(
            _("The wage %(value)s is not a number."),
            code="wage_format",
            field="wage",
            params={"value": text or "-"},
        ) from None
    if not wage.is_finite() or wage < 0 or wage >= MAX_WAGE:
        raise InvalidInput(
            _("The wage must be at least 0 and below 100,000,000, got %(value)s."),
            code="wage_range",
            field="wage",
            params={"value": text},
        )
    if wage != wage.quantize(Decimal("0.01")):
        raise InvalidInput(
            _("The wage %(value)s has more than two decimals."),
            code="wage_decimals",
            field="wage",
            params={"value": text},
        )
    return wage.quantize(Decimal("0.01"))


def _require_declarer(actor: User, employer: Employer) -> None:
    require(
        actor,
        "declaration.submit",
        area_code=employer.area_id,
        employer_id=employer.pk if actor.role == Role.EMPLOYER else None,
    )


class _Chunk:
    """Judges and writes one chunk of rows."""

    def __init__(
        self,
        employer: Employer,
        period: dt.date,
        actor: User,
        upload: DeclarationUpload | None,
        source: str,
    ) -> None:
        self.employer, self.period, self.actor = employer, period, actor
        self.upload, self.source = upload, source
        self.month_end = add_months(period, 1) - dt.timedelta(days=1)

    def run(self, rows: list[_Row]) -> tuple[int, int, list[RowError]]:
        errors: list[RowError] = []
        area = self.employer.area_id
        persons = dict(
            Person.objects.filter(
                area_id=area, id_number__in=[r.id_number for r in rows]
            ).values_list("id_number", "pk")
        )
        known = []
        for row in rows:
            if row.id_number not in persons:
                errors.append(
                    RowError(
                        row.line,
                        mask_identity_number(row.id_number),
                        "id_number",
                        "person_unknown",
                        _g(
                            "Nobody with this identity number is registered in the "
                            "area; register the employee first."
                        ),
                    )
                )
                continue
            row.person_id = persons[row.id_number]
            known.append(row)
        employed = set(
            Employment.objects.filter(
                area_id=area,
                employer=self.employer,
                person_id__in=[r.person_id for r in known],
                start_date__lte=self.month_end,
            )
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=self.period))
            .values_list("person_id", flat=True)
        )
        declared = dict(
            DeclarationLine.objects.filter(
                area_id=area,
                employer=self.employer,
                period=self.period,
                kind=LineKind.DECLARED,
                reversal__isnull=True,
                person_id__in=[r.person_id for r in known],
            ).values_list("person_id", "wage")
        )
        accepted: list[DeclarationLine] = []
        unchanged = 0
        now = timezone.now()
        for row in known:
            if row.person_id not in employed:
                errors.append(
                    RowError(
                        row.line,
                        mask_identity_number(row.id_number),
                        "id_number",
                        "not_employed",
                        _g(
                            "Not employed by this employer in %(month)s; register the employment "
                            "first."
                        )
                        % {"month": f"{self.period:%Y-%m}"},
                    )
                )
                continue
            if row.person_id in declared:
                if declared[row.person_id] == row.wage:
                    unchanged += 1
                else:
                    errors.append(
                        RowError(
                            row.line,
                            mask_identity_number(row.id_number),
                            "wage",
                            "already_declared",
                            _g(
                                "%(wage)s was already declared for %(month)s; send a correction to "
                                "change it."
                            )
                            % {"wage": declared[row.person_id], "month": f"{self.period:%Y-%m}"},
                        )
                    )
                continue
            accepted.append(
                DeclarationLine(
                    area_id=area,
                    employer=self.employer,
                    person_id=row.person_id,
                    period=self.period,
                    wage=row.wage,
                    upload=self.upload,
                    source=self.source,
                    created_by=self.actor,
                    created_at=now,
                )
            )
        DeclarationLine.objects.bulk_create(accepted, batch_size=CHUNK)
        return len(accepted), unchanged, errors


@transaction.atomic
def _write_chunk(
    judge: _Chunk, rows: list[_Row], upload: DeclarationUpload, parse_errors: list[RowError]
) -> None:
    """Judge and write one chunk, and count it on the upload, in one transaction."""
    accepted, unchanged, refused = judge.run(rows) if rows else (0, 0, [])
    errors = [*parse_errors, *refused]
    room = max(MAX_ERRORS - len(upload.errors), 0)
    upload.errors = (
        upload.errors + [e.as_dict() for e in sorted(errors, key=lambda e: e.line)][:room]
    )
    upload.rows_read += len(rows) + len(parse_errors)
    upload.rows_accepted += accepted
    upload.rows_unchanged += unchanged
    upload.rows_rejected += len(errors)
    upload.save(
        update_fields=["errors", "rows_read", "rows_accepted", "rows_unchanged", "rows_rejected"]
    )
    if accepted:
        audit_record(
            actor=judge.actor,
            action="declaration.import_chunk",
            subject=upload,
            area_code=upload.area_id,
            after={
                "accepted": accepted,
                "unchanged": unchanged,
                "rejected": len(errors),
                "first_line": rows[0].line,
                "last_line": rows[-1].line,
            },
        )


def _file_digest(stream: IO[bytes]) -> str:
    """SHA-256 of the whole file, read in pieces; the stream is rewound for reading."""
    digest = hashlib.sha256()
    while piece := stream.read(1 << 20):
        digest.update(piece)
    stream.seek(0)
    return digest.hexdigest()


def declaration_import(
    *,
    actor: User,
    employer: Employer,
    period: dt.date,
    stream: IO[bytes],
    filename: str,
    on_progress: Callable[[DeclarationUpload], None] | None = None,
) -> DeclarationUpload:
    """Import a declaration file for one month; returns the upload with its results.

    The stream must be seekable (an uploaded or opened file): it is read once
    for its checksum and once for its rows.
    """
    _require_declarer(actor, employer)
    check_period(period)
    with transaction.atomic():
        upload = DeclarationUpload.objects.create(
            area_id=employer.area_id,
            employer=employer,
            period=period,
            filename=filename[:200],
            sha256=_file_digest(stream),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="declaration.upload",
            subject=upload,
            area_code=employer.area_id,
            after=snapshot(upload, ["id", "employer_id", "period", "filename", "sha256"]),
        )
    judge = _Chunk(employer, period, actor, upload, "upload")
    seen: dict[str, int] = {}
    pending: list[_Row] = []
    errors: list[RowError] = []
    try:
        for line, row in read_rows(stream, filename):
            raw_id = str(row.get("id_number") or "").strip()
            try:
                number = parse_identity_number(raw_id).number
                wage = _parse_wage(row.get("wage"))
                if number in seen:
                    raise InvalidInput(
                        _("The same person appears on line %(line)d already."),
                        code="duplicate_row",
                        field="id_number",
                        params={"line": seen[number]},
                    )
                seen[number] = line
                pending.append(_Row(line, number, wage))
            except DomainError as error:
                errors.append(
                    RowError(
                        line,
                        mask_identity_number(raw_id) if raw_id else "",
                        error.field or "",
                        error.code,
                        error.message,
                    )
                )
            if len(pending) + len(errors) >= CHUNK:
                _write_chunk(judge, pending, upload, errors)
                if on_progress is not None:
                    on_progress(upload)
                pending, errors = [], []
        if pending or errors:
            _write_chunk(judge, pending, upload, errors)
    except DomainError as error:  # the file itself cannot be read (format, header)
        upload.status = UploadStatus.FAILED
        upload.errors = [
            *upload.errors,
            {
                "line": 1,
                "id_number": "",
                "field": error.field or "",
                "code": error.code,
                "message": error.message,
            },
        ]
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "errors", "finished_at"])
        raise
    upload.status = UploadStatus.DONE
    upload.finished_at = timezone.now()
    upload.save(update_fields=["status", "finished_at"])
    if on_progress is not None:
        on_progress(upload)
    return upload


def errors_csv(upload: DeclarationUpload) -> str:
    """The refused rows as a CSV the employer can open next to the file it sent."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号 line", "身份证号码 id_number", "列 field", "代码 code", "原因 reason"])
    for error in upload.errors:
        writer.writerow(
            [error["line"], error["id_number"], error["field"], error["code"], error["message"]]
        )
    return "\ufeff" + out.getvalue()


# --- single lines and corrections --------------------------------------------


def _line_snapshot(line: DeclarationLine) -> dict[str, Any]:
    return snapshot(
        line, ["id", "employer_id", "person_id", "period", "kind", "wage", "reverses_id", "source"]
    )


@transaction.atomic
def declaration_declare(
    *,
    actor: User,
    employer: Employer,
    person: Person,
    period: dt.date,
    wage: Decimal | str,
    source: str = "api",
) -> DeclarationLine:
    """Declare one employee's wage for one month (API or form)."""
    _require_declarer(actor, employer)
    check_period(period)
    amount = _parse_wage(wage)
    judge = _Chunk(employer, period, actor, None, source)
    Person.objects.select_for_update().filter(pk=person.pk).first()
    accepted, _unchanged, refused = judge.run([_Row(0, person.id_number, amount)])
    if refused:
        error = refused[0]
        raise Conflict(error.message, code=error.code, field=error.field)
    line = DeclarationLine.objects.filter(
        area_id=employer.area_id,
        employer=employer,
        person=person,
        period=period,
        kind=LineKind.DECLARED,
        reversal__isnull=True,
    ).get()
    if accepted:
        audit_record(
            actor=actor,
            action="declaration.declare",
            subject=line,
            area_code=employer.area_id,
            after=_line_snapshot(line),
        )
    return line


@transaction.atomic
def declaration_correct(
    *, actor: User, line: DeclarationLine, wage: Decimal | str, reason: str
) -> DeclarationLine:
    """Correct a declared wage: a reversal of the line plus a new line; nothing is edited."""
    employer = line.employer
    require(
        actor,
        "declaration.correct",
        area_code=line.area_id,
        employer_id=employer.pk if actor.role == Role.EMPLOYER else None,
    )
    if not (reason or "").strip():
        raise InvalidInput(
            _("Say why the declaration is corrected."), code="reason_required", field="reason"
        )
    amount = _parse_wage(wage)
    locked = DeclarationLine.objects.select_for_update().get(pk=line.pk)
    if locked.kind != LineKind.DECLARED or DeclarationLine.objects.filter(reverses=locked).exists():
        raise Conflict(
            _("This line was already corrected; correct the newest line."), code="line_superseded"
        )
    if amount == locked.wage:
        raise InvalidInput(
            _("The corrected wage equals the declared one."), code="same_wage", field="wage"
        )
    now = timezone.now()
    reversal = DeclarationLine.objects.create(
        area_id=locked.area_id,
        employer_id=locked.employer_id,
        person_id=locked.person_id,
        period=locked.period,
        kind=LineKind.REVERSAL,
        wage=locked.wage,
        reverses=locked,
        source="correct",
        created_by=actor,
        created_at=now,
    )
    new = DeclarationLine.objects.create(
        area_id=locked.area_id,
        employer_id=locked.employer_id,
        person_id=locked.person_id,
        period=locked.period,
        kind=LineKind.DECLARED,
        wage=amount,
        source="correct",
        created_by=actor,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="declaration.correct",
        subject=new,
        area_code=line.area_id,
        before=_line_snapshot(locked),
        after={**_line_snapshot(new), "reversal": reversal.pk, "reason": reason.strip()},
    )
    return new


def declared_wages(lines: Iterable[DeclarationLine]) -> Decimal:
    """Net declared wage of lines: declared minus reversed."""
    total = Decimal("0")
    for line in lines:
        total += line.wage if line.kind == LineKind.DECLARED else -line.wage
    return total
