"""Card production workloads for `make bench`: the vendor round trip at scale.

Each workload is timed against a pure-database baseline that moves the same
rows in the same run: on PostgreSQL a COPY of the rows to (export) or from
(import) a file, on SQLite an INSERT … SELECT of them into a scratch table.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.cards import production
from shebao.cards.models import (
    Card,
    CardKind,
    CardPhoto,
    CardState,
    Channel,
    ProductionBatch,
)
from shebao.cards.photo import sample_photo
from shebao.core.bench import Measurement, timed
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Area, Person

BENCH_AREA = "320500"  # Suzhou


def approved_cards(
    area: Area, count: int, *, submitted_by: User, approved_by: User, first: int = 0
) -> list[int]:
    """`count` new persons of `area`, each with an approved card application, bulk-inserted.

    For benchmarks and tests: the rows are what `card_apply` and
    `card_approve` leave behind, without walking through them one by one.
    Persons are numbered from `first` (born one day apart per 1,000).
    """
    born = dt.date(1950, 1, 1)
    persons = []
    for index in range(first, first + count):
        birth = born + dt.timedelta(days=index // 1000)
        sequence = index % 1000
        persons.append(
            Person(
                area=area,
                id_number=make_identity_number(area.code, birth, sequence),
                name=f"测试{index}",
                birth_date=birth,
                sex="M" if sequence % 2 else "F",
                registered_on=dt.date(2020, 1, 1),
                phone="13800000000",
                address="苏州市姑苏区人民路1号",
            )
        )
    Person.objects.bulk_create(persons, batch_size=5000)
    now = timezone.now()
    cards = [
        Card(
            area=area,
            person=person,
            kind=CardKind.FIRST,
            channel=Channel.COUNTER,
            state=CardState.APPROVED,
            account_class=2,
            bank="ICBC",
            phone=person.phone,
            address=person.address,
            submitted_by=submitted_by,
            approved_by=approved_by,
            # Oldest approval first: the order of the persons.
            approved_at=now - dt.timedelta(seconds=count - position),
            version=2,
        )
        for position, person in enumerate(persons)
    ]
    Card.objects.bulk_create(cards, batch_size=5000)
    photo = sample_photo()
    digest = hashlib.sha256(photo).hexdigest()
    CardPhoto.objects.bulk_create(
        (CardPhoto(card=card, area=area, jpeg=photo, sha256=digest) for card in cards),
        batch_size=5000,
    )
    return [card.pk for card in cards]


def result_rows(batch: ProductionBatch, first_number: int = 0) -> list[dict[str, str]]:
    """A vendor's result file for a batch: every card in production made (benchmarks, tests)."""
    rows = []
    for offset, pk in enumerate(
        Card.objects.filter(batch=batch, state=CardState.IN_PRODUCTION)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        serial = first_number + offset
        rows.append(
            {
                "record_id": str(pk),
                "result": "ok",
                "card_number": f"S{serial:08d}",
                "identification_code": f"{batch.area_id}V{serial:09d}",
                "bank_account": f"6222{serial:015d}",
                "reason": "",
            }
        )
    return rows


def result_file(rows: list[dict[str, str]]) -> bytes:
    """The rows as a CSV result file (docs/production-files.md)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=production.RESULT_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# --- baselines -------------------------------------------------------------------

_EXPORT_SELECT = (
    "SELECT c.id, b.number, a.code, a.issuer_id, p.name, p.id_number, p.sex, p.birth_date, "
    "c.account_class, c.bank, c.phone, c.address, ph.sha256, c.urgent "
    "FROM cards_card c JOIN cards_productionbatch b ON b.id = c.batch_id "
    "JOIN registry_area a ON a.code = c.area_id JOIN registry_person p ON p.id = c.person_id "
    "LEFT JOIN cards_cardphoto ph ON ph.card_id = c.id WHERE c.batch_id = %s"
)
_RESULT_COLUMNS = "record_id, result, card_number, identification_code, bank_account, reason"


def _baseline_export(batch: ProductionBatch, path: Path) -> float:
    """The database alone writing the same rows out: COPY … TO a file, or INSERT … SELECT."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":

            def copy_out() -> None:
                sql = cursor.mogrify(_EXPORT_SELECT, [batch.pk])
                with (
                    path.open("wb") as out,
                    cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
                ):
                    for data in copy:
                        out.write(data)

            return timed(copy_out)
        cursor.execute("DROP TABLE IF EXISTS bench_card_export")
        cursor.execute(
            f"CREATE TABLE bench_card_export AS {_EXPORT_SELECT} AND 1 = 0",
            [batch.pk],
        )

        def insert_select() -> None:
            with transaction.atomic():
                cursor.execute(f"INSERT INTO bench_card_export {_EXPORT_SELECT}", [batch.pk])

        seconds = timed(insert_select)
        cursor.execute("DROP TABLE bench_card_export")
        return seconds


def _baseline_import(path: Path, rows: int, *, keep: bool = False) -> float:
    """The database alone taking the same rows in: COPY … FROM the file, or INSERT … SELECT."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_card_result")
        cursor.execute(
            "CREATE TABLE bench_card_result (record_id bigint, result varchar(8), "
            "card_number varchar(9), identification_code varchar(16), "
            "bank_account varchar(32), reason varchar(200))"
        )
        if connection.vendor == "postgresql":

            def copy_in() -> None:
                with (
                    transaction.atomic(),
                    path.open("rb") as source,
                    cursor.copy(
                        f"COPY bench_card_result ({_RESULT_COLUMNS}) FROM STDIN "
                        "WITH (FORMAT csv, HEADER)"
                    ) as copy,
                ):
                    while data := source.read(1 << 16):
                        copy.write(data)

            seconds = timed(copy_in)
        else:
            # The same number of rows, built by the database from the cards.
            def insert_select() -> None:
                with transaction.atomic():
                    cursor.execute(
                        f"INSERT INTO bench_card_result ({_RESULT_COLUMNS}) "  # noqa: S608
                        "SELECT id, 'ok', printf('S%%08d', id), printf('%%s%%010d', area_id, id), "
                        "printf('6222%%015d', id), '' "
                        "FROM cards_card WHERE area_id = %s LIMIT %s",
                        [BENCH_AREA, rows],
                    )

            seconds = timed(insert_select)
        if not keep:
            cursor.execute("DROP TABLE bench_card_result")
    return seconds


# --- workloads -------------------------------------------------------------------


@dataclass
class _RoundTrip:
    """What the export and import workloads share: one area, one batch of approved cards."""

    count: int
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="shebao-bench-")))
    batch: ProductionBatch | None = None
    officer: User | None = None
    exported: bool = False
    import_seconds: float = 0.0
    result_path: Path | None = None

    def prepare(self) -> tuple[ProductionBatch, User]:
        if self.batch is None or self.officer is None:
            from shebao.registry.services import area_approve

            ministry = user_create(
                actor=None,
                username="bench-ministry",
                password="x",
                role=Role.MINISTRY_ADMIN,
                check_password=False,
            )
            area = Area.objects.create(code=BENCH_AREA, name="苏州市")
            area = area_approve(actor=ministry, area=area, issuer_id="320500B1")
            officers = [
                user_create(
                    actor=None,
                    username=f"bench-card-officer-{n}",
                    password="x",
                    role=Role.CARD_OFFICER,
                    area_code=area.code,
                    check_password=False,
                )
                for n in (1, 2)
            ]
            approved_cards(area, self.count, submitted_by=officers[0], approved_by=officers[1])
            self.officer = officers[0]
            self.batch = production.batch_create(actor=self.officer, area=area, vendor="bench")
        return self.batch, self.officer


def bench_card_export(trip: _RoundTrip) -> Measurement:
    batch, officer = trip.prepare()
    path = trip.directory / "production.csv"

    def export() -> None:
        with path.open("w", encoding="utf-8", newline="") as out:
            for piece in production.batch_export(actor=officer, batch=batch, file_format="csv"):
                out.write(piece)

    seconds = timed(export)
    trip.exported = True
    baseline = _baseline_export(batch, trip.directory / "baseline-export.csv")
    copy = "COPY … TO a file" if connection.vendor == "postgresql" else "INSERT…SELECT"
    return Measurement(
        "card production file export (CSV, streamed)",
        batch.card_count,
        seconds,
        f"{copy} of the same rows",
        baseline,
        goal="≤ 3× COPY",
    )


def bench_card_import(trip: _RoundTrip) -> Measurement:
    batch, officer = trip.prepare()
    if not trip.exported:
        for _piece in production.batch_export(actor=officer, batch=batch, file_format="csv"):
            pass
    rows = result_rows(batch)
    path = trip.directory / "result.csv"
    data = result_file(rows)
    path.write_bytes(data)
    report: list[production.ImportReport] = []

    def import_results() -> None:
        report.append(
            production.batch_import(actor=officer, batch=batch, data=data, file_format="csv")
        )

    seconds = timed(import_results)
    assert report[0].produced == len(rows), report[0]
    trip.import_seconds, trip.result_path = seconds, path
    baseline = _baseline_import(path, len(rows))
    copy = "COPY … FROM the file" if connection.vendor == "postgresql" else "INSERT…SELECT"
    return Measurement(
        "card result file import (CSV, staged)",
        len(rows),
        seconds,
        f"{copy} of the same rows",
        baseline,
        goal="≤ 3× COPY",
    )


def _baseline_import_and_update(batch: ProductionBatch, path: Path) -> float:
    """The database alone doing the import's whole work: stage the rows, then one
    UPDATE that records them on the cards (the cards first put back untimed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cards_card SET state = 'in_production', card_number = NULL, "
            "identification_code = NULL, bank_account = '', valid_from = NULL, valid_to = NULL "
            "WHERE batch_id = %s",
            [batch.pk],
        )
        staged = _baseline_import(path, batch.card_count, keep=True)

        def update() -> None:
            with transaction.atomic(), connection.cursor() as inner:
                inner.execute(
                    "UPDATE cards_card SET state = 'produced', card_number = s.card_number, "
                    "identification_code = s.identification_code, "
                    "bank_account = s.bank_account, valid_from = %s, valid_to = %s, "
                    "version = cards_card.version + 1 "
                    "FROM bench_card_result s WHERE cards_card.id = s.record_id",
                    [dt.date(2026, 1, 1), dt.date(2036, 1, 1)],
                )

        seconds = staged + timed(update)
        cursor.execute("DROP TABLE bench_card_result")
    return seconds


def bench_card_import_against_update(trip: _RoundTrip) -> Measurement:
    batch, _officer = trip.prepare()
    assert trip.result_path is not None, "runs after bench_card_import"
    baseline = _baseline_import_and_update(batch, trip.result_path)
    return Measurement(
        "card result file import (same run as above)",
        batch.card_count,
        trip.import_seconds,
        "the rows staged (COPY on PostgreSQL) + one UPDATE of the cards",
        baseline,
    )


def workloads(scale: float, vendor: str) -> list[Callable[[], Measurement]]:
    trip = _RoundTrip(count=max(int(100_000 * scale), 100))
    return [
        partial(bench_card_export, trip),
        partial(bench_card_import, trip),
        partial(bench_card_import_against_update, trip),
    ]
