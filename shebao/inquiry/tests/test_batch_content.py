"""The batch reads a chunk of persons at once (`inquiry.batch`): each statement it
makes is, byte for byte, the one `statement_content` makes one person at a time,
in a fixed number of queries whatever the size of the chunk."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.cards.ecard import _signing_key
from shebao.contributions.bench import RATES, WORK_INJURY
from shebao.contributions.models import (
    AccountEntry,
    Bill,
    BillingRun,
    BillLine,
    FlexibleAllocation,
    FlexibleBill,
    FlexibleEnrolment,
    FlexiblePayment,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.contributions.services import policy_set
from shebao.core.dates import add_months
from shebao.inquiry import batch, services
from shebao.inquiry.models import Statement, StatementKind
from shebao.inquiry.statements import canonical_json, statement_content
from shebao.inquiry.testing import record_of_2025
from shebao.registry.identifiers import make_credit_code, make_identity_number
from shebao.registry.models import Employer, Employment, Person

YEAR = 2025
_sequence = itertools.count(500)


def a_person(area, name, *, sex="F", born=dt.date(1972, 6, 15)):
    return Person.objects.create(
        area=area,
        id_number=make_identity_number("320106", born, next(_sequence)),
        name=name,
        birth_date=born,
        sex=sex,
        registered_on=dt.date(2008, 4, 1),
    )


def an_employer(area, name, serial):
    return Employer.objects.create(
        area=area,
        credit_code=make_credit_code(area.code, f"MA1MXK{serial:03d}"),
        name=name,
        established_on=dt.date(2012, 1, 1),
        registered_on=dt.date(2012, 2, 1),
    )


def employ(person, employer, start, end=None, *, late=False):
    return Employment.objects.create(
        area_id=employer.area_id,
        person=person,
        employer=employer,
        start_date=start,
        end_date=end,
        registered_on=start + dt.timedelta(days=40 if late else 5),
        late_registration=late,
    )


def bill(employer, month, lines, *, kind="declared"):
    """A bill of `employer` for `month` with `lines`: (person, insurance, base, employer
    cents, individual cents[, kind]); the bill owes what the lines add up to."""
    now = timezone.now()
    run = BillingRun.objects.create(area_id=employer.area_id, period=month, started_at=now)
    found = Bill.objects.create(
        area_id=employer.area_id,
        employer=employer,
        period=month,
        kind=kind,
        employer_cents=sum(line[3] for line in lines),
        individual_cents=sum(line[4] for line in lines),
        due_on=add_months(month, 1).replace(day=15),
        created_at=now,
    )
    add_lines(found, lines, run=run)
    return found


def add_lines(found, lines, *, run=None):
    run = run or BillingRun.objects.create(
        area_id=found.area_id, period=found.period, started_at=timezone.now()
    )
    for person, insurance, base, employer_cents, individual_cents, *kind in lines:
        BillLine.objects.create(
            area_id=found.area_id,
            bill=found,
            employer_id=found.employer_id,
            person=person,
            period=found.period,
            insurance=insurance,
            kind=kind[0] if kind else found.kind,
            base_cents=base,
            employer_cents=employer_cents,
            individual_cents=individual_cents,
            run=run,
        )


def share(found, lines, cashier):
    """Add `lines` to a bill of another person, and pay what they add."""
    add_lines(found, lines)
    found.employer_cents += sum(line[3] for line in lines)
    found.individual_cents += sum(line[4] for line in lines)
    found.save()
    pay(found, cashier, sum(line[3] + line[4] for line in lines))


_references = itertools.count(1)


def pay(found, cashier, cents=None, *, paid_on=None):
    payment = Payment.objects.create(
        area_id=found.area_id,
        employer_id=found.employer_id,
        bank_reference=f"B{next(_references)}",
        amount_cents=cents if cents is not None else found.employer_cents + found.individual_cents,
        paid_on=paid_on or found.due_on,
        source="counter",
        created_by=cashier,
        created_at=timezone.now(),
    )
    PaymentAllocation.objects.create(
        area_id=found.area_id, payment=payment, bill=found, principal_cents=payment.amount_cents
    )


def account(person, entries):
    """A pension account with `entries`: (kind, period, year, cents)."""
    found = PersonalAccount.objects.create(area_id=person.area_id, person=person)
    AccountEntry.objects.bulk_create(
        AccountEntry(
            area_id=person.area_id,
            account=found,
            kind=kind,
            period=period,
            year=year,
            amount_cents=cents,
            created_at=timezone.now(),
        )
        for kind, period, year, cents in entries
    )
    found.balance_cents = sum(entry[3] for entry in entries)
    found.save()


def pension(person, base, *, kind=None):
    """A month's pension and unemployment lines of `person` at `base` (cents)."""
    extra = (kind,) if kind else ()
    return [
        (person, "pension", base, base * 16 // 100, base * 8 // 100, *extra),
        (person, "unemployment", base, base // 200, base // 200, *extra),
    ]


@pytest.fixture
def world(area, other_area, person, employer, employment, cashier):
    """Persons of the area with varied records, and records of another area."""
    admin = make_user("batch-admin", Role.AREA_ADMIN, area)
    policy_set(
        actor=admin,
        area=area,
        valid_from=dt.date(2020, 1, 1),
        average_monthly_wage="10000",
        rates=RATES,
        work_injury_rates=WORK_INJURY,
    )
    # 张伟: 2024 and 2025 paid but November (unpaid) and December (assessed); an
    # account with contributions and two years' interest.
    record_of_2025(person, employer, cashier)

    # 李娜: two employers ("A…" sorts before the fixture's Chinese name), both in
    # March; a gap from July to September; a part-paid month; a correction; a
    # month netting to zero; a month paid after today; an interest reversal.
    second = an_employer(area, "Alpha 软件有限公司", 1)
    third = an_employer(area, "南京玄武商贸有限公司", 2)
    li = a_person(area, "李娜")
    employ(li, employer, dt.date(2024, 3, 1), dt.date(2025, 6, 30))
    employ(li, second, dt.date(2025, 3, 1), late=True)
    employ(li, third, dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    for month in [dt.date(YEAR, m, 1) for m in range(1, 7)]:  # 张伟's bills, shared
        share(Bill.objects.get(employer=employer, period=month), pension(li, 800_000), cashier)
    for month in [dt.date(YEAR, m, 1) for m in (3, 4, 5, 10, 11, 12)]:
        found = bill(second, month, pension(li, 600_000))
        if month.month in (3, 4):
            pay(found, cashier)
        elif month.month == 5:
            pay(found, cashier, 50_000)  # part paid
        elif month.month == 10:
            add_lines(found, [(li, "pension", 650_000, 8_000, 4_000)])  # a correction
            pay(found, cashier)
        elif month.month == 11:
            pay(found, cashier, paid_on=timezone.localdate() + dt.timedelta(days=3))
    zero = bill(second, dt.date(YEAR, 9, 1), pension(li, 600_000))
    add_lines(zero, [(li, "pension", 600_000, -96_000, -48_000)])
    add_lines(zero, [(li, "unemployment", 600_000, -3_000, -3_000)])
    pay(bill(third, dt.date(2024, 12, 1), pension(li, 700_000)), cashier)
    account(
        li,
        [("contribution", dt.date(YEAR, m, 1), None, 64_000) for m in range(1, 5)]
        + [
            ("interest", None, 2024, 3_100),
            ("interest", None, YEAR, 4_200),
            ("reversal", None, YEAR, -1_000),
            ("reversal", dt.date(YEAR, 2, 1), None, -64_000),
        ],
    )
    # Records of another area are not this area's statement's.
    elsewhere = an_employer(other_area, "北京朝阳有限公司", 3)
    pay(bill(elsewhere, dt.date(YEAR, 7, 1), pension(li, 900_000)), cashier)
    Employment.objects.create(
        area=other_area,
        person=li,
        employer=elsewhere,
        start_date=dt.date(YEAR, 7, 1),
        end_date=dt.date(YEAR, 9, 30),
        registered_on=dt.date(YEAR, 7, 2),
    )

    # 陈静: a flexible worker with medical insurance since 2025-01, months paid,
    # part paid and unpaid (with a late fee by today); earlier, an employer, its
    # last month assessed.
    chen = a_person(area, "陈静", born=dt.date(1968, 2, 29))
    employ(chen, third, dt.date(2020, 1, 1), dt.date(2024, 11, 30))
    bill(third, dt.date(2024, 11, 1), pension(chen, 400_000, kind="assessed"), kind="assessed")
    now = timezone.now()
    enrolment = FlexibleEnrolment.objects.create(
        area=area,
        person=chen,
        valid_from=dt.date(YEAR, 1, 1),
        base_ratio="0.6",
        medical=True,
        created_by=admin,
        created_at=now,
    )
    for n in range(8):
        month = dt.date(YEAR, n + 1, 1)
        run = BillingRun.objects.create(area=area, period=month, started_at=now)
        own = FlexibleBill.objects.create(
            area=area,
            person=chen,
            enrolment=enrolment,
            period=month,
            base_cents=600_000,
            pension_cents=120_000,
            account_cents=48_000,
            medical_cents=0 if n == 7 else 60_000,
            due_on=add_months(month, 1).replace(day=15),
            run=run,
            created_at=now,
        )
        paid = 180_000 if n < 4 else 130_000 if n == 4 else 100_000 if n == 5 else 0
        if paid:
            payment = FlexiblePayment.objects.create(
                area=area,
                person=chen,
                bank_reference=f"F{n}",
                amount_cents=paid,
                paid_on=own.due_on + dt.timedelta(days=20 * (n == 5)),
                source="counter",
                created_by=cashier,
                created_at=now,
            )
            FlexibleAllocation.objects.create(
                area=area, payment=payment, bill=own, principal_cents=paid
            )
    account(chen, [("contribution", dt.date(YEAR, m, 1), None, 48_000) for m in range(1, 6)])

    # 赵敏: registered, nothing else: no account, no employment, no month.
    zhao = a_person(area, "赵敏", sex="M", born=dt.date(1999, 12, 31))
    return [person, li, chen, zhao]


def one_by_one(person, *, area, code, key, issued_at):
    return canonical_json(
        statement_content(
            person,
            area=area,
            kind=StatementKind.YEARLY,
            year=YEAR,
            as_of=timezone.localdate(),
            code=code,
            key_id=key.key_id,
            issued_at=issued_at,
        )
    )


@pytest.mark.django_db
def test_it_makes_each_statement_as_the_per_person_reads_do(world, area):
    key = _signing_key(area.code, None)
    now = timezone.now()
    codes = {person.pk: f"CODE{person.pk:012d}" for person in world}
    made = dict(
        batch.chunk_contents(
            world,
            area=area,
            kind=StatementKind.YEARLY,
            year=YEAR,
            as_of=timezone.localdate(),
            codes=codes,
            key=key,
            issued_at=now,
        )
    )
    for person in world:
        content = made[person]
        expected = one_by_one(person, area=area, code=codes[person.pk], key=key, issued_at=now)
        assert canonical_json(content) == expected, person.name
    zhang, li, chen, zhao = (made[person] for person in world)
    # The records are the varied ones meant.
    assert [(row["month"], row["status"]) for row in zhang["months"]][-2:] == [
        ("2025-11", "unpaid"),
        ("2025-12", "assessed"),
    ]
    march = [row for row in li["months"] if row["month"] == "2025-03"]
    assert [row["employer"] for row in march] == ["Alpha 软件有限公司", "南京钟山科技有限公司"]
    assert {row["month"] for row in li["months"]} == {
        f"2025-{m:02d}" for m in (1, 2, 3, 4, 5, 6, 10, 11, 12)
    }
    assert [row["status"] for row in li["months"] if row["month"] == "2025-05"] == [
        "part",
        "paid",
    ]
    assert "2025-11" in [row["month"] for row in li["arrears"]["months"]]  # paid after today
    assert li["account"]["interest_in_year"] == "42.00"
    assert [row["employer"]["name"] for row in li["employments"]] == [
        "南京钟山科技有限公司",
        "Alpha 软件有限公司",
    ]
    assert {row["payer"] for row in chen["months"]} == {"flexible"}
    assert chen["arrears"]["flexible_due"] != "0.00"
    assert chen["arrears"]["flexible_late_fee"] != "0.00"
    assert (zhao["months"], zhao["employments"], zhao["account"]["balance"]) == ([], [], "0.00")


@pytest.mark.django_db
def test_the_batch_stores_what_the_per_person_reads_make(world, area):
    officer = make_user("batch-officer", Role.CONTRIBUTIONS_OFFICER, area)
    services.statement_batch_run(actor=officer, area=area, year=YEAR, chunk_size=3)
    stored = Statement.objects.filter(area=area, kind=StatementKind.YEARLY, year=YEAR)
    assert stored.count() == len(world)
    for statement in stored.select_related("key", "person"):
        assert statement.canonical == one_by_one(
            statement.person,
            area=area,
            code=statement.code,
            key=statement.key,
            issued_at=statement.created_at,
        )


@pytest.mark.django_db
def test_a_chunk_takes_as_many_queries_whatever_its_size(world, area):
    key = _signing_key(area.code, None)

    def queries(persons):
        with CaptureQueriesContext(connection) as captured:
            list(
                batch.chunk_contents(
                    persons,
                    area=area,
                    kind=StatementKind.YEARLY,
                    year=YEAR,
                    as_of=timezone.localdate(),
                    codes={person.pk: "X" for person in persons},
                    key=key,
                    issued_at=timezone.now(),
                )
            )
        return len(captured)

    zhang, li, chen, _zhao = world
    assert queries([zhang]) == queries([zhang, li]) == 6
    many = [a_person(area, f"孙{n}", born=dt.date(1980 + n, 1, 1)) for n in range(20)]
    assert queries([zhang, li, *many]) == 6
    # A flexible worker's months add the reads of what they owe (a policy of the area).
    assert queries([chen, zhang, li, *many]) == queries([chen])
