"""The staff contributions pages: overview and billing run, area arrears, payments
and bank files, the person's pension account and estimate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.contributions import declarations, payments
from shebao.contributions.models import Bill, BillingRun, Payment, PaymentAllocation
from shebao.contributions.services import policy_set
from shebao.contributions.tests.test_billing import INJURY, RATES
from shebao.contributions.tests.test_personal import account_with, bill_month, new_person
from shebao.core.dates import add_months

pytestmark = pytest.mark.django_db
JUNE = dt.date(2026, 6, 1)


def signed_in(user, language="en"):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def make_bill(employer, period, cents):
    return Bill.objects.create(
        area_id=employer.area_id,
        employer=employer,
        period=period,
        kind="declared",
        employer_cents=cents,
        individual_cents=0,
        due_on=add_months(period, 1).replace(day=15),
        created_at=timezone.now(),
    )


def money(cents):
    return f"{payments.money_of(cents):,.2f}"


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def policy(officer, area):
    return policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2024, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )


OVERVIEW = reverse("web:contributions")
ARREARS = reverse("web:contribution_area_arrears")
PAYMENT = reverse("web:contribution_payment_new")


# --- overview and billing run -------------------------------------------------------


def test_the_overview_shows_the_policy_in_force(officer, policy):
    response = signed_in(officer).get(OVERVIEW)
    assert response.status_code == 200
    text = response.content.decode()
    assert "8,000.00" in text  # average wage
    assert "4,800.00" in text and "24,000.00" in text  # floor 60%, ceiling 300%
    assert "16%" in text and "8%" in text  # pension employer / individual
    assert "1.9%" in text  # work injury class 8


def test_an_officer_runs_billing_and_sees_the_counts(officer, policy, area, employer, employment):
    declarations.declaration_declare(
        actor=officer,
        employer=employer,
        person=employment.person,
        period=dt.date(2026, 10, 1),
        wage=Decimal("9000"),
    )
    client = signed_in(officer)
    response = client.post(OVERVIEW, {"period": "2026-10"}, follow=True)  # to the job's page
    assert response.status_code == 200
    run = BillingRun.objects.get()
    assert (run.period, run.bills_created, run.lines_added) == (dt.date(2026, 10, 1), 1, 5)
    text = response.content.decode()
    assert "Billing of 2026-10 is done: 1 bills created, 5 lines added." in text
    run_url = f"{OVERVIEW}?run={run.pk}#runs"
    assert run_url in text
    overview = client.get(run_url).content.decode()
    assert 'aria-current="true"' in overview  # the run is marked in the list
    assert Bill.objects.get().employer_id == employer.pk


def test_a_month_without_policy_is_refused_clearly(officer, policy):
    response = signed_in(officer).post(OVERVIEW, {"period": "2023-05"})
    assert response.status_code == 400
    assert "No contribution policy of the area covers 2023-05" in response.content.decode()
    assert not BillingRun.objects.exists()


def test_the_overview_says_when_no_policy_is_in_force(officer):
    response = signed_in(officer).get(OVERVIEW)
    assert response.status_code == 200
    assert "No contribution policy of the area covers" in response.content.decode()


def test_an_auditor_reads_the_overview_but_runs_nothing(auditor, policy):
    client = signed_in(auditor)
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    assert 'id="bill-run"' not in response.content.decode()
    assert client.post(OVERVIEW, {"period": "2026-10"}).status_code == 404
    assert client.get(PAYMENT).status_code == 404


def test_the_nav_shows_contributions_to_officers_only(officer, owner):
    assert OVERVIEW in signed_in(officer).get(reverse("web:home")).content.decode()
    assert OVERVIEW not in signed_in(owner).get(reverse("web:home")).content.decode()


# --- area arrears -------------------------------------------------------------------------


def test_the_area_arrears_list_an_unpaid_employer_with_its_late_fee(officer, policy, employer):
    bill = make_bill(employer, JUNE, 1_000_000)  # 10,000.00 due 2026-07-15
    fee = payments.bill_balance(bill, timezone.localdate()).late_fee_due_cents
    assert fee > 0
    response = signed_in(officer).get(ARREARS)
    assert response.status_code == 200
    text = response.content.decode()
    assert employer.name in text and employer.credit_code in text
    assert money(1_000_000) in text
    assert money(fee) in text
    assert money(1_000_000 + fee) in text


def test_the_area_arrears_as_of_a_day(officer, policy, employer):
    make_bill(employer, JUNE, 1_000_000)
    # 2026-08-15: 30 days overdue → 150.00 (0.05% a day).
    response = signed_in(officer).get(ARREARS, {"on": "2026-08-15"})
    assert "150.00" in response.content.decode()
    assert signed_in(officer).get(ARREARS, {"on": "2999-01-01"}).status_code == 200


# --- payments -----------------------------------------------------------------------------


def test_recording_a_payment_shows_it_allocated(officer, policy, employer):
    make_bill(employer, JUNE, 1_000_000)
    response = signed_in(officer).post(
        PAYMENT,
        {
            "pay-credit_code": employer.credit_code,
            "pay-bank_reference": "B20260815",
            "pay-amount": "10150.00",
            "pay-paid_on": "2026-08-15",
        },
        follow=True,
    )
    assert response.status_code == 200
    payment = Payment.objects.get()
    allocation = PaymentAllocation.objects.get()
    assert (allocation.principal_cents, allocation.late_fee_cents) == (1_000_000, 15_000)
    text = response.content.decode()
    assert 'id="allocation"' in text
    assert payment.bank_reference in text
    assert "2026-06" in text and "10,000.00" in text and "150.00" in text
    assert "10,150.00" in text


def test_a_refused_payment_says_why(officer, policy, employer):
    response = signed_in(officer).post(
        PAYMENT,
        {
            "pay-credit_code": "91320100MA1MXK7A0X",
            "pay-bank_reference": "B1",
            "pay-amount": "100",
            "pay-paid_on": "2026-08-15",
        },
    )
    assert response.status_code == 400
    assert not Payment.objects.exists()
    assert 'role="alert"' in response.content.decode()


def test_a_bank_file_with_a_bad_row_lists_the_row_and_reason(officer, policy, employer):
    make_bill(employer, JUNE, 1_000_000)
    content = (
        "bank_reference,credit_code,amount,paid_on\n"
        f"F001,{employer.credit_code},500.00,2026-08-15\n"
        f"F002,{employer.credit_code},lots,2026-08-15\n"
    ).encode()
    response = signed_in(officer).post(
        PAYMENT,
        {"send_file": "1", "file": SimpleUploadedFile("bank.csv", content, "text/csv")},
        follow=True,  # to the job's page
    )
    assert response.status_code == 200
    assert Payment.objects.get().bank_reference == "F001"
    text = response.content.decode()
    assert 'id="import-report"' in text
    assert "F002" in text and "The amount lots is not a number." in text
    assert '<td class="money">3</td>' in text  # the line of the refused row


# --- the person's account and pension -----------------------------------------------


def test_the_person_page_shows_the_pension_account_to_officers(
    officer, owner, policy, employer, person
):
    account_with(person, ("contribution", dt.date(2026, 6, 1), None, 123_456))
    bill_month(person, employer, dt.date(2026, 6, 1))
    url = reverse("web:person", args=[person.pk])
    text = signed_in(officer).get(url).content.decode()
    assert 'id="contribution-record"' in text
    assert "1,234.56" in text
    assert reverse("web:person_pension", args=[person.pk]) in text
    assert 'id="contribution-record"' not in signed_in(owner).get(url).content.decode()


def test_the_pension_page_for_a_man_born_1965_05_says_2025_07(officer, auditor, policy, area):
    man = new_person(area, dt.date(1965, 5, 20))
    url = reverse("web:person_pension", args=[man.pk])
    response = signed_in(officer).get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "2025-07" in text
    assert 'id="assumptions"' in text
    zh = signed_in(auditor, language=None).get(url, {"indexed_wage_ratio": "1.2"})
    assert zh.status_code == 200 and "2025-07" in zh.content.decode()


def test_the_pension_page_without_a_policy_says_so(officer, area):
    man = new_person(area, dt.date(1965, 5, 20))
    response = signed_in(officer).get(reverse("web:person_pension", args=[man.pk]))
    assert response.status_code == 200
    assert "No contribution policy of the area covers" in response.content.decode()


# --- who may see them ---------------------------------------------------------------------


def test_others_get_404(owner, stranger, individual, cashier, other_area, policy, person):
    other_officer = make_user("contrib2", Role.CONTRIBUTIONS_OFFICER, other_area)
    pension = reverse("web:person_pension", args=[person.pk])
    for user in (owner, stranger, individual, cashier):
        client = signed_in(user, language=None)
        for url in (OVERVIEW, ARREARS, PAYMENT, pension):
            assert client.get(url).status_code == 404, (user.username, url)
        assert client.post(OVERVIEW, {"period": "2026-10"}).status_code == 404
        assert client.post(PAYMENT, {"send_file": "1"}).status_code == 404
    assert signed_in(other_officer, language=None).get(pension).status_code == 404
    assert Client().get(OVERVIEW).status_code == 302  # to the sign-in page
