"""Contribution workloads for `make bench`: the monthly billing run and the
declaration import at scale (1,000,000 × scale rows on PostgreSQL, 100,000 ×
scale on SQLite).

- Billing is timed against one hand-written INSERT … SELECT that computes the
  same bill lines (active declarations, base clamped to the policy's floor
  and ceiling, each insurance rounded half up to the cent, work injury by the
  employer's risk class) into a table with the bill lines' columns and indexes.
- The declaration import (streamed, every row validated) is timed against
  loading the same file into a plain table with no checks: COPY on
  PostgreSQL; on SQLite, which has no COPY, the csv module and one prepared
  INSERT (what SQLite's `.import` does). Its peak Python memory (tracemalloc)
  is measured in separate runs at two sizes and reported with the figures.
  The baseline does not do all the database work the import must do: it
  looks nothing up and does not write into the declaration lines' table.
  What that write alone costs (one INSERT … SELECT of the imported lines into
  their table, rolled back) is reported next to it.

The data — persons with valid identity numbers, employers, employments,
declarations — is written with COPY (PostgreSQL) or executemany (SQLite) and
INSERT … SELECT, never row by row through the ORM.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.contributions import billing, declarations
from shebao.contributions.models import BillLine, DeclarationLine, DeclarationUpload, Policy
from shebao.contributions.services import policy_set
from shebao.core.bench import Measurement, timed
from shebao.core.dates import add_months
from shebao.registry.identifiers import make_credit_code, make_identity_number
from shebao.registry.models import Area, Employer, Employment, Person

BENCH_AREA = "320200"  # Wuxi
PERSONS_PER_EMPLOYER = 500
RATES: dict[str, tuple[Decimal | str, Decimal | str]] = {
    "pension": ("0.16", "0.08"),
    "medical": ("0.06", "0.02"),
    "unemployment": ("0.005", "0.005"),
    "maternity": ("0.008", "0"),
}
WORK_INJURY: dict[int, Decimal | str] = {
    1: "0.002",
    2: "0.004",
    3: "0.007",
    4: "0.009",
    5: "0.011",
    6: "0.013",
    7: "0.016",
    8: "0.019",
}
# Wages from 3,000 to 32,999: some under the floor, some over the ceiling.
WAGE_SQL = "3000 + (e.person_id * 7919) %% 30000"


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Many rows into a table: COPY on PostgreSQL, executemany elsewhere."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - constants
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 10000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def identity_number(index: int, division: str = BENCH_AREA) -> str:
    """The `index`-th bench person's identity number (born one day apart per 1,000)."""
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=index // 1000)
    return make_identity_number(division, birth, index % 1000)


def bench_persons(area: Area, count: int) -> None:
    """`count` persons of `area` with valid identity numbers."""
    now = timezone.now()
    registered = dt.date(2010, 1, 1)
    insert_rows(
        Person._meta.db_table,
        [
            "area_id",
            "id_number",
            "name",
            "birth_date",
            "sex",
            "phone",
            "address",
            "status",
            "registered_on",
            "created_at",
        ],
        (
            (
                area.code,
                identity_number(index, area.code),
                f"测试{index}",
                dt.date(1960, 1, 1) + dt.timedelta(days=index // 1000),
                "M" if index % 2 else "F",
                "",
                "",
                "active",
                registered,
                now,
            )
            for index in range(count)
        ),
    )


def bench_employers(area: Area, count: int, *, prefix: str = "B") -> list[int]:
    employers = [
        Employer(
            area=area,
            credit_code=make_credit_code(area.code, f"{prefix}{index:08d}"),
            name=f"无锡测试{prefix}{index}有限公司",
            established_on=dt.date(2000, 1, 1),
            registered_on=dt.date(2000, 1, 10),
            industry_risk_class=index % 8 + 1,
        )
        for index in range(count)
    ]
    Employer.objects.bulk_create(employers, batch_size=5000)
    return [e.pk for e in employers]


def bench_employments(
    area: Area,
    pairs: Iterable[tuple[int, int]],
    start: dt.date,
    end: dt.date | None,
) -> None:
    """(person, employer) employments from `start` to `end` (None: still employed)."""
    now = timezone.now()
    insert_rows(
        Employment._meta.db_table,
        [
            "area_id",
            "person_id",
            "employer_id",
            "start_date",
            "end_date",
            "end_reason",
            "registered_on",
            "late_registration",
            "created_at",
        ],
        (
            (area.code, person, employer, start, end, "", start, False, now)
            for person, employer in pairs
        ),
    )


def bench_declarations(area: Area, period: dt.date, officer: User, *, exclude: int) -> int:
    """Declared lines of `period` for every employment then running (not of `exclude`)."""
    month_end = add_months(period, 1) - dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DeclarationLine._meta.db_table} (area_id, employer_id, person_id, "  # noqa: S608
            "period, kind, wage, source, created_by_id, created_at) "
            f"SELECT e.area_id, e.employer_id, e.person_id, %s, 'declared', {WAGE_SQL}, "
            "'bench', %s, %s FROM registry_employment e "
            "WHERE e.area_id = %s AND e.employer_id <> %s AND e.start_date <= %s "
            "AND (e.end_date IS NULL OR e.end_date >= %s)",
            [period, officer.pk, timezone.now(), area.code, exclude, month_end, period],
        )
        return cursor.rowcount


# --- baselines -------------------------------------------------------------------

_BASELINE_LINES = """
    INSERT INTO bench_bill_line (area_id, bill_id, employer_id, person_id, period, insurance,
                                 kind, base_cents, employer_cents, individual_cents, run_id)
    SELECT %(area)s, b.employer_id, b.employer_id, b.person_id, %(period)s, r.insurance,
           'declared', b.base_cents,
           (b.base_cents * r.employer_units + 50000) / 100000,
           (b.base_cents * r.individual_units + 50000) / 100000, 0
    FROM (SELECT d.employer_id, d.person_id, e.industry_risk_class,
                 CASE WHEN d.wage * 100 < %(floor)s THEN %(floor)s
                      WHEN d.wage * 100 > %(ceiling)s THEN %(ceiling)s
                      ELSE CAST(ROUND(d.wage * 100) AS BIGINT) END AS base_cents
          FROM contributions_declarationline d
          JOIN registry_employer e ON e.id = d.employer_id
          WHERE d.area_id = %(area)s AND d.period = %(period)s AND d.kind = 'declared'
            AND NOT EXISTS (SELECT 1 FROM contributions_declarationline x
                            WHERE x.reverses_id = d.id)) b
    JOIN (SELECT insurance, 0 AS risk_class,
                 CAST(ROUND(employer_rate * 100000) AS BIGINT) AS employer_units,
                 CAST(ROUND(individual_rate * 100000) AS BIGINT) AS individual_units
          FROM contributions_policyrate WHERE policy_id = %(policy)s
          UNION ALL
          SELECT 'work_injury', risk_class, CAST(ROUND(rate * 100000) AS BIGINT), 0
          FROM contributions_workinjuryrate WHERE policy_id = %(policy)s) r
      ON r.risk_class = 0 OR r.risk_class = b.industry_risk_class
"""


def _baseline_billing(area: Area, period: dt.date, policy: Policy) -> tuple[float, int]:
    """One INSERT … SELECT of the same lines into a table shaped like the bill lines."""
    floor, ceiling = billing.base_bounds(policy)
    params: dict[str, Any] = {
        "area": area.code,
        "period": period,
        "policy": policy.pk,
        "floor": floor,
        "ceiling": ceiling,
    }
    table = BillLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bill_line")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE bench_bill_line (LIKE {table} INCLUDING ALL)")
        else:
            cursor.execute(f"CREATE TABLE bench_bill_line AS SELECT * FROM {table} WHERE 1 = 0")  # noqa: S608
            cursor.execute(
                "CREATE INDEX bench_bill_line_a ON bench_bill_line "
                "(area_id, period, employer_id, person_id, insurance)"
            )
            cursor.execute(
                "CREATE INDEX bench_bill_line_b ON bench_bill_line (area_id, person_id, period)"
            )
        rows = [0]

        def insert_select() -> None:
            with transaction.atomic():
                cursor.execute(_BASELINE_LINES, params)
                rows[0] = cursor.rowcount

        seconds = timed(insert_select)
        cursor.execute("DROP TABLE bench_bill_line")
    return seconds, rows[0]


def _baseline_import(path: Path) -> float:
    """The same file loaded into a plain table with no checks: COPY on PostgreSQL;
    on SQLite, which has no COPY, the file parsed by the csv module and inserted
    through one prepared statement, as SQLite's own `.import` does."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_declaration_file")
        cursor.execute(
            "CREATE TABLE bench_declaration_file (id_number varchar(18), name varchar(100), "
            "wage numeric(14, 2))"
        )
        if connection.vendor == "postgresql":

            def load() -> None:
                with (
                    transaction.atomic(),
                    path.open("rb") as source,
                    cursor.copy(
                        "COPY bench_declaration_file (id_number, name, wage) FROM STDIN "
                        "WITH (FORMAT csv, HEADER)"
                    ) as copy,
                ):
                    while data := source.read(1 << 16):
                        copy.write(data)

        else:

            def load() -> None:
                with transaction.atomic(), path.open(encoding="utf-8", newline="") as source:
                    rows = csv.reader(source)
                    next(rows)  # the header
                    cursor.executemany(
                        "INSERT INTO bench_declaration_file (id_number, name, wage) "
                        "VALUES (%s, %s, %s)",
                        rows,  # type: ignore[arg-type]  # the driver takes any iterable: streamed
                    )

        seconds = timed(load)
        cursor.execute("DROP TABLE bench_declaration_file")
    return seconds


# --- the shared data -------------------------------------------------------------


@dataclass
class _World:
    """Persons employed by small employers until the billed month, then all by one
    large employer from the imported month on."""

    count: int
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="shebao-bench-")))
    area: Area | None = None
    officer: User | None = None
    large: Employer | None = None
    declared: int = 0
    import_period: dt.date = field(default_factory=lambda: timezone.localdate().replace(day=1))

    @property
    def billing_period(self) -> dt.date:
        return add_months(self.import_period, -1)

    def prepare(self) -> tuple[Area, User]:
        if self.area is None or self.officer is None:
            with transaction.atomic():
                self.area = Area.objects.create(code=BENCH_AREA, name="无锡市")
                self.officer = user_create(
                    actor=None,
                    username="bench-contrib",
                    password="x",
                    role=Role.CONTRIBUTIONS_OFFICER,
                    area_code=BENCH_AREA,
                    check_password=False,
                )
                policy_set(
                    actor=self.officer,
                    area=self.area,
                    valid_from=dt.date(2020, 1, 1),
                    average_monthly_wage="10000",
                    rates=RATES,
                    work_injury_rates=WORK_INJURY,
                )
                bench_persons(self.area, self.count)
                persons = list(
                    Person.objects.filter(area=self.area)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                small = bench_employers(self.area, max(self.count // PERSONS_PER_EMPLOYER, 1))
                self.large = Employer.objects.get(pk=bench_employers(self.area, 1, prefix="L")[0])
                last_day = self.import_period - dt.timedelta(days=1)
                bench_employments(
                    self.area,
                    ((p, small[n % len(small)]) for n, p in enumerate(persons)),
                    dt.date(2015, 1, 1),
                    last_day,
                )
                bench_employments(
                    self.area, ((p, self.large.pk) for p in persons), self.import_period, None
                )
                self.declared = bench_declarations(
                    self.area, self.billing_period, self.officer, exclude=self.large.pk
                )
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        return self.area, self.officer

    def declaration_file(self, rows: int, name: str) -> Path:
        """A declaration file of the large employer's first `rows` employees."""
        path = self.directory / name
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(declarations.TEMPLATE_HEADER)
            for index in range(rows):
                writer.writerow(
                    [identity_number(index), f"测试{index}", f"{8000 + index % 5000}.50"]
                )
        return path


def bench_billing(world: _World) -> Measurement:
    area, officer = world.prepare()
    period = world.billing_period
    runs: list[Any] = []

    def run() -> None:
        runs.append(billing.bill_run(actor=officer, area=area, period=period))

    seconds = timed(run)
    lines = runs[0].lines_added
    baseline, baseline_rows = _baseline_billing(area, period, billing.policy_for(area.code, period))
    assert lines == baseline_rows == world.declared * 5, (lines, baseline_rows, world.declared)
    return Measurement(
        f"billing run, one month ({world.declared:,} persons)",
        lines,
        seconds,
        "one INSERT…SELECT of the same lines",
        baseline,
        goal="≤ 1.5×",
    )


def _import(world: _World, path: Path) -> DeclarationUpload:
    assert world.large is not None and world.officer is not None
    with path.open("rb") as stream:
        return declarations.declaration_import(
            actor=world.officer,
            employer=world.large,
            period=world.import_period,
            stream=stream,
            filename=path.name,
        )


def _forget(upload: DeclarationUpload) -> None:
    """Remove what an import wrote, so the month can be imported again as if
    for the first time (on PostgreSQL the dead rows' index entries would
    otherwise stay in the way of the next import's look-ups)."""
    table = DeclarationLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE upload_id = %s", [upload.pk])  # noqa: S608
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {table}")


def _peak_memory(world: _World, rows: int) -> int:
    """Peak Python memory (bytes, tracemalloc) of importing a file of `rows` rows."""
    path = world.declaration_file(rows, f"memory-{rows}.csv")
    tracemalloc.start()
    try:
        upload = _import(world, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert upload.rows_accepted == rows, upload.rows_accepted
    _forget(upload)
    return peak


def _store_floor(upload: DeclarationUpload) -> float:
    """Seconds to write the upload's lines once more into the declaration lines'
    table with one INSERT … SELECT (rolled back): what keeping the rows costs
    any import, with no reading, checking or looking up."""
    table = DeclarationLine._meta.db_table
    columns = (
        "area_id, employer_id, person_id, period, kind, wage, upload_id, source, "
        "created_by_id, created_at"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        seconds = timed(
            lambda: cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} "  # noqa: S608
                "WHERE upload_id = %s ORDER BY id",
                [upload.pk],
            )
        )
        transaction.set_rollback(True)
    return seconds


def bench_declaration_import(world: _World) -> Measurement:
    world.prepare()
    rows = world.count
    small, large = min(max(rows // 20, 100), rows // 2), min(max(rows // 4, 500), rows)
    _peak_memory(world, 100)  # once-per-process caches (the GB/T 2260 list) are not the import's
    memory = {size: _peak_memory(world, size) for size in (small, large)}
    path = world.declaration_file(rows, "declaration.csv")
    uploads: list[DeclarationUpload] = []
    seconds = timed(lambda: uploads.append(_import(world, path)))
    assert uploads[0].rows_accepted == rows, uploads[0].rows_accepted
    baseline = _baseline_import(path)
    floor = _store_floor(uploads[0])
    copy = (
        "COPY of the file" if connection.vendor == "postgresql" else "csv + executemany of the file"
    )
    peaks = ", ".join(f"{size:,} rows {peak / 2**20:.1f} MiB" for size, peak in memory.items())
    return Measurement(
        f"declaration import (CSV, validated; peak {peaks})",
        rows,
        seconds,
        f"{copy} into a plain table; storing the lines alone {floor:.2f}s = "
        f"{floor / baseline:.1f}× of it",
        baseline,
        goal="≤ 3×",
    )


def workloads(scale: float, vendor: str) -> list[Callable[[], Measurement]]:
    size = 1_000_000 if vendor == "postgresql" else 100_000
    world = _World(count=max(int(size * scale), 1000))
    return [partial(bench_billing, world), partial(bench_declaration_import, world)]
