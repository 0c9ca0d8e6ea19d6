"""Building a supervision world for tests: a policy, a contributions officer, a
cashier, and months declared and billed through the real services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.contributions import billing, declarations, payments
from shebao.contributions.models import Bill, BillingRun
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.registry.models import Area, Employer, Person

AUGUST, SEPTEMBER, OCTOBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)
# October's bill is due on 2026-11-15: unpaid on 2026-12-01, it is overdue.
AFTER_DUE = dt.date(2026, 12, 1)
OFFICER_PASSWORD = "x"


def contributions_officer(
    area: Area, username: str = "contrib", password: str = OFFICER_PASSWORD
) -> User:
    """A contributions officer of `area`, with the area's 2026 policy (DOMAIN rates,
    average wage 8,000)."""
    officer = user_create(
        actor=None,
        username=username,
        password=password,
        role=Role.CONTRIBUTIONS_OFFICER,
        area_code=area.code,
        check_password=False,
    )
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    return officer


def declare(
    officer: User, employer: Employer, person: Person, period: dt.date, wage: str = "9000"
) -> None:
    declarations.declaration_declare(
        actor=officer, employer=employer, person=person, period=period, wage=wage
    )


def bill(officer: User, area: Area, period: dt.date) -> BillingRun:
    return billing.bill_run(actor=officer, area=area, period=period)


def pay(cashier: User, employer: Employer, period: dt.date, paid_on: dt.date) -> None:
    """The employer pays its whole bill of `period` on `paid_on`, with the late fee
    run until then."""
    found = Bill.objects.get(area_id=employer.area_id, employer=employer, period=period)
    due = payments.bill_balance(found, paid_on).total_due_cents
    payments.payment_record(
        actor=cashier,
        employer=employer,
        bank_reference=f"B{employer.pk}-{period:%Y%m}",
        amount=Decimal(due) / 100,
        paid_on=paid_on,
    )
