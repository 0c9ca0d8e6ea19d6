"""The insured person's own pages (/my/): the worked example from billed to paid
and credited, an assessed month, the CSV, the year filter, the pension estimate
with changed assumptions; only the person sees them, and only their own; the
history page takes as many queries for 120 months as for 12."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.contributions import billing
from shebao.inquiry.bench import build_history
from shebao.inquiry.tests.test_history import (
    declare_and_bill,
    officer,  # noqa: F401 - a fixture
    pay_bill,
    policy,  # noqa: F401 - a fixture
    second_employer,
    second_person,
)
from shebao.web.my_views import elsewhere
from shebao.web.tests.test_card_pages import signed_in

pytestmark = pytest.mark.django_db

SEPTEMBER, OCTOBER = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
MY_PAGES = ["web:my_home", "web:my_contributions", "web:my_account", "web:my_pension"]


def page(client, name, **query):
    response = client.get(reverse(name), query)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def row(html, month):
    """The table row of a month on the history page."""
    start = html.index(f'id="m-{month:%Y-%m}"')
    return html[start : html.index("</tr>", start)]


# --- the worked example -------------------------------------------------------------------


def test_a_declared_month_shows_unpaid_then_paid_and_the_account_720(
    officer,  # noqa: F811
    cashier,
    individual,
    policy,  # noqa: F811
    employer,
    employment,
):
    bill = declare_and_bill(officer, employer, employment.person, OCTOBER)
    client = signed_in(individual)

    october = row(page(client, "web:my_contributions"), OCTOBER)
    assert "status-unpaid" in october and "withheld" in october
    assert "1,440.00 / 720.00" in october  # pension: employer / you
    assert "9,000.00" in october  # the base
    home = page(client, "web:my_home")
    assert 'id="attention"' in home and "2026-10" in home
    assert "0.00" in page(client, "web:my_account")

    pay_bill(cashier, bill, dt.date(2026, 11, 10))

    october = row(page(client, "web:my_contributions"), OCTOBER)
    assert "status-paid" in october and "withheld" not in october
    account = page(client, "web:my_account")
    assert "720.00" in account and "2026-10" in account
    home = page(client, "web:my_home")
    assert 'id="attention"' not in home
    assert "720.00" in home  # the balance tile


def test_a_month_without_a_declaration_shows_assessed(
    officer,  # noqa: F811
    individual,
    policy,  # noqa: F811
    employer,
    employment,
):
    declare_and_bill(officer, employer, employment.person, SEPTEMBER)
    billing.bill_run(actor=officer, area=employer.area, period=OCTOBER)

    html = page(signed_in(individual), "web:my_contributions")

    assert "status-assessed" in row(html, OCTOBER)
    assert "792.00" in row(html, OCTOBER)  # 110% of September's 720.00 (SIL art. 62)
    assert "status-unpaid" in row(html, SEPTEMBER)


def test_the_home_page_sums_up_years_card_employer_and_estimate(
    individual,
    policy,  # noqa: F811
    area,
    employer,
    employment,
):
    build_history(
        area=area,
        employer=employer,
        persons=[employment.person_id],
        first=dt.date(2014, 1, 1),
        months=30,
    )
    with translation.override("en"):
        html = page(signed_in(individual, "en"), "web:my_home")

    assert "2 y 6 m" in html and "30 months paid" in html
    assert employer.name in html
    assert reverse("web:my_cards") in html
    assert "Estimated monthly pension" in html
    for url in elsewhere().values():  # statements, supervision, consultation… where routed
        assert f'href="{url}"' in html
    assert employment.person.id_number in html  # their own, in full


# --- the history page -------------------------------------------------------------------


def test_the_latest_year_is_open_and_others_are_one_line(individual, area, employer, person):
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2023, 7, 1), months=24
    )
    client = signed_in(individual)

    latest = page(client, "web:my_contributions")
    assert '<details class="card my-year" id="y2025" open>' in latest
    assert '<details class="card my-year" id="y2024">' in latest
    assert 'id="m-2025-06"' in latest and 'id="m-2024-06"' not in latest
    assert "?year=2024#y2024" in latest

    chosen = page(client, "web:my_contributions", year="2024")
    assert 'id="m-2024-06"' in chosen and 'id="m-2025-06"' not in chosen
    everything = page(client, "web:my_contributions", year="all")
    assert everything.count('<tr id="m-') == 24


def test_the_history_downloads_as_csv(individual, area, employer, person):
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2024, 11, 1), months=3
    )
    client = signed_in(individual)

    response = client.get(reverse("web:my_contributions_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("月份 month,")
    assert len(lines) == 1 + 3 * 5  # 3 months × 5 insurances
    assert lines[1].startswith("2025-01,")
    one_year = client.get(reverse("web:my_contributions_csv"), {"year": "2024"}).content.decode()
    assert len(one_year.splitlines()) == 1 + 2 * 5
    assert (
        'filename="contributions-2024.csv"'
        in client.get(reverse("web:my_contributions_csv"), {"year": "2024"})["Content-Disposition"]
    )


@pytest.mark.parametrize("months", [12, 120])
def test_the_history_page_takes_the_same_queries_for_12_or_120_months(
    individual, area, employer, person, months, django_assert_max_num_queries
):
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2010, 1, 1), months=months
    )
    client = signed_in(individual)
    # The session, the user, the versions of the records (the cache's key, see
    # inquiry/cache.py), the person, their bill lines, allocations, bills, flexible months.
    with django_assert_max_num_queries(8):
        html = page(client, "web:my_contributions", year="all")
    assert html.count('<tr id="m-') == months
    with django_assert_max_num_queries(8):
        page(client, "web:my_contributions")


# --- the pension estimate ---------------------------------------------------------------


def test_the_person_changes_the_assumptions_of_their_estimate(
    individual,
    policy,  # noqa: F811
    area,
    employer,
    employment,
):
    build_history(
        area=area,
        employer=employer,
        persons=[employment.person_id],
        first=dt.date(2020, 1, 1),
        months=24,
    )
    client = signed_in(individual, "en")
    with translation.override("en"):
        default = page(client, "web:my_pension")
        assert "Assumptions" in default and "Unemployment benefit" in default
        assert "up to 18 months" not in default and "up to 12 months" in default
        changed = page(client, "web:my_pension", interest_rate="0.03", indexed_wage_ratio="1.5")
        assert "0.03 a year, as you assumed" in changed
        assert "indexed wage ratio of 1.5" in changed
        refused = client.get(reverse("web:my_pension"), {"interest_rate": "5"})
    assert refused.status_code == 400


# --- only the person, only their own ------------------------------------------------------


def test_two_persons_each_see_only_their_own_records(individual, area, employer, person):
    other = second_person(area)
    other_user = make_user("other", Role.INDIVIDUAL, area, person_id=other.pk)
    elsewhere = second_employer(area)
    build_history(
        area=area, employer=employer, persons=[person.pk], first=dt.date(2025, 1, 1), months=2
    )
    build_history(
        area=area, employer=elsewhere, persons=[other.pk], first=dt.date(2019, 5, 1), months=3
    )

    mine = page(signed_in(individual), "web:my_contributions", year="all")
    theirs = page(signed_in(other_user), "web:my_contributions", year="all")

    assert employer.name in mine and elsewhere.name not in mine
    assert elsewhere.name in theirs and employer.name not in theirs
    assert 'id="m-2019-05"' in theirs and 'id="m-2019-05"' not in mine
    csv = signed_in(individual).get(reverse("web:my_contributions_csv")).content.decode()
    assert elsewhere.name not in csv and "2019-05" not in csv
    assert other.name not in page(signed_in(individual), "web:my_home")


@pytest.mark.parametrize("name", [*MY_PAGES, "web:my_contributions_csv"])
def test_staff_and_employers_get_404_and_the_anonymous_the_login_page(
    name, owner, auditor, area_admin, employer_user, ministry
):
    for user in (owner, auditor, area_admin, employer_user, ministry):
        assert signed_in(user).get(reverse(name)).status_code == 404, user.role
    response = Client().get(reverse(name))
    assert response.status_code == 302 and reverse("web:login") in response["Location"]


def test_the_person_lands_on_their_own_pages_and_staff_on_theirs(individual, owner):
    assert signed_in(individual).get(reverse("web:home"))["Location"] == reverse("web:my_home")
    assert signed_in(owner).get(reverse("web:home")).status_code == 200


def test_the_pages_are_chinese_by_default_and_english_on_request(individual):
    chinese = signed_in(individual).get(reverse("web:my_contributions")).content.decode()
    assert '<html lang="zh-hans">' in chinese
    with translation.override("en"):
        english = page(signed_in(individual, "en"), "web:my_contributions")
    assert '<html lang="en">' in english and "My contributions" in english
    with translation.override("en"):
        home = page(signed_in(individual, "en"), "web:my_home")
    assert "Inquiring into your own records is free of charge" in home


def test_the_estimate_says_plainly_when_the_area_has_no_policy_yet(individual):
    with translation.override("en"):
        html = page(signed_in(individual, "en"), "web:my_pension")
    assert "The estimate is not available yet" in html
    assert "set one first" not in html  # the staff's wording is not the person's
