"""The person's own history page and API answer from the history cache
(inquiry/cache.py) and never show stale data: after every kind of write that
changes what they show — a billing run, an employer's payment (in full or in
part), a correction billed, the credit applied, a flexible worker's payment, an
employer renamed — and on the next day, the next request shows it. A request
answered from the cache reads no contribution record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.contributions import billing, declarations, flexible, payments
from shebao.contributions.models import DeclarationLine
from shebao.core.errors import DomainError
from shebao.inquiry.cache import history_changed
from shebao.inquiry.models import HistoryVersion, VersionScope
from shebao.inquiry.testing import bill as bill_directly
from shebao.inquiry.tests.test_history import (
    declare_and_bill,
    officer,  # noqa: F401 - a fixture
    pay_bill,
    policy,  # noqa: F401 - a fixture
    second_employer,
    second_person,
)
from shebao.registry.models import Employment
from shebao.registry.services import employer_update
from shebao.web.tests.test_card_pages import signed_in

pytestmark = pytest.mark.django_db

AUGUST, SEPTEMBER, OCTOBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)


def shown(client, **query) -> str:
    """The history part of the page (the rest holds the request's CSRF token)."""
    response = client.get("/my/contributions/", query)
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index("<h1>") : html.index("</main>")]


def api(client, **query) -> dict:
    response = client.get("/api/v1/me/contributions", query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def status_of(html: str, month: dt.date) -> str:
    start = html.index(f'<tr id="m-{month:%Y-%m}" class="status-row-') + len(
        f'<tr id="m-{month:%Y-%m}" class="status-row-'
    )
    return html[start : html.index('"', start)].split()[0]


def kept(client, **query) -> str:
    """Ask until the answer is kept (the first request of a person learns which
    employers bill them, the second keeps the answer), and return it."""
    shown(client, **query)
    return shown(client, **query)


@pytest.fixture
def billed(officer, policy, employer, employment):  # noqa: F811
    """October of 9,000 declared and billed, not paid."""
    return declare_and_bill(officer, employer, employment.person, OCTOBER)


@pytest.fixture
def reader(individual):
    return signed_in(individual, "en")


# --- served from the cache -------------------------------------------------------------


def test_it_answers_a_repeated_request_without_reading_the_records(billed, reader, individual):
    first = kept(reader)
    with CaptureQueriesContext(connection) as queries:
        again = shown(reader)
    assert again == first
    assert status_of(again, OCTOBER) == "unpaid"
    # The session, the user, and the versions of the records: no contribution record.
    assert len(queries.captured_queries) == 3
    assert not any("contributions_" in q["sql"] for q in queries.captured_queries)

    client = api_client(individual)
    fresh = api(client)
    with CaptureQueriesContext(connection) as queries:
        assert api(client) == api(client) == fresh
    assert not any("contributions_" in q["sql"] for q in queries.captured_queries)
    assert [m["status"] for m in fresh["items"]] == ["unpaid"]


def test_it_keeps_the_same_answer_as_a_fresh_build(billed, reader, individual, cashier):
    pay_bill(cashier, billed, dt.date(2026, 11, 10), amount="1000")
    client = api_client(individual)
    api(client)
    cached = client.get("/api/v1/me/contributions", HTTP_ACCEPT_LANGUAGE="en").content
    page = kept(reader, year="2026")

    from django.core.cache import caches

    caches["history"].clear()
    assert client.get("/api/v1/me/contributions", HTTP_ACCEPT_LANGUAGE="en").content == cached
    assert shown(reader, year="2026") == page


# --- never stale --------------------------------------------------------------------------


def test_a_payment_shows_at_once(billed, reader, individual, cashier):
    client = api_client(individual)
    assert status_of(kept(reader), OCTOBER) == "unpaid"
    api(client)
    assert api(client)["items"][0]["status"] == "unpaid"

    pay_bill(cashier, billed, dt.date(2026, 11, 10), amount="1000", reference="PART")
    assert status_of(shown(reader), OCTOBER) == "part"
    assert api(client)["items"][0]["status"] == "part"

    pay_bill(
        cashier,
        billed,
        dt.date(2026, 11, 12),
        amount=str(Decimal(billed.employer_cents + billed.individual_cents) / 100 - 1000),
        reference="REST",
    )
    assert status_of(shown(reader), OCTOBER) == "paid"
    assert api(client)["items"][0]["status"] == "paid"


def test_a_billing_run_shows_at_once(billed, reader, officer, employer, employment):  # noqa: F811
    assert 'id="m-2026-09"' not in kept(reader)
    declare_and_bill(officer, employer, employment.person, SEPTEMBER, wage="6000")
    html = shown(reader)
    assert status_of(html, SEPTEMBER) == "unpaid"
    assert "4,800.00" not in html and "6,000.00" in html  # the base of September


def test_a_corrected_declaration_shows_once_billed_and_the_excess_released(
    billed,
    reader,
    officer,  # noqa: F811
    cashier,
    employer,
    employment,
):
    """October paid at 9,000, then corrected down to 8,000 and billed again: the bill
    is lowered and what it holds beyond its total is released as credit (by the run's
    `credit_apply`, which replaces the employer's token); the month stays paid."""
    pay_bill(cashier, billed, dt.date(2026, 11, 10))
    html = kept(reader)
    assert status_of(html, OCTOBER) == "paid" and "9,000.00" in html
    line = DeclarationLine.objects.get(person=employment.person, period=OCTOBER)
    declarations.declaration_correct(actor=officer, line=line, wage="8000", reason="error")
    assert "9,000.00" in shown(reader)  # declared, not billed yet: the history is the bills'
    paid_token = HistoryVersion.objects.get(scope=VersionScope.EMPLOYER, subject=employer.pk).token

    billing.bill_run(actor=officer, area=employer.area, period=OCTOBER)

    html = shown(reader)
    assert "8,000.00" in html and "9,000.00" not in html
    assert status_of(html, OCTOBER) == "paid"
    released = HistoryVersion.objects.get(scope=VersionScope.EMPLOYER, subject=employer.pk).token
    assert released != paid_token


def test_a_flexible_workers_payment_shows_at_once(area, owner, officer, cashier, person):  # noqa: F811
    from shebao.contributions.services import policy_set
    from shebao.contributions.testing import INJURY, RATES

    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )
    user = make_user("flexible", Role.INDIVIDUAL, area, person_id=person.pk)
    flexible.flexible_enrol(actor=owner, person=person, valid_from=AUGUST, base_ratio="0.6")
    billing.bill_run(actor=officer, area=area, period=AUGUST)
    client = signed_in(user, "en")
    html = kept(client)
    assert status_of(html, AUGUST) == "unpaid" and "Self (flexible worker)" in html

    flexible.flexible_payment_record(
        actor=cashier,
        person=person,
        bank_reference="F1",
        amount=Decimal("960"),
        paid_on=dt.date(2026, 9, 10),
    )
    assert status_of(shown(client), AUGUST) == "paid"


def test_an_employer_renamed_shows_at_once(billed, reader, owner, employer):
    assert employer.name in kept(reader)
    employer_update(actor=owner, employer=employer, name="南京钟山智能科技有限公司")
    assert "南京钟山智能科技有限公司" in shown(reader)


def test_a_month_becomes_overdue_the_day_after_it_is_due(billed, reader, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: dt.date(2026, 11, 15))
    html = kept(reader)
    assert "Overdue" not in html  # due on 2026-11-15
    monkeypatch.setattr(timezone, "localdate", lambda *args: dt.date(2026, 11, 16))
    assert "Overdue" in shown(reader)


def test_each_language_and_each_year_asked_is_its_own_answer(billed, individual):
    english, chinese = signed_in(individual, "en"), signed_in(individual)
    assert "My contributions" in kept(english)
    assert "我的缴费" in kept(chinese) and "My contributions" not in shown(chinese)
    assert 'id="m-2026-10"' in kept(english, year="2026")
    assert 'id="m-2026-10"' in shown(english, year="all")


def test_a_person_never_gets_anothers_answer(billed, individual, area, employer):
    assert status_of(kept(signed_in(individual, "en")), OCTOBER) == "unpaid"
    other = second_person(area)
    Employment.objects.create(
        area=area,
        person=other,
        employer=employer,
        start_date=dt.date(2020, 1, 1),
        registered_on=dt.date(2020, 1, 1),
    )
    user = make_user("other", Role.INDIVIDUAL, area, person_id=other.pk)
    theirs = kept(signed_in(user, "en"))
    assert 'id="m-2026-10"' not in theirs
    assert api(api_client(user))["items"] == []


def test_a_build_that_finds_an_employer_it_did_not_watch_is_not_kept(
    billed, reader, individual, area
):
    """An employer's lines come with a billing run, which changes the area's token;
    a history built meanwhile (or from rows written directly, as here) may find an
    employer the cached set lacks: it is served but not kept, and the employer's
    token is part of the key from then on."""
    kept(reader)
    other = second_employer(area)
    bill_directly(individual.person, other, SEPTEMBER)
    assert other.name in shown(reader, year="2026")  # not asked before: built
    assert other.name in kept(reader, year="2026")
    employer_update(
        actor=make_user("registrar", Role.REGISTRAR, area), employer=other, name="玄武商贸"
    )
    assert "玄武商贸" in shown(reader, year="2026")


# --- the writers' tokens --------------------------------------------------------------------


def tokens():
    return dict(
        ((row.area_id, row.scope, row.subject), row.token) for row in HistoryVersion.objects.all()
    )


def test_each_writer_replaces_its_token_in_its_own_transaction(
    officer,  # noqa: F811
    policy,  # noqa: F811
    cashier,
    employer,
    employment,
    area,
):
    declare_and_bill(officer, employer, employment.person, OCTOBER)
    after_run = tokens()
    assert (area.code, VersionScope.AREA, 0) in after_run

    with pytest.raises(DomainError):
        payments.payment_record(
            actor=cashier,
            employer=employer,
            bank_reference="FUTURE",
            amount=Decimal("1"),
            paid_on=dt.date(2099, 1, 1),
        )
    assert tokens() == after_run  # refused: nothing changed

    payments.payment_record(
        actor=cashier,
        employer=employer,
        bank_reference="P1",
        amount=Decimal("1"),
        paid_on=dt.date(2026, 11, 10),
    )
    after_payment = tokens()
    assert after_payment[(area.code, VersionScope.EMPLOYER, employer.pk)] != after_run.get(
        (area.code, VersionScope.EMPLOYER, employer.pk)
    )
    assert after_payment[(area.code, VersionScope.AREA, 0)] == after_run[(area.code, "area", 0)]


def test_history_changed_takes_an_employer_or_a_person_not_both(area):
    with pytest.raises(ValueError, match="not both"):
        history_changed(area=area.code, employer=1, person=1)
    history_changed(area=area.code, person=7)
    history_changed(area=area.code, person=7)
    assert HistoryVersion.objects.filter(scope=VersionScope.PERSON, subject=7).count() == 1
