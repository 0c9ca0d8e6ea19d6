"""Registry workloads for `make bench`."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from django.db import connection, transaction

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.core.bench import Measurement, timed
from shebao.registry import services
from shebao.registry.demo import demo_build
from shebao.registry.identifiers import current_divisions, random_identity_number
from shebao.registry.models import Area

PERSON_COLUMNS = (
    "area_id, id_number, name, birth_date, sex, phone, address, status, registered_on, created_at"
)


def _copy_rows(table: str, columns: str, where: str = "") -> float:
    """One INSERT … SELECT of a table's rows into a scratch copy: the database's own speed.

    Table, columns and filter are constants of this module, never user input.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
        cursor.execute(f"CREATE TABLE bench_{table} AS SELECT {columns} FROM {table} WHERE 1 = 0")  # noqa: S608

        def copy() -> None:
            with transaction.atomic(), connection.cursor() as inner:
                inner.execute(f"INSERT INTO bench_{table} SELECT {columns} FROM {table} {where}")  # noqa: S608

        seconds = timed(copy)
        cursor.execute(f"DROP TABLE bench_{table}")
    return seconds


# The demo's own area is Nanjing (320100); each bench module has an area of its
# own, as they share one scratch database.
BENCH_AREA = "440300"  # Shenzhen


def bench_demo_load(persons: int) -> Measurement:
    employers = max(persons // 50, 1)
    seconds = timed(
        lambda: demo_build(persons=persons, employers=employers, seed=1, progress=False)
    )
    baseline = _copy_rows("registry_person", PERSON_COLUMNS) + _copy_rows(
        "registry_employment",
        "area_id, person_id, employer_id, start_date, end_date, end_reason, registered_on, "
        "late_registration, created_at",
    )
    return Measurement(
        "demo load (generate, bulk insert)",
        persons,
        seconds,
        "INSERT…SELECT of the same persons and employments",
        baseline,
        goal="100,000 persons in under 60 s on SQLite",
    )


def bench_audited_registration(count: int) -> Measurement:
    """Registering persons one by one through the service: validation, audit chain, access."""
    area = Area.objects.create(code=BENCH_AREA, name="深圳市")
    actor = user_create(
        actor=None,
        username="bench-registrar",
        password="x",
        role=Role.REGISTRAR,
        area_code=area.code,
        check_password=False,
    )
    rng = random.Random(7)  # noqa: S311 - benchmark data
    divisions = list(current_divisions("4403"))
    numbers = {random_identity_number(rng, divisions) for _ in range(count * 2)}
    rows = sorted(numbers)[:count]

    def register() -> None:
        for number in rows:
            services.person_register(actor=actor, area=area, id_number=number, name="测试")

    seconds = timed(register)
    baseline = _copy_rows("registry_person", PERSON_COLUMNS, f"WHERE area_id = '{BENCH_AREA}'")
    User.objects.filter(pk=actor.pk).update(is_active=False)
    return Measurement(
        "person registration, one audited call each",
        len(rows),
        seconds,
        "INSERT…SELECT of the same rows",
        baseline,
    )


def workloads(scale: float, vendor: str) -> list[Callable[[], Measurement]]:
    persons = max(int(100_000 * scale), 100)
    return [
        partial(bench_demo_load, persons),
        partial(bench_audited_registration, max(int(2_000 * scale), 10)),
    ]
