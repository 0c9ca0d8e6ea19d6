"""Flexible workers in the portal: the section of the person page with its enrol,
end and payment forms, and the insured person's own months."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.contributions import billing, flexible
from shebao.contributions.models import FlexibleEnrolment, FlexiblePayment
from shebao.contributions.services import policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.web.tests.test_staff_contrib_pages import signed_in

pytestmark = pytest.mark.django_db
JUNE, JULY = dt.date(2026, 6, 1), dt.date(2026, 7, 1)


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def policy(officer, area):
    return policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage="8000",
        rates=RATES,
        work_injury_rates=INJURY,
    )


@pytest.fixture
def billed(owner, officer, policy, area, person):
    """Enrolled from June at 0.6 of 8,000; June and July billed (960.00 each)."""
    enrolment = flexible.flexible_enrol(
        actor=owner, person=person, valid_from=JUNE, base_ratio="0.6"
    )
    for month in (JUNE, JULY):
        billing.bill_run(actor=officer, area=area, period=month)
    return enrolment


def page(person):
    return reverse("web:person", args=[person.pk])


def test_a_registrar_enrols_from_the_person_page(owner, policy, person):
    client = signed_in(owner)
    shown = client.get(page(person)).content.decode()
    assert 'id="flexible"' in shown and 'id="flexible-enrol"' in shown

    response = client.post(
        reverse("web:flexible_enrol", args=[person.pk]),
        {"enrol-valid_from": "2026-06", "enrol-base_ratio": "0.6"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#flexible")
    enrolment = FlexibleEnrolment.objects.get(person=person)
    assert (enrolment.valid_from, enrolment.base_ratio) == (JUNE, Decimal("0.6"))
    after = client.get(page(person)).content.decode()
    assert "0.6 × the average wage" in after and 'id="flexible-end"' in after


def test_a_refused_enrolment_shows_the_reason_at_the_field(owner, policy, person):
    response = signed_in(owner).post(
        reverse("web:flexible_enrol", args=[person.pk]),
        {"enrol-valid_from": "2026-06", "enrol-base_ratio": "0.5"},
    )

    assert response.status_code == 400
    assert "The base must be between 0.6 and 3 times the average wage" in response.content.decode()
    assert not FlexibleEnrolment.objects.exists()


def test_the_months_show_what_is_paid_and_the_late_fee(billed, cashier, person):
    client = signed_in(cashier)
    response = client.post(
        reverse("web:flexible_pay", args=[person.pk]),
        {"pay-bank_reference": "F001", "pay-amount": "960", "pay-paid_on": "2026-07-15"},
        follow=True,
    )

    text = response.content.decode()
    assert "Payment F001 is recorded: 960.00 to contributions, 0.00 to late fees" in text
    assert FlexiblePayment.objects.get().amount_cents == 96_000
    assert 'id="flexible-pay"' in text and 'id="flexible-enrol"' not in text  # a cashier
    months = text[text.index('id="flexible-months"') :]
    assert months.index("2026-07") < months.index("2026-06")  # latest first
    assert "Paid</span>" in months and "Unpaid</span>" in months


def test_a_registrar_ends_the_enrolment(billed, owner, person):
    client = signed_in(owner)
    url = reverse("web:flexible_end", args=[billed.pk])

    refused = client.post(url, {"end-valid_to": "2026-07"})
    assert refused.status_code == 400
    assert "2026-07 is billed already" in refused.content.decode()

    assert client.post(url, {"end-valid_to": "2026-08"}).status_code == 302
    billed.refresh_from_db()
    assert billed.valid_to == dt.date(2026, 8, 1)


def test_the_insured_person_sees_their_own_months(billed, individual, person):
    client = signed_in(individual)

    own = client.get(page(person)).content.decode()
    assert 'id="flexible-months"' in own and 'id="flexible-enrol"' not in own
    mine = client.get(reverse("web:my_flexible"))

    assert mine.status_code == 200
    text = mine.content.decode()
    assert "From 2026-06, base 0.6 × the average wage" in text
    assert "1,920.00" in text  # two months of 960.00 due
    assert "days overdue" in text


def test_others_cannot_act(billed, stranger, cashier, colleague, person):
    for user, name, args in [
        (stranger, "web:flexible_enrol", [person.pk]),
        (stranger, "web:flexible_pay", [person.pk]),
        (stranger, "web:flexible_end", [billed.pk]),
        (cashier, "web:flexible_enrol", [person.pk]),
        (colleague, "web:flexible_pay", [person.pk]),
        (cashier, "web:my_flexible", []),
    ]:
        assert signed_in(user).post(reverse(name, args=args), {}).status_code == 404, (user, name)
    assert not FlexiblePayment.objects.exists()
