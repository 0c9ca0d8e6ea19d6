"""An employer sees its bills, what each is made of, what it owes with the late
fee, and its payments; nobody else does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.contributions import billing, declarations, payments
from shebao.contributions.models import Bill
from shebao.contributions.services import policy_set
from shebao.contributions.tests.test_billing import INJURY, RATES
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer
from shebao.web import employer_contrib_views
from shebao.web.employer_contrib_views import yuan

pytestmark = pytest.mark.django_db
OCTOBER = dt.date(2026, 10, 1)  # due 2026-11-15, overdue from 11-16
TODAY = dt.date(2026, 12, 16)  # 30 days overdue (11-16 to 12-16)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(employer_contrib_views, "_today", lambda: TODAY)


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def bill(officer, area, employer, employment):
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    declarations.declaration_declare(
        actor=officer,
        employer=employer,
        person=employment.person,
        period=OCTOBER,
        wage=Decimal("9000"),
    )
    billing.bill_run(actor=officer, area=area, period=OCTOBER)
    return Bill.objects.get(employer=employer, period=OCTOBER)


@pytest.fixture
def other_employer_user(area):
    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B0"),
        name="南京秦淮贸易有限公司",
        established_on=dt.date(2018, 1, 1),
        registered_on=dt.date(2018, 1, 10),
    )
    return make_user("other-employer", Role.EMPLOYER, area, employer_id=other.pk)


def test_yuan_shows_cents_with_two_decimals():
    assert (yuan(144000), yuan(72000), yuan(5), yuan(0), yuan(-1250)) == (
        "1,440.00",
        "720.00",
        "0.05",
        "0.00",
        "-12.50",
    )


def test_an_employer_sees_its_bill_and_its_pension_lines(employer_user, bill):
    client = signed_in(employer_user)
    page = client.get(reverse("web:contrib_bills"))
    html = page.content.decode()
    assert page.status_code == 200 and '<html lang="zh-hans">' in html
    assert "2026-10" in html and reverse("web:contrib_bill", args=[bill.pk]) in html
    assert yuan(bill.employer_cents + bill.individual_cents) in html
    balance = payments.bill_balance(bill, TODAY)
    assert balance.days_overdue == 30 and balance.late_fee_due_cents > 0
    assert yuan(balance.late_fee_due_cents) in html

    detail = client.get(reverse("web:contrib_bill", args=[bill.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "1,440.00" in html and "720.00" in html and "9,000.00" in html  # pension, base
    assert "3201**********3314" in html and "320106198503023314" not in html
    assert "张伟" in html


def test_the_arrears_page_shows_the_late_fee_and_the_notice(employer_user, bill):
    client = signed_in(employer_user)
    total = bill.employer_cents + bill.individual_cents
    fee = payments.bill_balance(bill, TODAY).late_fee_due_cents
    # 0.05% a day for 30 days is 1.5%: 3,060.00 owed, 45.90 late fee.
    assert (total, fee) == (306_000, 4_590)
    page = client.get(reverse("web:contrib_arrears"))
    html = page.content.decode()
    assert page.status_code == 200 and '<html lang="zh-hans">' in html
    assert "45.90" in html and "3,105.90" in html
    notice = client.get(reverse("web:contrib_arrears_notice"))
    assert notice.status_code == 200 and notice["Content-Type"].startswith("text/plain")
    assert "attachment" in notice["Content-Disposition"]
    text = notice.content.decode()
    assert f"{payments.money_of(fee):,}" in text and "2026-12-16" in text


def test_payments_show_allocations_and_credit(employer_user, cashier, bill):
    total = bill.employer_cents + bill.individual_cents
    payments.payment_record(
        actor=cashier,
        employer=bill.employer,
        bank_reference="B100",
        amount=payments.money_of(total + 10_000),  # 100.00 more than owed
        paid_on=dt.date(2026, 11, 13),  # before the due day: no late fee
    )
    client = signed_in(employer_user)
    html = client.get(reverse("web:contrib_payments")).content.decode()
    assert "B100" in html and "3,160.00" in html and "3,060.00" in html and "100.00" in html
    arrears = client.get(reverse("web:contrib_arrears")).content.decode()
    assert "100.00" in arrears  # the credit
    detail = client.get(reverse("web:contrib_bill", args=[bill.pk])).content.decode()
    assert "B100" in detail
    assert client.get(reverse("web:contrib_bills")).context["rows"][0].status == "paid"


def test_a_contributions_officer_opens_an_employer_by_key(officer, employer, bill):
    client = signed_in(officer)
    assert client.get(reverse("web:contrib_bills")).status_code == 404  # which employer?
    url = reverse("web:contrib_bills") + f"?employer={employer.pk}"
    html = client.get(url).content.decode()
    assert reverse("web:contrib_bill", args=[bill.pk]) in html
    assert client.get(reverse("web:contrib_bill", args=[bill.pk])).status_code == 200


def test_others_get_404(other_employer_user, stranger, individual, employer, bill):
    urls = [
        reverse("web:contrib_bill", args=[bill.pk]),
        reverse("web:contrib_bills") + f"?employer={employer.pk}",
        reverse("web:contrib_arrears") + f"?employer={employer.pk}",
        reverse("web:contrib_arrears_notice") + f"?employer={employer.pk}",
        reverse("web:contrib_payments") + f"?employer={employer.pk}",
    ]
    for user in (stranger, individual):
        client = signed_in(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user.username, url)
    # Another employer's user gets 404 for the bill; `?employer=` is ignored
    # for employer users, who always see their own (here empty) pages.
    other = signed_in(other_employer_user)
    assert other.get(urls[0]).status_code == 404
    own = other.get(urls[1])
    assert own.status_code == 200 and not own.context["rows"]
    assert own.context["employer"].pk != employer.pk
    assert "3,060.00" not in other.get(urls[2]).content.decode()
    assert "B100" not in other.get(urls[4]).content.decode()


def test_the_nav_links_to_bills_and_arrears_for_employers(employer_user, officer):
    html = signed_in(employer_user).get(reverse("web:declaration_upload")).content.decode()
    assert reverse("web:contrib_bills") in html and reverse("web:contrib_arrears") in html


def test_english_through_the_switch(employer_user, bill):
    client = signed_in(employer_user)
    client.post(reverse("set_language"), {"language": "en"})
    html = client.get(reverse("web:contrib_bills")).content.decode()
    assert '<html lang="en">' in html and "Bills" in html
