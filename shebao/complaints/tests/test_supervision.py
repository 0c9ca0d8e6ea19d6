"""Supervision of the employer's payments (SIL art. 4), worked examples first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.complaints.selectors import supervision_for
from shebao.complaints.testing import (
    AFTER_DUE,
    AUGUST,
    OCTOBER,
    SEPTEMBER,
    bill,
    contributions_officer,
    declare,
    pay,
)
from shebao.core.errors import Forbidden, InvalidInput
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer, Employment, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(area):
    return contributions_officer(area)


def row(record, period, employer):
    found = [m for m in record.months if m.period == period and m.employer.pk == employer.pk]
    assert len(found) == 1, record.months
    return found[0]


def second_employer(area, person, start=dt.date(2026, 1, 1)):
    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京玄武物流有限公司",
        established_on=dt.date(2010, 1, 1),
        registered_on=dt.date(2010, 1, 5),
    )
    Employment.objects.create(
        area=area, person=person, employer=other, start_date=start, registered_on=start
    )
    return other


def test_it_flags_october_declared_at_9000_and_not_paid_as_withheld_and_unpaid(
    officer, cashier, individual, person, employer, employment, area
):
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)

    october = row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, employer)

    assert october.declared_wage == Decimal("9000.00")
    # Base 9,000: individual 720 + 180 + 45; employer 1,440 + 540 + 45 + 72 + 18.
    assert (october.billed_individual, october.billed_employer) == (
        Decimal("945.00"),
        Decimal("2115.00"),
    )
    assert october.due_on == dt.date(2026, 11, 15)
    assert (october.paid, october.overdue) == (False, True)
    assert october.flags == ("withheld_unpaid",)


def test_it_does_not_flag_october_before_its_due_day_nor_once_it_is_paid(
    officer, cashier, individual, person, employer, employment, area
):
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)
    before_due = row(
        supervision_for(individual, person, on=dt.date(2026, 11, 15)), OCTOBER, employer
    )
    assert (before_due.paid, before_due.overdue, before_due.flags) == (False, False, ())

    pay(cashier, employer, OCTOBER, dt.date(2026, 11, 10))

    october = row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, employer)
    assert (october.paid, october.overdue, october.flags) == (True, False, ())


def test_a_payment_after_the_day_asked_about_does_not_count(
    officer, cashier, individual, person, employer, employment, area
):
    declare(officer, employer, person, OCTOBER)
    bill(officer, area, OCTOBER)
    pay(cashier, employer, OCTOBER, dt.date(2026, 11, 25))

    as_of_20th = row(
        supervision_for(individual, person, on=dt.date(2026, 11, 20)), OCTOBER, employer
    )
    assert as_of_20th.flags == ("withheld_unpaid",)
    assert row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, employer).flags == ()


def test_it_flags_a_month_employed_and_not_declared(
    officer, individual, person, employer, employment, area
):
    logistics = second_employer(area, person)
    declare(officer, employer, person, OCTOBER)
    bill(officer, area, OCTOBER)

    october = row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, logistics)

    assert (october.employed, october.declared_wage, october.billed) == (True, None, False)
    assert october.flags == ("undeclared",)


def test_it_flags_a_month_assessed_at_110_percent_when_nothing_was_declared(
    officer, individual, person, employer, employment, area
):
    declare(officer, employer, person, AUGUST, "9000")
    bill(officer, area, AUGUST)
    bill(officer, area, SEPTEMBER)  # nothing declared for September: art. 62

    record = supervision_for(individual, person, on=AFTER_DUE)
    september = row(record, SEPTEMBER, employer)

    assert september.declared_wage is None
    # 110% of August's 945.00 and 2,115.00.
    assert (september.billed_individual, september.billed_employer) == (
        Decimal("1039.50"),
        Decimal("2326.50"),
    )
    assert september.flags == ("withheld_unpaid", "assessed", "undeclared")
    assert row(record, AUGUST, employer).flags == ("withheld_unpaid",)
    assert [m.period for m in record.months] == [SEPTEMBER, AUGUST]  # newest first


def test_it_flags_a_wage_declared_after_the_months_billing_run(
    officer, individual, person, employer, employment, area
):
    bill(officer, area, OCTOBER)
    declare(officer, employer, person, OCTOBER)

    late = row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, employer)
    assert (late.declared_wage, late.billed, late.flags) == (
        Decimal("9000.00"),
        False,
        ("declared_unbilled",),
    )

    bill(officer, area, OCTOBER)  # the next run bills it
    assert row(supervision_for(individual, person, on=AFTER_DUE), OCTOBER, employer).flags == (
        "withheld_unpaid",
    )


def test_months_before_the_areas_billing_began_are_not_flagged(
    officer, individual, person, employer, employment
):
    # Employed since 2016, and no month has been billed yet: nothing to question.
    assert supervision_for(individual, person, on=AFTER_DUE).months == []


def test_a_person_sees_only_their_own_record(officer, individual, person, employer, area):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    with pytest.raises(Forbidden):
        supervision_for(individual, other, on=AFTER_DUE)
    assert not AccessEvent.objects.exists()  # reading one's own record is not logged


def test_staff_of_the_area_read_it_logged_and_strangers_are_refused(
    officer, stranger, person, employer, employment, area, colleague
):
    declare(officer, employer, person, OCTOBER)
    bill(officer, area, OCTOBER)
    record = supervision_for(officer, person, on=AFTER_DUE)
    assert row(record, OCTOBER, employer).flags == ("withheld_unpaid",)
    access = AccessEvent.objects.get(action="complaint.supervision")
    assert (access.actor, access.person_ids) == (officer, [person.pk])

    for outsider in (stranger, colleague):  # another area; a card officer
        with pytest.raises(Forbidden):
            supervision_for(outsider, person, on=AFTER_DUE)
    auditor = make_user("auditor2", Role.AUDITOR, area)
    assert supervision_for(auditor, person, on=AFTER_DUE).months


def test_it_refuses_a_window_backwards_or_too_long(individual, person):
    with pytest.raises(InvalidInput) as backwards:
        supervision_for(individual, person, since=OCTOBER, until=AUGUST)
    assert backwards.value.code == "period_order"
    with pytest.raises(InvalidInput) as long:
        supervision_for(individual, person, since=dt.date(2000, 1, 1), until=OCTOBER)
    assert long.value.code == "period_too_long"


def test_the_table_takes_the_same_few_queries_however_many_months(
    officer, individual, person, employer, employment, area, django_assert_max_num_queries
):
    second_employer(area, person)
    for month in (AUGUST, SEPTEMBER, OCTOBER):
        declare(officer, employer, person, month)
        bill(officer, area, month)
    with django_assert_max_num_queries(8):
        record = supervision_for(individual, person, on=AFTER_DUE)
    assert len(record.months) == 6
