"""The monthly billing run: set-based SQL over every declaration of a month.

For an area and a month the run computes, in one statement per step, what
every employer owes for every person and insurance (the *target*), then adds
bill lines for the difference between the target and what is already billed.
So a first run bills everything, a second run adds nothing, and a run after a
correction (or after a late declaration replaced an assessment) adds exactly
the difference — bills are never edited, only appended to.

Money is computed in integer cents, which is exact on every engine: the base
is the declared wage clamped to the policy's floor and ceiling (SIL art. 12;
DOMAIN §3), and each amount is base × rate rounded half up to the cent, as
(base_cents × rate_units + 50,000) ÷ 100,000 with rates in units of 10⁻⁵.
An employer that declared nothing for the month but was billed the month
before is assessed 110% of that month's amounts (SIL art. 62), settled by the
next run after its declaration arrives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.audit.services import audit_record
from shebao.contributions.declarations import check_period
from shebao.contributions.flexible import flexible_bill_run
from shebao.contributions.models import Bill, BillingRun, BillLine, Policy
from shebao.contributions.payments import credit_apply_after_run
from shebao.contributions.services import policy_for
from shebao.core.dates import add_months
from shebao.core.progress import Progress
from shebao.inquiry.cache import history_changed
from shebao.registry.models import Area

T_BILL = Bill._meta.db_table
T_LINE = BillLine._meta.db_table

# The month's active declarations (declared lines no reversal points to),
# with the base clamped to [floor, ceiling], in cents.
_BASES = """
    SELECT d.employer_id, d.person_id,
           CASE WHEN d.wage_cents < %(floor)s THEN %(floor)s
                WHEN d.wage_cents > %(ceiling)s THEN %(ceiling)s
                ELSE d.wage_cents END AS base_cents
    FROM (SELECT employer_id, person_id, CAST(ROUND(wage * 100) AS BIGINT) AS wage_cents
          FROM contributions_declarationline line
          WHERE line.area_id = %(area)s AND line.period = %(period)s AND line.kind = 'declared'
            AND NOT EXISTS (SELECT 1 FROM contributions_declarationline reversal
                            WHERE reversal.reverses_id = line.id)) d
"""

# Every insurance of the policy for each active declaration, and work injury at
# the rate of the employer's risk class: one pass over the month's declarations.
_TARGET_DECLARED = f"""
    INSERT INTO bill_target (employer_id, person_id, insurance, kind, base_cents,
                             employer_cents, individual_cents)
    SELECT b.employer_id, b.person_id, r.insurance, 'declared', b.base_cents,
           (b.base_cents * r.employer_units + 50000) / 100000,
           (b.base_cents * r.individual_units + 50000) / 100000
    FROM (SELECT bases.employer_id, bases.person_id, bases.base_cents, e.industry_risk_class
          FROM ({_BASES}) bases
          LEFT JOIN registry_employer e ON e.id = bases.employer_id) b
    JOIN (SELECT insurance, 0 AS risk_class,
                 CAST(ROUND(employer_rate * 100000) AS BIGINT) AS employer_units,
                 CAST(ROUND(individual_rate * 100000) AS BIGINT) AS individual_units
          FROM contributions_policyrate WHERE policy_id = %(policy)s
          UNION ALL
          SELECT 'work_injury', risk_class, CAST(ROUND(rate * 100000) AS BIGINT), 0
          FROM contributions_workinjuryrate WHERE policy_id = %(policy)s) r
      ON r.risk_class = 0 OR r.risk_class = b.industry_risk_class
"""  # noqa: S608 - table names are constants; every value is a parameter

# Art. 62: no declaration this month, billed last month → 110% of last month.
# The silent employers are found from last month's bills (one row each, the
# declarations probed by their index), and only their lines are read.
_TARGET_ASSESSED = f"""
    INSERT INTO bill_target (employer_id, person_id, insurance, kind, base_cents,
                             employer_cents, individual_cents)
    SELECT p.employer_id, p.person_id, p.insurance, 'assessed', 0,
           (p.employer_cents * 110 + 50) / 100, (p.individual_cents * 110 + 50) / 100
    FROM (SELECT line.employer_id, line.person_id, line.insurance,
                 CAST(SUM(line.employer_cents) AS BIGINT) AS employer_cents,
                 CAST(SUM(line.individual_cents) AS BIGINT) AS individual_cents
          FROM (SELECT previous.employer_id FROM {T_BILL} previous
                WHERE previous.area_id = %(area)s AND previous.period = %(previous)s
                  AND NOT EXISTS (SELECT 1 FROM contributions_declarationline d
                                  WHERE d.area_id = %(area)s AND d.employer_id = previous.employer_id
                                    AND d.period = %(period)s)) silent
          JOIN {T_LINE} line ON line.area_id = %(area)s AND line.period = %(previous)s
                            AND line.employer_id = silent.employer_id
          GROUP BY line.employer_id, line.person_id, line.insurance) p
    WHERE p.employer_cents <> 0 OR p.individual_cents <> 0
"""  # noqa: S608

# What each employer's bill comes to once the run has added its lines: the
# lines of a person-insurance-month always sum to the target, and lines no
# longer in the target are brought to zero. One row per employer.
_BILL_TOTALS = """
    INSERT INTO bill_total (employer_id, employer_cents, individual_cents, declared)
    SELECT employer_id, SUM(employer_cents), SUM(individual_cents),
           MAX(CASE WHEN kind = 'declared' THEN 1 ELSE 0 END)
    FROM bill_target GROUP BY employer_id
"""

_BILLS = f"""
    INSERT INTO {T_BILL} (area_id, employer_id, period, kind, employer_cents, individual_cents,
                          due_on, created_at)
    SELECT %(area)s, t.employer_id, %(period)s,
           CASE WHEN t.declared = 1 THEN 'declared' ELSE 'assessed' END,
           t.employer_cents, t.individual_cents, %(due_on)s, %(now)s
    FROM bill_total t
    WHERE NOT EXISTS (SELECT 1 FROM {T_BILL} b WHERE b.area_id = %(area)s
                      AND b.employer_id = t.employer_id AND b.period = %(period)s)
"""  # noqa: S608

_BILLED = f"""
    SELECT employer_id, person_id, insurance,
           CAST(SUM(employer_cents) AS BIGINT) AS employer_cents,
           CAST(SUM(individual_cents) AS BIGINT) AS individual_cents
    FROM {T_LINE} WHERE area_id = %(area)s AND period = %(period)s
    GROUP BY employer_id, person_id, insurance
"""  # noqa: S608

_DIFFERENCES = f"""
    INSERT INTO {T_LINE} (area_id, bill_id, employer_id, person_id, period, insurance, kind,
                          base_cents, employer_cents, individual_cents, run_id)
    SELECT %(area)s, b.id, t.employer_id, t.person_id, %(period)s, t.insurance, t.kind,
           t.base_cents, t.employer_cents - COALESCE(e.employer_cents, 0),
           t.individual_cents - COALESCE(e.individual_cents, 0), %(run)s
    FROM bill_target t
    JOIN {T_BILL} b ON b.area_id = %(area)s AND b.employer_id = t.employer_id
                   AND b.period = %(period)s
    LEFT JOIN ({_BILLED}) e ON e.employer_id = t.employer_id AND e.person_id = t.person_id
                           AND e.insurance = t.insurance
    WHERE e.employer_id IS NULL OR e.employer_cents <> t.employer_cents
       OR e.individual_cents <> t.individual_cents
    UNION ALL
    SELECT %(area)s, b.id, e.employer_id, e.person_id, %(period)s, e.insurance, b.kind, 0,
           -e.employer_cents, -e.individual_cents, %(run)s
    FROM ({_BILLED}) e
    JOIN {T_BILL} b ON b.area_id = %(area)s AND b.employer_id = e.employer_id
                   AND b.period = %(period)s
    WHERE (e.employer_cents <> 0 OR e.individual_cents <> 0)
      AND NOT EXISTS (SELECT 1 FROM bill_target t WHERE t.employer_id = e.employer_id
                      AND t.person_id = e.person_id AND t.insurance = e.insurance)
"""  # noqa: S608

# The month's bills that were there before the run and whose totals change
# (an employer with nothing left to bill comes to zero); a bill becomes
# "declared" once its employer's declaration arrived.
_OF_BILL = f"t.employer_id = {T_BILL}.employer_id"
_TOTALS = f"""
    UPDATE {T_BILL} SET
        employer_cents = COALESCE((SELECT t.employer_cents FROM bill_total t WHERE {_OF_BILL}), 0),
        individual_cents = COALESCE((SELECT t.individual_cents FROM bill_total t
                                     WHERE {_OF_BILL}), 0),
        kind = CASE WHEN EXISTS (SELECT 1 FROM bill_total t WHERE {_OF_BILL} AND t.declared = 1)
                    THEN 'declared' ELSE kind END
    WHERE area_id = %(area)s AND period = %(period)s
      AND (employer_cents <> COALESCE((SELECT t.employer_cents FROM bill_total t
                                       WHERE {_OF_BILL}), 0)
           OR individual_cents <> COALESCE((SELECT t.individual_cents FROM bill_total t
                                            WHERE {_OF_BILL}), 0)
           OR (kind <> 'declared' AND EXISTS (SELECT 1 FROM bill_total t
                                              WHERE {_OF_BILL} AND t.declared = 1)))
"""  # noqa: S608


# The run's work tables, private to its database session.
_CREATE_WORK_TABLES = (
    "CREATE TEMPORARY TABLE bill_target (employer_id BIGINT, person_id BIGINT, "
    "insurance VARCHAR(16), kind VARCHAR(8), base_cents BIGINT, "
    "employer_cents BIGINT, individual_cents BIGINT)",
    "CREATE TEMPORARY TABLE bill_total (employer_id BIGINT PRIMARY KEY, "
    "employer_cents BIGINT NOT NULL, individual_cents BIGINT NOT NULL, declared INTEGER NOT NULL)",
)
_DROP_WORK_TABLES = ("DROP TABLE IF EXISTS bill_target", "DROP TABLE IF EXISTS bill_total")


def cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def base_bounds(policy: Policy) -> tuple[int, int]:
    """Floor and ceiling of the contribution base in cents (60% and 300% by default)."""
    average = policy.average_monthly_wage * 100
    return cents(average * policy.base_floor_ratio), cents(average * policy.base_ceiling_ratio)


def _refresh_statistics() -> None:
    """On PostgreSQL, have the planner see the declarations and bills as they are
    now. Right after a large import or a first run its statistics still describe
    the tables before it, and a plan made for a few rows (a nested loop over
    hundreds of thousands) would take hours. ANALYZE reads a fixed sample, so
    this costs well under a second at any size; outside a transaction, its lock
    is held only while it runs (not for the length of the billing run, which
    would queue other areas' runs behind it)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE contributions_declarationline, {T_BILL}, {T_LINE}")


def bill_run(
    *,
    actor: User | None,
    area: Area,
    period: dt.date,
    progress: bool = False,
    stream: Any = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BillingRun:
    """Bill an area's month, its flexible workers' too (`flexible.flexible_bill_run`);
    re-runnable (a second run adds nothing)."""
    if actor is not None:
        require(actor, "bill.run", area_code=area.code)
    check_period(period)
    policy = policy_for(area.code, period)
    floor, ceiling = base_bounds(policy)
    now = timezone.now()
    due_on = add_months(period, 1).replace(day=policy.payment_due_day)
    _refresh_statistics()
    steps = [
        ("target (declared)", _TARGET_DECLARED),
        ("target (assessed)", _TARGET_ASSESSED),
        ("bill totals", _BILL_TOTALS),
        ("bills", _BILLS),
        ("lines", _DIFFERENCES),
        ("totals", _TOTALS),
    ]
    with transaction.atomic():
        run = BillingRun.objects.create(area=area, period=period, started_by=actor, started_at=now)
        params: dict[str, Any] = {
            "area": area.code,
            "period": period,
            "previous": add_months(period, -1),
            "policy": policy.pk,
            "floor": floor,
            "ceiling": ceiling,
            "run": run.pk,
            "due_on": due_on,
            "now": now,
        }
        counts: dict[str, int] = {}
        with (
            connection.cursor() as cursor,
            Progress("billing", len(steps), stream=stream, enabled=progress) as bar,
        ):
            for statement in (*_DROP_WORK_TABLES, *_CREATE_WORK_TABLES):
                cursor.execute(statement)
            for name, sql in steps:
                cursor.execute(sql, params)
                counts[name] = cursor.rowcount
                bar.advance()
                if on_progress is not None:  # (steps done, steps), inside the transaction
                    on_progress(bar.done, len(steps))
            for statement in _DROP_WORK_TABLES:
                cursor.execute(statement)
        flexible_bill_run(actor=actor, run=run, policy=policy, due_on=due_on, now=now)
        history_changed(area=area.code)  # every person's history of the area (inquiry.cache)
        run.bills_created = max(counts["bills"], 0)
        run.lines_added = max(counts["lines"], 0)
        run.finished_at = timezone.now()
        run.save(update_fields=["bills_created", "lines_added", "finished_at"])
        audit_record(
            actor=actor,
            action="bill.run",
            subject=run,
            area_code=area.code,
            after={
                "period": period,
                "policy": policy.pk,
                "bills_created": run.bills_created,
                "lines_added": run.lines_added,
            },
        )
    # Credit waiting from earlier payments settles what the run billed, and a
    # paid bill the run lowered takes back its personal-account credit. After
    # the run's commit, each employer on its own (its lock before its bills).
    credit_apply_after_run(actor=actor, run=run)
    return run
