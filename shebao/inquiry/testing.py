"""A person's contribution record of 2024–2025 for statement tests.

张伟 (the `person` fixture, a man born 1985-03) works for the `employer`
fixture: every month of 2024 and January–October 2025 billed and paid (base
9,000: pension 1,440.00 / 720.00, unemployment 45.00 / 45.00), November 2025
billed and unpaid, December 2025 assessed (no declaration; SIL art. 62) and
unpaid. His pension account holds the 22 paid months' 720.00 and the interest
of 2024 and 2025. Rows are written directly, not through the services.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shebao.accounts.models import User
from shebao.contributions.models import (
    AccountEntry,
    Bill,
    BillingRun,
    BillLine,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.core.dates import add_months
from shebao.registry.models import Employer, Person

PAID_MONTHS = [add_months(dt.date(2024, 1, 1), n) for n in range(22)]
UNPAID = dt.date(2025, 11, 1)
ASSESSED = dt.date(2025, 12, 1)
INTEREST = {2024: 9_432, 2025: 15_021}  # cents
# (insurance, employer cents, individual cents) of a month at base 9,000.
LINES = [("pension", 144_000, 72_000), ("unemployment", 4_500, 4_500)]


def bill(person: Person, employer: Employer, month: dt.date, *, kind: str = "declared") -> Bill:
    """The employer's bill of `month` with the person's lines (base 0 when assessed)."""
    now = timezone.now()
    run = BillingRun.objects.create(area_id=person.area_id, period=month, started_at=now)
    found = Bill.objects.create(
        area_id=person.area_id,
        employer=employer,
        period=month,
        kind=kind,
        employer_cents=sum(line[1] for line in LINES),
        individual_cents=sum(line[2] for line in LINES),
        due_on=add_months(month, 1).replace(day=15),
        created_at=now,
    )
    BillLine.objects.bulk_create(
        BillLine(
            area_id=person.area_id,
            bill=found,
            employer=employer,
            person=person,
            period=month,
            insurance=insurance,
            kind=kind,
            base_cents=0 if kind == "assessed" else 900_000,
            employer_cents=employer_cents,
            individual_cents=individual_cents,
            run=run,
        )
        for insurance, employer_cents, individual_cents in LINES
    )
    return found


def pay(found: Bill, cashier: User) -> None:
    payment = Payment.objects.create(
        area_id=found.area_id,
        employer_id=found.employer_id,
        bank_reference=f"REF{found.pk}",
        amount_cents=found.employer_cents + found.individual_cents,
        paid_on=found.due_on,
        source="counter",
        created_by=cashier,
        created_at=timezone.now(),
    )
    PaymentAllocation.objects.create(
        area_id=found.area_id,
        payment=payment,
        bill=found,
        principal_cents=found.employer_cents + found.individual_cents,
    )


def record_of_2025(person: Person, employer: Employer, cashier: User) -> None:
    for month in PAID_MONTHS:
        pay(bill(person, employer, month), cashier)
    bill(person, employer, UNPAID)
    bill(person, employer, ASSESSED, kind="assessed")
    account = PersonalAccount.objects.create(area_id=person.area_id, person=person)
    now = timezone.now()
    entries = [
        AccountEntry(
            area_id=person.area_id,
            account=account,
            kind="contribution",
            period=month,
            amount_cents=72_000,
            created_at=now,
        )
        for month in PAID_MONTHS
    ] + [
        AccountEntry(
            area_id=person.area_id,
            account=account,
            kind="interest",
            year=year,
            amount_cents=cents,
            created_at=now,
        )
        for year, cents in INTEREST.items()
    ]
    AccountEntry.objects.bulk_create(entries)
    account.balance_cents = sum(entry.amount_cents for entry in entries)
    account.entries_count = len(entries)
    account.save()
