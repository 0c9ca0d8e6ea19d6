"""The monthly detail an employer owes each employee (SIL art. 60), its
employees with the months declared, and its reminders — worked examples first."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.contributions import billing, declarations, employer_detail, payments
from shebao.contributions.models import Bill, DeclarationLine, LineKind
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES, hire
from shebao.core.errors import Forbidden
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer

pytestmark = pytest.mark.django_db
OCTOBER, NOVEMBER = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
TODAY = dt.date(2026, 11, 20)  # October's bill is due 11-15: overdue, not paid


def contributions_officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


def policy_2026(officer, area):
    """The 2026 policy: average wage 8,000 and the rates of DOMAIN §3 (`testing.RATES`)."""
    return policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )


@pytest.fixture
def officer(area):
    return contributions_officer(area)


@pytest.fixture
def policy(officer, area):
    return policy_2026(officer, area)


def declare_and_bill(officer, employer, wages, period=OCTOBER):
    """Declare each (person, wage) for the month and run the month's billing."""
    for person, wage in wages:
        declarations.declaration_declare(
            actor=officer, employer=employer, person=person, period=period, wage=Decimal(wage)
        )
    billing.bill_run(actor=officer, area=employer.area, period=period)
    return Bill.objects.get(employer=employer, period=period)


def another_employer(area):
    return Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京秦淮贸易有限公司",
        established_on=dt.date(2018, 1, 1),
        registered_on=dt.date(2018, 1, 10),
    )


def shares(employee):
    return {s.insurance: (s.employer_cents, s.individual_cents) for s in employee.shares}


def test_a_base_of_9000_withholds_720_for_pension_and_the_employer_owes_1440(
    officer, policy, employer, employer_user, employment
):
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    _page, rows = detail.page(1, 50)
    [row] = rows
    assert (row.name, row.id_number, row.base_cents) == ("张伟", "3201**********3314", 900_000)
    # RATES: pension 16%/8%, medical 6%/2%, unemployment 0.5%/0.5%, maternity 0.8%/0;
    # work injury 0.2% for the employer's risk class 1.
    assert shares(row) == {
        "pension": (144_000, 72_000),
        "medical": (54_000, 18_000),
        "unemployment": (4_500, 4_500),
        "work_injury": (1_800, 0),
        "maternity": (7_200, 0),
    }
    assert (row.withheld_cents, row.employer_cents, row.total_cents) == (94_500, 211_500, 306_000)
    assert not row.assessed and not row.paid and row.paid_on is None
    assert [s.insurance for s in row.billed_shares] == [
        "pension",
        "medical",
        "unemployment",
        "work_injury",
        "maternity",
    ]
    assert detail.count == 1 and not detail.paid


def test_the_month_is_paid_when_the_whole_bill_is(
    officer, cashier, policy, employer, employer_user, employment
):
    bill = declare_and_bill(officer, employer, [(employment.person, "9000")])
    payments.payment_record(
        actor=cashier,
        employer=employer,
        bank_reference="P1",
        amount=Decimal("1000.00"),
        paid_on=dt.date(2026, 11, 10),
    )
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    assert not detail.paid and not detail.page(1, 50)[1][0].paid  # part of a bill is no one's
    payments.payment_record(
        actor=cashier,
        employer=employer,
        bank_reference="P2",
        amount=payments.money_of(bill.employer_cents + bill.individual_cents - 100_000),
        paid_on=dt.date(2026, 11, 12),
    )
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    row = detail.page(1, 50)[1][0]
    assert detail.paid and row.paid and row.paid_on == dt.date(2026, 11, 12)
    # Paid as of a day before the second payment: not yet.
    earlier = employer_detail.month_detail(employer_user, employer, OCTOBER, dt.date(2026, 11, 11))
    assert not earlier.paid


def test_a_correction_shows_the_new_base_and_the_amounts_lines_add_up_to(
    officer, policy, employer, employer_user, employment
):
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    first = DeclarationLine.objects.get()
    declarations.declaration_correct(actor=officer, line=first, wage="10000", reason="补报")
    billing.bill_run(actor=officer, area=employer.area, period=OCTOBER)
    row = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY).page(1, 50)[1][0]
    assert row.base_cents == 1_000_000
    assert shares(row)["pension"] == (160_000, 80_000)
    assert row.withheld_cents == 80_000 + 20_000 + 5_000


def test_a_month_without_a_declaration_is_assessed_without_a_base(
    officer, policy, employer, employer_user, employment
):
    declare_and_bill(officer, employer, [(employment.person, "20000")])
    billing.bill_run(actor=officer, area=employer.area, period=NOVEMBER)
    row = employer_detail.month_detail(employer_user, employer, NOVEMBER, TODAY).page(1, 50)[1][0]
    assert row.assessed and row.base_cents == 0
    assert shares(row)["pension"] == (352_000, 176_000)  # 110% (SIL art. 62)


def test_a_withdrawn_employee_is_left_out(officer, policy, employer, employer_user, employment):
    other = hire(employer, "李秀英", 2)
    declare_and_bill(officer, employer, [(employment.person, "9000"), (other, "9000")])
    line = DeclarationLine.objects.get(person=other)
    DeclarationLine.objects.create(
        area_id=line.area_id,
        employer=employer,
        person=other,
        period=OCTOBER,
        kind=LineKind.REVERSAL,
        wage=line.wage,
        reverses=line,
        source="api",
        created_by=officer,
        created_at=line.created_at,
    )
    billing.bill_run(actor=officer, area=employer.area, period=OCTOBER)
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    assert [row.name for row in detail.page(1, 50)[1]] == ["张伟"]


def test_only_the_employer_and_its_areas_staff_read_the_detail(
    officer, policy, area, employer, employer_user, employment, stranger, individual, other_area
):
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    outsider = make_user(
        "other-employer", Role.EMPLOYER, area, employer_id=another_employer(area).pk
    )
    staff_elsewhere = make_user("contrib-bj", Role.CONTRIBUTIONS_OFFICER, other_area)
    for user in (outsider, stranger, staff_elsewhere, individual):
        with pytest.raises(Forbidden):
            employer_detail.month_detail(user, employer, OCTOBER, TODAY)
        with pytest.raises(Forbidden):
            employer_detail.reminders(user, employer, TODAY)
    assert employer_detail.month_detail(officer, employer, OCTOBER, TODAY).count == 1


def test_the_csv_streams_every_row_a_chunk_at_a_time(
    officer, policy, employer, employer_user, employment, monkeypatch
):
    monkeypatch.setattr(employer_detail, "STREAM_CHUNK", 3)
    people = [(employment.person, "9000")] + [
        (hire(employer, f"员工{n:02d}", 10 + n), str(5000 + 100 * n)) for n in range(7)
    ]
    declare_and_bill(officer, employer, people)
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    pieces = list(employer_detail.detail_csv(detail))
    assert len(pieces) == 1 + 3  # the header, then 8 rows in pieces of 3, 3 and 2
    text = "".join(pieces)
    assert text.startswith("\ufeff")
    records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(records) == 1 + 8
    zhang = next(r for r in records if r[1] == "张伟")
    header = records[0]
    assert zhang[header.index(employer_detail.detail_header()[3])] == "9000.00"
    assert zhang[4:6] == ["1440.00", "720.00"]  # pension: employer, individual
    assert "320106198503023314" not in text and "3201**********3314" in text
    logged = AccessEvent.objects.get(actor=employer_user, action="employer.monthly_detail")
    assert len(logged.person_ids) == 8 and logged.detail["page"] == "all"


def test_a_page_of_the_detail_logs_the_persons_shown(
    officer, policy, employer, employer_user, employment
):
    other = hire(employer, "李秀英", 2)
    declare_and_bill(officer, employer, [(employment.person, "9000"), (other, "6000")])
    detail = employer_detail.month_detail(employer_user, employer, OCTOBER, TODAY)
    page, rows = detail.page(2, 1)
    assert page.paginator.num_pages == 2 and [r.name for r in rows] == ["李秀英"]
    assert AccessEvent.objects.get(actor=employer_user).person_ids == [other.pk]
    one = employer_detail.month_detail(
        employer_user, employer, OCTOBER, TODAY, person_id=employment.person_id
    )
    assert one.count == 1


def test_employees_show_the_months_declared_and_the_wage(
    officer, policy, employer, employer_user, employment
):
    left = hire(employer, "李秀英", 2, start=dt.date(2026, 1, 5), end=dt.date(2026, 10, 31))
    declare_and_bill(officer, employer, [(employment.person, "9000"), (left, "7000")])
    declare_and_bill(officer, employer, [(employment.person, "9500")], period=NOVEMBER)
    found = employer_detail.employments(employer_user, employer, TODAY)
    rows = employer_detail.employee_rows(employer_user, employer, found, TODAY)
    assert [(r.employment.person.name, r.current) for r in rows] == [
        ("张伟", True),
        ("李秀英", False),
    ]
    zhang, li = rows
    assert zhang.months_declared == 2 and zhang.latest == employer_detail.DeclaredMonth(
        NOVEMBER, 950_000
    )
    assert li.months == [employer_detail.DeclaredMonth(OCTOBER, 700_000)]
    assert zhang.id_number == "3201**********3314"
    by_name = employer_detail.employments(employer_user, employer, TODAY, name="秀")
    assert [e.person.name for e in by_name] == ["李秀英"]
    ended = employer_detail.employments(employer_user, employer, TODAY, state="ended")
    assert [e.person.name for e in ended] == ["李秀英"]
    count = employer_detail.headcount(employer_user, employer, TODAY)
    assert (count.current, count.late, count.ended) == (1, 0, 1)


def test_another_employers_user_sees_none_of_the_employees(area, employer, employment):
    outsider = make_user(
        "other-employer", Role.EMPLOYER, area, employer_id=another_employer(area).pk
    )
    assert not employer_detail.employments(outsider, employer, TODAY).exists()
    assert employer_detail.declared_months(outsider, employer, [employment.person_id]) == {}


def test_reminders_name_months_not_declared_and_files_with_refused_rows(
    officer, policy, employer, employer_user, employment, monkeypatch
):
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    billing.bill_run(actor=officer, area=employer.area, period=NOVEMBER)  # assessed
    body = "身份证号码,姓名,月工资\n320106198503023314,张伟,9000\n110105194912310021,李秀英,100\n"
    upload = declarations.declaration_import(
        actor=employer_user,
        employer=employer,
        period=OCTOBER,
        stream=io.BytesIO(body.encode()),
        filename="october.csv",
    )
    assert upload.rows_rejected == 1
    found = employer_detail.reminders(employer_user, employer, TODAY)
    undeclared = {m.period: m for m in found.undeclared}
    # The last 12 months up to November with an employee (employed since 2016):
    # all but October.
    assert OCTOBER not in undeclared and len(undeclared) == 11
    assert undeclared[NOVEMBER].assessed and undeclared[NOVEMBER].current
    assert not undeclared[dt.date(2026, 9, 1)].assessed
    assert found.refused_uploads == [upload] and found.count == 12
    # A later file for October without refused rows clears that reminder.
    declarations.declaration_import(
        actor=employer_user,
        employer=employer,
        period=OCTOBER,
        stream=io.BytesIO(
            body.splitlines(keepends=True)[0].encode() + b"320106198503023314,x,9000\n"
        ),
        filename="october-2.csv",
    )
    assert employer_detail.reminders(employer_user, employer, TODAY).refused_uploads == []


def test_the_declaration_status_of_a_month(officer, policy, employer, employer_user, employment):
    assert not employer_detail.declaration_status(employer_user, employer, OCTOBER).declared
    declare_and_bill(officer, employer, [(employment.person, "9000")])
    status = employer_detail.declaration_status(employer_user, employer, OCTOBER)
    assert status.declared and status.lines == 1 and status.upload is None and status.refused == 0
