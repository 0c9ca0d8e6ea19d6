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

How an upload is judged, so that the database does the work a chunk at a
time in a handful of statements, and the memory Python needs does not grow
with the file:

1. Python reads the rows and checks what a row says about itself: the form
   and check character of the identity number, the wage. Well-formed rows
   take a fast path (the check character by `int(body, 13)`, birth dates
   remembered per import); anything else goes through
   `parse_identity_number` / `_parse_wage`, which name the exact fault.
2. A chunk of good rows — (line, identity number, wage in cents) — is
   loaded into a temporary staging table: COPY FROM STDIN on PostgreSQL,
   executemany on SQLite.
3. The rest is SQL over the whole chunk (the statements below, one set of
   rules for both engines): the first line of each identity number in the
   file is kept in a second temporary table across chunks, which finds
   duplicates; `_JUDGE` joins the rows to the registered persons of the
   area, their employment by the employer in the month and the month's
   active declared line, and gives each row its outcome; the accepted rows
   are stored with one INSERT … SELECT, and only the first refused rows
   (up to MAX_ERRORS in all) come back to Python to be worded.

Rows are loaded LOAD_BATCH at a time while the file is read, so a chunk
can be large (fewer, larger statements) without Python holding it. The
keys a stored line copies (area, employer, person, upload, author) are not
checked again by the database: the judge has checked each row's person and
employment, and the rest are the import's own. On PostgreSQL, most of an
import's time is then the database's own per-row work of storing the lines
and their four indexes.

A single line (`declaration_declare`) is judged by the same `_JUDGE` query.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
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
from shebao.registry.identifiers import (
    division_known,
    mask_identity_number,
    parse_identity_number,
)
from shebao.registry.models import Employer, Employment, Person

# Rows judged and written per transaction: each chunk's statements read the
# employer's employments and the month's lines once, so fewer, larger chunks
# where the engine handles them well. CHUNK, when set, overrides.
CHUNK: int | None = None
CHUNK_BY_ENGINE = {"postgresql": 500_000}
DEFAULT_CHUNK = 100_000
LOAD_BATCH = 10_000  # rows read before they are loaded into the staging table
MAX_ERRORS = 5000
MAX_WAGE = Decimal("100000000")

# Accepted column headers, English and Chinese, → field.
HEADERS = {
    "id_number": "id_number",
    "身份证号码": "id_number",
    "身份证号": "id_number",
    "身份证": "id_number",
    "证件号码": "id_number",
    "公民身份号码": "id_number",
    "社会保障号码": "id_number",
    "name": "name",
    "姓名": "name",
    "wage": "wage",
    "工资": "wage",
    "月工资": "wage",
    "缴费工资": "wage",
    "申报工资": "wage",
    "应发工资": "wage",
    "工资总额": "wage",
    "本月工资": "wage",
}
TEMPLATE_HEADER = ["身份证号码 id_number", "姓名 name", "月工资 wage"]

# What the database says about a row that is well-formed, and how a refusal
# reads (field, message).
ACCEPTED = "accepted"
UNCHANGED = "unchanged"
REFUSALS: dict[str, tuple[str, Any]] = {
    "duplicate_row": ("id_number", _("The same person appears on line %(line)d already.")),
    "person_unknown": (
        "id_number",
        _(
            "Nobody with this identity number is registered in the area; register the "
            "employee first."
        ),
    ),
    "not_employed": (
        "id_number",
        _("Not employed by this employer in %(month)s; register the employment first."),
    ),
    "already_declared": (
        "wage",
        _("%(wage)s was already declared for %(month)s; send a correction to change it."),
    ),
}


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


def read_rows(stream: IO[bytes], filename: str) -> Iterator[tuple[int, Any, Any]]:
    """(line, identity number cell, wage cell) for each data row of a CSV or XLSX file."""
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
    id_column = wage_column = width = 0
    for line, row in source:
        if columns is None:
            columns = _header_map(row)
            id_column, wage_column = columns["id_number"], columns["wage"]
            width = max(id_column, wage_column) + 1
            continue
        if len(row) >= width:
            id_cell, wage_cell = row[id_column], row[wage_column]
        else:
            id_cell = row[id_column] if id_column < len(row) else None
            wage_cell = row[wage_column] if wage_column < len(row) else None
        if not (isinstance(id_cell, str) and id_cell.strip()) and not any(
            str(cell or "").strip() for cell in row
        ):
            continue  # blank line
        yield line, id_cell, wage_cell


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


def _parse_row(id_cell: Any, wage_cell: Any) -> tuple[str, int]:
    """(identity number, wage in cents) of a row, or the first thing wrong with it."""
    number = parse_identity_number(str(id_cell or "").strip()).number
    return number, int(_parse_wage(wage_cell) * 100)


def _plain_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def wage_cents_fast(cell: Any) -> int | None:
    """The wage in cents when the cell is plainly written (`9000`, `8000.5`,
    `8000.50`); None for anything else, which `_parse_wage` then judges."""
    if type(cell) is int:
        cell = str(cell)
    elif type(cell) is not str:
        return None
    whole, _dot, fraction = cell.strip().partition(".")
    if not (0 < len(whole) <= 8 and _plain_digits(whole)):
        return None
    if fraction and not (len(fraction) <= 2 and _plain_digits(fraction)):
        return None
    return int(whole) * 100 + int(fraction.ljust(2, "0"))


CHECK_CHARACTERS = "0123456789X"


class IdentityNumbers:
    """Accepts well-formed identity numbers quickly; None for anything else,
    which `parse_identity_number` then judges (and words the refusal).

    Accepts exactly what `parse_identity_number` accepts without internal
    spaces: 17 digits and a check character (a lower-case x allowed), a
    known division, a possible birth date, the ISO 7064 MOD 11-2 check (its
    weights are the powers of 2 mod 11, and 13 ≡ 2 mod 11, so the weighted
    sum is the body read in base 13). Birth dates are remembered: there are
    at most some 50,000 of them, whatever the size of the file.
    """

    def __init__(self) -> None:
        self.today = timezone.localdate()
        self.possible_birth_dates: dict[str, bool] = {}

    def _possible(self, digits: str) -> bool:
        try:
            born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            return False
        return born.year >= 1880 and born <= self.today

    def accept(self, cell: Any) -> str | None:
        if type(cell) is not str:
            return None
        number = cell.strip()
        if len(number) != 18:
            return None
        body, check = number[:17], number[17]
        if not _plain_digits(body):
            return None
        if check == "x":
            number, check = body + "X", "X"
        if check != CHECK_CHARACTERS[(1 - 2 * int(body, 13)) % 11]:
            return None
        if not division_known(body[:6]):
            return None
        birth = body[6:14]
        possible = self.possible_birth_dates.get(birth)
        if possible is None:
            possible = self.possible_birth_dates[birth] = self._possible(birth)
        return number if possible else None


def chunk_rows() -> int:
    """Rows judged and written per transaction on this connection's engine."""
    return CHUNK or CHUNK_BY_ENGINE.get(connection.vendor, DEFAULT_CHUNK)


def _require_declarer(actor: User, employer: Employer) -> None:
    require(
        actor,
        "declaration.submit",
        area_code=employer.area_id,
        employer_id=employer.pk if actor.role == Role.EMPLOYER else None,
    )


# --- the set-based part ------------------------------------------------------
#
# Temporary tables of the import (private to the database session): the rows
# of the current chunk, the first line of each identity number of the file so
# far, and the current chunk's rows with their outcome.

STAGED_ROWS = "declaration_import_row"
FIRST_LINES = "declaration_import_first_line"
JUDGED_ROWS = "declaration_import_judged"

_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE {STAGED_ROWS} ("
    "line INTEGER NOT NULL, id_number VARCHAR(18) NOT NULL, wage_cents BIGINT NOT NULL)",
    f"CREATE TEMPORARY TABLE {FIRST_LINES} (id_number VARCHAR(18) NOT NULL, line INTEGER NOT NULL)",
    f"CREATE TEMPORARY TABLE {JUDGED_ROWS} ("
    "line INTEGER NOT NULL, id_number VARCHAR(18) NOT NULL, wage_cents BIGINT NOT NULL, "
    "person_id BIGINT, first_line INTEGER NOT NULL, declared_cents BIGINT, "
    "outcome VARCHAR(16) NOT NULL)",
)
_DROP_STAGING = tuple(
    f"DROP TABLE IF EXISTS {table}" for table in (STAGED_ROWS, FIRST_LINES, JUDGED_ROWS)
)

# The first line of each identity number of the chunk not seen in earlier chunks.
_RECORD_FIRST_LINES = f"""
    INSERT INTO {FIRST_LINES} (id_number, line)
    SELECT staged.id_number, MIN(staged.line) FROM {STAGED_ROWS} staged
    WHERE NOT EXISTS (SELECT 1 FROM {FIRST_LINES} earliest
                      WHERE earliest.id_number = staged.id_number)
    GROUP BY staged.id_number
"""  # noqa: S608 - table names are constants

# The rows to judge, as (line, id_number, wage_cents, first_line): the staged
# chunk, or one row given as parameters.
_STAGED_SOURCE = f"""
    SELECT staged.line, staged.id_number, staged.wage_cents, earliest.line AS first_line
    FROM {STAGED_ROWS} staged
    JOIN {FIRST_LINES} earliest ON earliest.id_number = staged.id_number
"""  # noqa: S608 - table names are constants
_ONE_ROW_SOURCE = (
    "SELECT 0 AS line, %(id_number)s AS id_number, %(wage_cents)s AS wage_cents, 0 AS first_line"
)

# Each row's outcome, by the rules in the order a person fixes them: a row
# already in the file, nobody registered with that number in the area, not
# employed by the employer in the month, else new / unchanged / different
# from the month's active declared line (one that no reversal points to).
_JUDGE = """
    SELECT row_.line, row_.id_number, row_.wage_cents, person.id AS person_id,
           row_.first_line, declared.wage_cents AS declared_cents,
           CASE WHEN row_.first_line < row_.line THEN 'duplicate_row'
                WHEN person.id IS NULL THEN 'person_unknown'
                WHEN NOT EXISTS (
                    SELECT 1 FROM {employment} employment
                    WHERE employment.area_id = %(area)s
                      AND employment.person_id = person.id
                      AND employment.employer_id = %(employer)s
                      AND employment.start_date <= %(month_end)s
                      AND (employment.end_date IS NULL OR employment.end_date >= %(period)s)
                ) THEN 'not_employed'
                WHEN declared.wage_cents IS NULL THEN 'accepted'
                WHEN declared.wage_cents = row_.wage_cents THEN 'unchanged'
                ELSE 'already_declared' END AS outcome
    FROM ({source}) row_
    LEFT JOIN {person} person
      ON person.area_id = %(area)s AND person.id_number = row_.id_number
    LEFT JOIN (
        SELECT active.person_id, MAX(CAST(ROUND(active.wage * 100) AS BIGINT)) AS wage_cents
        FROM {line} active
        WHERE active.area_id = %(area)s
          AND active.employer_id = %(employer)s
          AND active.period = %(period)s
          AND active.kind = %(declared)s
          AND NOT EXISTS (SELECT 1 FROM {line} reversal WHERE reversal.reverses_id = active.id)
        GROUP BY active.person_id
    ) declared ON declared.person_id = person.id
"""

_JUDGE_STAGED = (
    f"INSERT INTO {JUDGED_ROWS} "
    "(line, id_number, wage_cents, person_id, first_line, declared_cents, outcome)"
    + _JUDGE.format(
        employment=Employment._meta.db_table,
        line=DeclarationLine._meta.db_table,
        person=Person._meta.db_table,
        source=_STAGED_SOURCE,
    )
)
_JUDGE_ONE = _JUDGE.format(
    employment=Employment._meta.db_table,
    line=DeclarationLine._meta.db_table,
    person=Person._meta.db_table,
    source=_ONE_ROW_SOURCE,
)

_STORE_ACCEPTED = f"""
    INSERT INTO {DeclarationLine._meta.db_table}
        (area_id, employer_id, person_id, period, kind, wage, upload_id, source,
         created_by_id, created_at)
    SELECT %(area)s, %(employer)s, judged.person_id, %(period)s, %(declared)s,
           judged.wage_cents / 100.0, %(upload)s, %(source)s, %(actor)s, %(now)s
    FROM {JUDGED_ROWS} judged
    WHERE judged.outcome = 'accepted'
    ORDER BY judged.line
"""  # noqa: S608 - table names are constants

_COPY_STAGED = f"COPY {STAGED_ROWS} (line, id_number, wage_cents) FROM STDIN"
_INSERT_STAGED = f"INSERT INTO {STAGED_ROWS} (line, id_number, wage_cents) VALUES (%s, %s, %s)"  # noqa: S608
# Emptying the chunk's tables: TRUNCATE on PostgreSQL, where deleted rows of
# a temporary table would stay until a VACUUM that never comes.
_CLEAR_CHUNK = {
    False: (f"DELETE FROM {STAGED_ROWS}", f"DELETE FROM {JUDGED_ROWS}"),  # noqa: S608
    True: (f"TRUNCATE {STAGED_ROWS}, {JUDGED_ROWS}",),
}

_COUNT_OUTCOMES = f"SELECT outcome, COUNT(*) FROM {JUDGED_ROWS} GROUP BY outcome"  # noqa: S608

_FIRST_REFUSED = f"""
    SELECT outcome, line, id_number, first_line, declared_cents FROM {JUDGED_ROWS}
    WHERE outcome NOT IN ('accepted', 'unchanged')
    ORDER BY line
    LIMIT %(room)s
"""  # noqa: S608 - table names are constants


class _Judge:
    """Judges rows of one employer and month in SQL and stores the accepted ones."""

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
        ops = connection.ops
        self.params: dict[str, Any] = {
            "area": employer.area_id,
            "employer": employer.pk,
            "period": ops.adapt_datefield_value(period),
            "month_end": ops.adapt_datefield_value(add_months(period, 1) - dt.timedelta(days=1)),
            "declared": LineKind.DECLARED.value,
            "upload": upload.pk if upload is not None else None,
            "source": source,
            "actor": actor.pk,
        }

    def _refusal(
        self, outcome: str, line: int, id_number: str, first_line: int, declared_cents: int | None
    ) -> RowError:
        """How the database's verdict on a row reads to the employer."""
        field, message = REFUSALS[outcome]
        params = {
            "line": first_line,
            "month": f"{self.period:%Y-%m}",
            "wage": Decimal(declared_cents or 0).scaleb(-2),
        }
        return RowError(
            line, mask_identity_number(id_number), field, outcome, str(message) % params
        )

    def one(self, id_number: str, wage_cents: int) -> tuple[str, RowError | None]:
        """The outcome for one row, and its refusal if refused."""
        with connection.cursor() as cursor:
            cursor.execute(
                _JUDGE_ONE, {**self.params, "id_number": id_number, "wage_cents": wage_cents}
            )
            line, number, _wage, _person, first_line, declared_cents, outcome = cursor.fetchone()
        if outcome in (ACCEPTED, UNCHANGED):
            return outcome, None
        return outcome, self._refusal(outcome, line, number, first_line, declared_cents)

    def judge_staged(self, room: int) -> tuple[int, int, list[RowError], int]:
        """Judge the staged rows and store the accepted ones; (accepted,
        unchanged, the first `room` refusals, refused). Call inside the chunk's
        transaction."""
        params = {**self.params, "now": connection.ops.adapt_datetimefield_value(timezone.now())}
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The temporary tables have no statistics unless asked for,
                # and the chunk's statements are too short to repay JIT
                # compilation, which the planner's estimates would trigger.
                cursor.execute("SET LOCAL jit = off")
                # A chunk's hash joins hold its rows; room for them in memory.
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute(f"ANALYZE {STAGED_ROWS}")
            cursor.execute(_RECORD_FIRST_LINES)
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {FIRST_LINES}")
            cursor.execute(_JUDGE_STAGED, params)
            cursor.execute(_STORE_ACCEPTED, params)
            cursor.execute(_COUNT_OUTCOMES)
            counts = dict(cursor.fetchall())
            refusals: list[RowError] = []
            if room > 0:
                cursor.execute(_FIRST_REFUSED, {"room": room})
                refusals = [self._refusal(*row) for row in cursor.fetchall()]
            for statement in _CLEAR_CHUNK[connection.vendor == "postgresql"]:
                cursor.execute(statement)
        accepted, unchanged = counts.pop(ACCEPTED, 0), counts.pop(UNCHANGED, 0)
        return accepted, unchanged, refusals, sum(counts.values())


class _Staging:
    """The import's temporary tables on the current connection, for the length
    of an import, and the rows read but not yet loaded into them."""

    def __init__(self) -> None:
        self.batch: list[tuple[int, str, int]] = []  # (line, identity number, wage in cents)

    def __enter__(self) -> _Staging:
        with connection.cursor() as cursor:
            for statement in (*_DROP_STAGING, *_CREATE_STAGING):
                cursor.execute(statement)
        return self

    def __exit__(self, error_type: type[BaseException] | None, *rest: object) -> None:
        if connection.needs_rollback:
            return  # the enclosing transaction's rollback takes the tables with it
        try:
            with connection.cursor() as cursor:
                for statement in _DROP_STAGING:
                    cursor.execute(statement)
        except DatabaseError:
            if error_type is None:
                raise
            # else the transaction is already broken, and the first error is the one to show

    def add(self, line: int, id_number: str, wage_cents: int) -> None:
        self.batch.append((line, id_number, wage_cents))
        if len(self.batch) >= LOAD_BATCH:
            self.load()

    def load(self) -> None:
        """Load the rows read so far into the staging table."""
        if not self.batch:
            return
        # One transaction: outside one, SQLite makes each row its own (16 µs a row).
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(_COPY_STAGED) as copy:
                    copy.write("".join([f"{row[0]}\t{row[1]}\t{row[2]}\n" for row in self.batch]))
            else:
                cursor.executemany(_INSERT_STAGED, self.batch)
        self.batch = []


@dataclass
class _Chunk:
    """What was read since the last chunk was written."""

    staged: int = 0
    first_line: int = 0
    last_line: int = 0
    refusals: list[RowError] = field(default_factory=list)  # the first that fit
    refused: int = 0

    def __len__(self) -> int:
        return self.staged + self.refused

    def stage(self, line: int) -> None:
        self.first_line = self.first_line or line
        self.last_line = line
        self.staged += 1

    def refuse(self, line: int, id_cell: Any, error: DomainError, *, room: int) -> None:
        self.refused += 1
        if len(self.refusals) < room:
            raw_id = str(id_cell or "").strip()
            self.refusals.append(
                RowError(
                    line, mask_identity_number(raw_id), error.field or "", error.code, error.message
                )
            )


@transaction.atomic
def _write_chunk(
    judge: _Judge, staging: _Staging, chunk: _Chunk, upload: DeclarationUpload
) -> None:
    """Judge and write one chunk, and count it on the upload, in one transaction."""
    room = max(MAX_ERRORS - len(upload.errors), 0)
    accepted = unchanged = refused = 0
    refusals: list[RowError] = []
    if chunk.staged:
        staging.load()
        accepted, unchanged, refusals, refused = judge.judge_staged(room)
    errors = sorted([*chunk.refusals, *refusals], key=lambda e: e.line)[:room]
    upload.errors = upload.errors + [e.as_dict() for e in errors]
    upload.rows_read += len(chunk)
    upload.rows_accepted += accepted
    upload.rows_unchanged += unchanged
    upload.rows_rejected += chunk.refused + refused
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
                "rejected": chunk.refused + refused,
                "first_line": chunk.first_line,
                "last_line": chunk.last_line,
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
    for its checksum and once for its rows. `on_progress` is called with the
    upload after each full chunk and once more when the upload is done.
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
    judge = _Judge(employer, period, actor, upload, "upload")
    identity_numbers = IdentityNumbers()
    chunk = _Chunk()
    chunk_size = chunk_rows()
    try:
        with _Staging() as staging:
            for line, id_cell, wage_cell in read_rows(stream, filename):
                number = identity_numbers.accept(id_cell)
                cents = wage_cents_fast(wage_cell)
                if number is None or cents is None:
                    try:
                        number, cents = _parse_row(id_cell, wage_cell)
                    except DomainError as error:
                        chunk.refuse(line, id_cell, error, room=MAX_ERRORS - len(upload.errors))
                        number = cents = None
                if number is not None and cents is not None:
                    staging.add(line, number, cents)
                    chunk.stage(line)
                if len(chunk) >= chunk_size:
                    _write_chunk(judge, staging, chunk, upload)
                    if on_progress is not None:
                        on_progress(upload)
                    chunk = _Chunk()
            if len(chunk):
                _write_chunk(judge, staging, chunk, upload)
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
    Person.objects.select_for_update().filter(pk=person.pk).first()
    judge = _Judge(employer, period, actor, None, source)
    outcome, refusal = judge.one(person.id_number, int(amount * 100))
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code, field=refusal.field)
    if outcome == ACCEPTED:
        line = DeclarationLine.objects.create(
            area_id=employer.area_id,
            employer=employer,
            person=person,
            period=period,
            wage=amount,
            source=source,
            created_by=actor,
            created_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action="declaration.declare",
            subject=line,
            area_code=employer.area_id,
            after=_line_snapshot(line),
        )
        return line
    return DeclarationLine.objects.filter(
        area_id=employer.area_id,
        employer=employer,
        person=person,
        period=period,
        kind=LineKind.DECLARED,
        reversal__isnull=True,
    ).get()


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
