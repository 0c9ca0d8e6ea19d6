"""Statement workload for `make bench`: the yearly statement batch of a whole area
(100,000 × scale persons), reported in statements per second.

The area's persons work for employers of 500 each; October to December of
last year are declared and billed (the real billing run), October and November
paid (the real payment service, which credits the pension accounts), December
not. The batch then gathers, signs and stores every person's statement of the
year, in chunks whose records are read together (`inquiry.batch`), as
`shebao statements` does; PDFs are not made (they are rendered on download).
The baseline writes as many statement rows, each with the same content, in
one INSERT … SELECT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.contributions import billing, payments
from shebao.contributions.bench import (
    PERSONS_PER_EMPLOYER,
    RATES,
    WORK_INJURY,
    bench_declarations,
    bench_employers,
    bench_employments,
    bench_persons,
)
from shebao.contributions.models import Bill
from shebao.contributions.services import policy_set
from shebao.core.bench import Measurement, timed
from shebao.inquiry.models import Statement, StatementKind
from shebao.inquiry.services import statement_batch_run
from shebao.registry.models import Area, Person

BENCH_AREA = "320600"  # Nantong
PERSONS = 100_000
TABLE = Statement._meta.db_table


@dataclass
class _World:
    count: int
    area: Area | None = None
    admin: User | None = None

    @property
    def year(self) -> int:
        return timezone.localdate().year - 1

    def prepare(self) -> tuple[Area, User]:
        if self.area is not None and self.admin is not None:
            return self.area, self.admin
        months = [dt.date(self.year, month, 1) for month in (10, 11, 12)]
        with transaction.atomic():
            area = Area.objects.create(code=BENCH_AREA, name="南通市")
            admin = user_create(
                actor=None,
                username="bench-statements",
                password="x",
                role=Role.AREA_ADMIN,
                area_code=BENCH_AREA,
                check_password=False,
            )
            policy_set(
                actor=admin,
                area=area,
                valid_from=dt.date(2020, 1, 1),
                average_monthly_wage="10000",
                rates=RATES,
                work_injury_rates=WORK_INJURY,
            )
            bench_persons(area, self.count)
            persons = list(
                Person.objects.filter(area=area).order_by("pk").values_list("pk", flat=True)
            )
            employers = bench_employers(
                area, max(self.count // PERSONS_PER_EMPLOYER, 1), prefix="P"
            )
            bench_employments(
                area,
                ((p, employers[n % len(employers)]) for n, p in enumerate(persons)),
                dt.date(2015, 1, 1),
                None,
            )
            for month in months:
                bench_declarations(area, month, admin, exclude=0)
        for month in months:
            billing.bill_run(actor=admin, area=area, period=month)
        # Oldest month first: each payment is of one bill, on its due day, and
        # would go to an older bill still open (with its late fee) otherwise.
        paid_bills = Bill.objects.filter(area=area, period__in=months[:2]).order_by("period", "pk")
        for found in paid_bills.select_related("employer"):
            payments.payment_record(
                actor=admin,
                employer=found.employer,
                bank_reference=f"SZ{found.pk}",
                amount=payments.money_of(found.employer_cents + found.individual_cents),
                paid_on=found.due_on,
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.area, self.admin = area, admin
        return area, admin


_BASELINE = """
    INSERT INTO bench_statement (area_id, person_id, kind, year, as_of, canonical, digest,
                                 signature, key_id, code, shared_fields, created_at)
    SELECT p.area_id, p.id, 'yearly', %(year)s, %(as_of)s, %(canonical)s, %(digest)s,
           %(signature)s, %(key)s, 'B' || CAST(p.id AS VARCHAR(15)), '["totals"]', %(now)s
    FROM registry_person p WHERE p.area_id = %(area)s
"""


def _baseline(area: Area, sample: Statement) -> float:
    """One INSERT … SELECT of a statement row per person (the sample's content) into a
    table shaped like the statements, with their indexes."""
    params: dict[str, Any] = {
        "year": sample.year,
        "as_of": sample.as_of,
        "canonical": sample.canonical,
        "digest": sample.digest,
        "signature": bytes(sample.signature),
        "key": sample.key_id,
        "now": timezone.now(),
        "area": area.code,
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_statement")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE bench_statement (LIKE {TABLE} INCLUDING ALL)")
        else:
            cursor.execute(f"CREATE TABLE bench_statement AS SELECT * FROM {TABLE} WHERE 1 = 0")  # noqa: S608
            cursor.execute("CREATE UNIQUE INDEX bench_statement_code ON bench_statement (code)")
            cursor.execute(
                "CREATE INDEX bench_statement_person ON bench_statement "
                "(area_id, person_id, created_at)"
            )

        def insert_select() -> None:
            with transaction.atomic():
                cursor.execute(_BASELINE, params)

        seconds = timed(insert_select)
        cursor.execute("DROP TABLE bench_statement")
    return seconds


def bench_statement_batch(world: _World) -> Measurement:
    area, admin = world.prepare()
    batches = []
    seconds = timed(
        lambda: batches.append(statement_batch_run(actor=admin, area=area, year=world.year))
    )
    made = Statement.objects.filter(area=area, kind=StatementKind.YEARLY, year=world.year)
    count = made.count()
    assert batches[0].done == count == world.count, (batches[0].done, count, world.count)
    baseline = _baseline(area, made.select_related("key").first())  # type: ignore[arg-type]
    return Measurement(
        f"statement batch, one area ({count:,} persons: {count / seconds:,.0f} statements/s)",
        count,
        seconds,
        "one INSERT…SELECT of as many statement rows",
        baseline,
        goal="≥ 50 statements/s a core",
    )


def workloads(scale: float, vendor: str) -> list[Callable[[], Measurement]]:
    return [partial(bench_statement_batch, _World(count=max(int(PERSONS * scale), 100)))]
