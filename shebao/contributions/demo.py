"""Contributions for the demo area: a policy with the DOMAIN rates, monthly
declarations of everyone employed, and the billing run of each month.

Declarations are written with one INSERT … SELECT per month from the
employments (wages derived from the person, so they look realistic and stay
stable month to month); a few employers have not declared the latest month,
so its billing run assesses them at 110% of the month before (SIL art. 62).
A few persons without an employment pay as flexible workers. Bills are made
by the real billing run.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.audit.services import audit_record
from shebao.contributions import billing
from shebao.contributions.flexible import flexible_enrol
from shebao.contributions.models import Bill, DeclarationLine, Policy
from shebao.contributions.services import policy_set
from shebao.core.dates import add_months
from shebao.core.progress import Progress
from shebao.registry.models import Area, Employment, Person, PersonStatus

RATES: dict[str, tuple[Decimal | str, Decimal | str]] = {
    "pension": ("0.16", "0.08"),
    "medical": ("0.06", "0.02"),
    "maternity": ("0.008", "0"),
    "unemployment": ("0.005", "0.005"),
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
# Average monthly wage of the area by year (Nanjing-like figures).
AVERAGE_WAGE = {2024: "9800", 2025: "10100", 2026: "10500"}
LATEST_AVERAGE = "10500"

# A person's monthly wage: mostly 4,000–15,000, one in twenty earns about three
# times as much, one in twenty-five at the minimum; a little month-to-month
# variation. Integer arithmetic, so every engine gives the same wages.
_WAGE = """
    CASE WHEN e.person_id %% 25 = 0 THEN 2490
         WHEN e.person_id %% 20 = 0 THEN 30000 + (e.person_id * 7919) %% 20000
         ELSE 4000 + ((e.person_id * 7919) %% 110) * 100 END
    + ((e.person_id + %(month)s) %% 7) * 50
"""

_DECLARE = f"""
    INSERT INTO {DeclarationLine._meta.db_table} (area_id, employer_id, person_id, period, kind,
                                                  wage, source, created_by_id, created_at)
    SELECT e.area_id, e.employer_id, e.person_id, %(period)s, 'declared', {_WAGE}, 'demo',
           %(officer)s, %(now)s
    FROM {Employment._meta.db_table} e
    WHERE e.area_id = %(area)s AND e.start_date <= %(month_end)s
      AND (e.end_date IS NULL OR e.end_date >= %(period)s)
      AND e.employer_id NOT IN (SELECT employer_id FROM demo_silent)
      AND (e.employer_id %% %(stride)s = 0 OR e.employer_id = %(own)s)
      AND NOT EXISTS (SELECT 1 FROM {DeclarationLine._meta.db_table} d
                      WHERE d.area_id = e.area_id AND d.employer_id = e.employer_id
                        AND d.person_id = e.person_id AND d.period = %(period)s)
"""  # noqa: S608 - table names are constants; every value is a parameter


def _policies(area: Area, officer: User, first: dt.date) -> list[Policy]:
    """One policy per calendar year from the first demo month's year on."""
    policies = []
    for year in range(first.year, timezone.localdate().year + 1):
        policies.append(
            policy_set(
                actor=officer,
                area=area,
                valid_from=dt.date(year, 1, 1),
                average_monthly_wage=AVERAGE_WAGE.get(year, LATEST_AVERAGE),
                rates=RATES,
                work_injury_rates=WORK_INJURY,
                note=f"{year}年度社会保险缴费政策",
                flexible_medical_rate="0.08",
            )
        )
    return policies


# Flexible workers of the demo: their chosen bases (shares of the average wage).
FLEXIBLE_SHARES = ["0.6", "1", "0.6", "1.5", "3"]


def _flexible_workers(area: Area, first: dt.date) -> int:
    """A few persons no employment covers from `first` on pay as flexible workers
    from then (half with medical insurance); the billing runs bill them."""
    registrar = User.objects.filter(area=area, role=Role.REGISTRAR, is_active=True).first()
    if registrar is None:
        return 0
    employed = Employment.objects.filter(area=area).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=first)
    )
    free = (
        Person.objects.filter(area=area, status=PersonStatus.ACTIVE)
        .exclude(pk__in=employed.values("person_id"))
        .order_by("pk")[: len(FLEXIBLE_SHARES)]
    )
    for index, person in enumerate(free):
        flexible_enrol(
            actor=registrar,
            person=person,
            valid_from=first,
            base_ratio=FLEXIBLE_SHARES[index],
            medical=index % 2 == 0,
        )
    return len(free)


@transaction.atomic
def demo_contributions(
    *,
    area: Area,
    officer: User,
    employer_user: User | None = None,
    months: int = 3,
    seed: int,
    stream: Any = None,
    progress: bool = True,
) -> int:
    """Policies, `months` months of declarations up to last month, and their bills;
    returns the number of bills."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    latest = add_months(timezone.localdate().replace(day=1), -1)
    periods = [add_months(latest, -offset) for offset in range(months - 1, -1, -1)]
    _policies(area, officer, periods[0])
    _flexible_workers(area, periods[0])
    employers = sorted(
        Employment.objects.filter(area=area, end_date__isnull=True)
        .values_list("employer_id", flat=True)
        .distinct()
    )
    own = employer_user.employer_id if employer_user is not None else None
    # About 2% of employers (at least one) have not declared the latest month yet.
    candidates = [e for e in employers if e != own]
    silent = rng.sample(candidates, min(len(candidates), max(1, len(candidates) // 50)))
    now = timezone.now()
    declared = 0
    # A large demo declares for one employer in `stride` (always the demo
    # employer's own), so that `shebao demo --persons 100000` stays under a
    # minute on SQLite; small demos declare for everyone.
    stride = max(1, Employment.objects.filter(area=area, end_date__isnull=True).count() // 10_000)
    with (
        connection.cursor() as cursor,
        Progress("contributions", 2 * len(periods), stream=stream, enabled=progress) as bar,
    ):
        cursor.execute("DROP TABLE IF EXISTS demo_silent")
        cursor.execute("CREATE TEMPORARY TABLE demo_silent (employer_id BIGINT PRIMARY KEY)")
        for period in periods:
            if period == latest and silent:
                cursor.executemany(
                    "INSERT INTO demo_silent (employer_id) VALUES (%s)", [(e,) for e in silent]
                )
            cursor.execute(
                _DECLARE,
                {
                    "area": area.code,
                    "period": period,
                    "month_end": add_months(period, 1) - dt.timedelta(days=1),
                    "month": period.month,
                    "officer": officer.pk,
                    "now": now,
                    "stride": stride,
                    "own": own or 0,
                },
            )
            declared += max(cursor.rowcount, 0)
            bar.advance()
            billing.bill_run(actor=officer, area=area, period=period)
            bar.advance()
        cursor.execute("DROP TABLE demo_silent")
    bills = Bill.objects.filter(area=area).count()
    audit_record(
        actor=None,
        action="demo.contributions",
        subject=area,
        area_code=area.code,
        after={
            "months": [f"{p:%Y-%m}" for p in periods],
            "declaration_lines": declared,
            "bills": bills,
            "undeclared_employers": len(silent),
            "seed": seed,
        },
    )
    return bills
