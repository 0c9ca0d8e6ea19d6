"""The employer portal: an employer lands on its overview, finds its employees,
downloads the monthly detail it owes each employee (SIL art. 60) as a CSV and
as printable slips, and reads its notices; nobody else sees any of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.contributions import declarations, employer_detail, payments
from shebao.contributions.testing import hire
from shebao.contributions.tests.test_employer_detail import (
    OCTOBER,
    another_employer,
    contributions_officer,
    declare_and_bill,
    policy_2026,
)
from shebao.web import employer_portal_views

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 16)  # October's bill (due 11-15) is 30 days overdue


@pytest.fixture
def officer(area):
    return contributions_officer(area)


@pytest.fixture
def policy(officer, area):
    return policy_2026(officer, area)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def text(response):
    if isinstance(response, StreamingHttpResponse):
        return response.getvalue().decode()
    return response.content.decode()


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(employer_portal_views, "_today", lambda: TODAY)


@pytest.fixture
def bill(officer, policy, employer, employment):
    return declare_and_bill(officer, employer, [(employment.person, "9000")])


@pytest.fixture
def other_employer_user(area):
    return make_user("other-employer", Role.EMPLOYER, area, employer_id=another_employer(area).pk)


PAGES = [
    "web:employer_home",
    "web:employer_employees",
    "web:employer_month",
    "web:employer_month_csv",
    "web:employer_slips",
    "web:employer_notices",
]


def test_an_employer_lands_on_its_overview(employer_user, bill):
    client = signed_in(employer_user)
    home = client.get(reverse("web:home"))
    assert home.status_code == 302 and home["Location"] == reverse("web:employer_home")
    page = client.get(reverse("web:employer_home"))
    html = text(page)
    assert page.status_code == 200 and bill.employer.name in html
    assert page.context["headcount"].current == 1
    declaration = page.context["declaration"]
    assert declaration.period == dt.date(2026, 12, 1) and not declaration.declared
    latest = page.context["latest_bill"]
    assert latest.bill == bill and latest.status == "overdue" and "3,060.00" in html
    # 3,060.00 owed for 30 days at 0.05% a day: a late fee of 45.90.
    assert "45.90" in html and "3,105.90" in html and "1.53" in html  # grows 1.53 a day
    assert "3201**********3314" in html and "320106198503023314" not in html
    for name in [
        "web:employer_employees",
        "web:employer_month",
        "web:employer_notices",
        "web:declaration_upload",
        "web:contrib_bills",
        "web:contrib_arrears",
        "web:contrib_payments",
        "web:contrib_arrears_notice",
    ]:
        assert f'href="{reverse(name)}"' in html, name
    assert reverse("web:employer", args=[bill.employer_id]) in html


def test_the_overview_shows_this_months_declaration_and_refused_rows(
    employer_user, employer, employment, policy
):
    body = "身份证号码,姓名,月工资\n320106198503023314,张伟,9000\n110105194912310021,李秀英,100\n"
    upload = declarations.declaration_import(
        actor=employer_user,
        employer=employer,
        period=timezone.localdate().replace(day=1),  # declarations accept the current month
        stream=io.BytesIO(body.encode()),
        filename="month.csv",
    )
    declaration = employer_detail.declaration_status(employer_user, employer, upload.period)
    assert declaration.declared and declaration.lines == 1 and declaration.refused == 1


def test_the_overview_shows_the_credit(employer_user, cashier, bill):
    total = bill.employer_cents + bill.individual_cents
    payments.payment_record(
        actor=cashier,
        employer=bill.employer,
        bank_reference="B100",
        amount=payments.money_of(total + 10_000),
        paid_on=dt.date(2026, 11, 13),
    )
    page = signed_in(employer_user).get(reverse("web:employer_home"))
    assert page.context["latest_bill"].status == "paid"
    assert page.context["credit"] == "100.00" and page.context["total_due"] == "0.00"


def test_staff_open_an_employers_portal_by_key_and_the_registry_page_still_works(
    officer, employer, bill
):
    client = signed_in(officer)
    assert client.get(reverse("web:employer_home")).status_code == 404  # which employer?
    page = client.get(reverse("web:employer_home") + f"?employer={employer.pk}")
    assert page.status_code == 200
    html = text(page)
    assert f"{reverse('web:employer_month')}?employer={employer.pk}" in html
    assert client.get(reverse("web:employer", args=[employer.pk])).status_code == 200


def test_the_employees_page_lists_current_and_ended_with_their_declarations(
    employer_user, officer, employer, employment, policy, monkeypatch
):
    left = hire(employer, "李秀英", 2, start=dt.date(2026, 1, 5), end=dt.date(2026, 10, 31))
    declare_and_bill(officer, employer, [(employment.person, "9000"), (left, "7000")])
    client = signed_in(employer_user)
    page = client.get(reverse("web:employer_employees"))
    html = text(page)
    assert page.status_code == 200
    assert [r.employment.person.name for r in page.context["rows"]] == ["张伟", "李秀英"]
    assert "3201**********3314" in html and "9,000.00" in html and "7,000.00" in html
    assert "2026-10-31" in html
    found = client.get(reverse("web:employer_employees"), {"q": "秀英"})
    assert [r.employment.person.name for r in found.context["rows"]] == ["李秀英"]
    ended = client.get(reverse("web:employer_employees"), {"state": "current"})
    assert [r.employment.person.name for r in ended.context["rows"]] == ["张伟"]
    monkeypatch.setattr(employer_portal_views, "EMPLOYEES_PER_PAGE", 1)
    second = client.get(reverse("web:employer_employees"), {"page": 2})
    assert [r.employment.person.name for r in second.context["rows"]] == ["李秀英"]
    assert second.context["page"].paginator.num_pages == 2
    assert AccessEvent.objects.filter(actor=employer_user, action="employer.employees").exists()


def test_the_monthly_detail_shows_the_worked_example(employer_user, bill):
    page = signed_in(employer_user).get(reverse("web:employer_month"), {"month": "2026-10"})
    html = text(page)
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row.base, row.withheld, row.employer_total) == ("9,000.00", "945.00", "2,115.00")
    pension = row.shares[0]
    assert (pension.employer, pension.individual) == ("1,440.00", "720.00")
    assert "张伟" in html and "3201**********3314" in html
    assert f"{reverse('web:employer_month_csv')}?month=2026-10" in html
    assert f"{reverse('web:employer_slips')}?month=2026-10" in html
    # Without a month, the latest month billed.
    assert (
        signed_in(employer_user).get(reverse("web:employer_month")).context["detail"].period
        == OCTOBER
    )


def test_a_month_declared_but_not_billed_says_so(
    employer_user, officer, employer, employment, policy
):
    declarations.declaration_declare(
        actor=officer, employer=employer, person=employment.person, period=OCTOBER,
        wage=Decimal("9000"),
    )  # fmt: skip
    page = signed_in(employer_user).get(reverse("web:employer_month"), {"month": "2026-10"})
    assert page.status_code == 200 and page.context["bill_row"] is None
    assert page.context["declaration"].lines == 1


def test_the_csv_streams_every_employee(
    employer_user, officer, employer, employment, policy, monkeypatch
):
    monkeypatch.setattr(employer_detail, "STREAM_CHUNK", 2)
    people = [(employment.person, "9000")] + [
        (hire(employer, f"员工{n}", 20 + n), "6000") for n in range(4)
    ]
    declare_and_bill(officer, employer, people)
    response = signed_in(employer_user).get(reverse("web:employer_month_csv"), {"month": "2026-10"})
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    pieces = [piece.decode() for piece in response]
    assert len(pieces) == 1 + 3  # the header, then 5 rows in pieces of 2, 2 and 1
    records = list(csv.reader(io.StringIO("".join(pieces).removeprefix("\ufeff"))))
    assert len(records) == 1 + 5
    zhang = next(r for r in records if r[1] == "张伟")
    assert zhang[:6] == ["2026-10", "张伟", "3201**********3314", "9000.00", "1440.00", "720.00"]


def test_the_slip_page_prints_one_slip_per_employee(
    employer_user, officer, employer, employment, policy
):
    other = hire(employer, "李秀英", 2)
    declare_and_bill(officer, employer, [(employment.person, "9000"), (other, "6000")])
    client = signed_in(employer_user)
    page = client.get(reverse("web:employer_slips"), {"month": "2026-10"})
    html = text(page)
    assert page.status_code == 200
    assert len(re.findall(r'<article class="card slip"', html)) == 2
    assert "张伟" in html and "李秀英" in html and "720.00" in html and "945.00" in html
    one = text(client.get(reverse("web:employer_slips"), {"month": "2026-10", "person": other.pk}))
    assert len(re.findall(r'<article class="card slip"', one)) == 1 and "张伟" not in one
    css = b"".join(Client().get("/static/shebao/app.css")).decode()
    assert re.search(r"@media print \{\s*\.slip \{[^}]*break-after:page", css)


def test_the_notices_say_what_is_due_and_what_is_still_to_do(employer_user, bill):
    body = "身份证号码,姓名,月工资\n320106198503023314,张伟,9000\n110105194912310021,李秀英,100\n"
    upload = declarations.declaration_import(
        actor=employer_user,
        employer=bill.employer,
        period=OCTOBER,
        stream=io.BytesIO(body.encode()),
        filename="october.csv",
    )
    page = signed_in(employer_user).get(reverse("web:employer_notices"))
    html = text(page)
    assert page.status_code == 200
    assert "3,105.90" in html and "2026-12-16" in html  # the arrears notice, as of today
    reminders = page.context["reminders"]
    undeclared = [m.period for m in reminders.undeclared]
    assert OCTOBER not in undeclared and dt.date(2026, 12, 1) in undeclared
    assert reminders.refused_uploads == [upload]
    assert reverse("web:declaration_upload_result", args=[upload.pk]) in html
    home = signed_in(employer_user).get(reverse("web:employer_home"))
    assert home.context["reminders"].count == reminders.count == len(undeclared) + 1


def test_another_employers_user_sees_only_its_own_empty_pages(other_employer_user, employer, bill):
    client = signed_in(other_employer_user)
    for name in PAGES:
        response = client.get(reverse(name), {"month": "2026-10", "employer": employer.pk})
        assert response.status_code == 200, name
        assert "张伟" not in text(response) and "3,060.00" not in text(response), name
    detail = client.get(reverse("web:employer_month"), {"month": "2026-10"})
    assert detail.context["employer"].pk != employer.pk and detail.context["rows"] == []
    assert not AccessEvent.objects.filter(actor=other_employer_user).exclude(person_ids=[]).exists()


def test_strangers_individuals_and_other_staff_get_404(
    stranger, individual, owner, other_area, employer, bill
):
    staff_elsewhere = make_user("contrib-bj", Role.CONTRIBUTIONS_OFFICER, other_area)
    for user in (stranger, individual, owner, staff_elsewhere):
        client = signed_in(user)
        for name in PAGES:
            response = client.get(reverse(name), {"month": "2026-10", "employer": employer.pk})
            assert response.status_code == 404, (user.username, name)


def test_anonymous_callers_are_sent_to_sign_in(bill):
    for name in PAGES:
        response = Client().get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_english_through_the_switch(employer_user, bill):
    client = signed_in(employer_user)
    client.post(reverse("set_language"), {"language": "en"})
    html = text(client.get(reverse("web:employer_month"), {"month": "2026-10"}))
    assert '<html lang="en">' in html and "Monthly detail for employees" in html
    slips = text(client.get(reverse("web:employer_slips"), {"month": "2026-10"}))
    assert "Withheld from your wage" in slips
