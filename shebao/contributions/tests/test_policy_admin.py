"""Policies in the back office: added with every rate on one form, corrected only until used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db.models import Field
from django.test import Client
from django.urls import reverse

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.models import AuditEvent
from shebao.contributions import billing
from shebao.contributions.admin import POLICY_FIELDS
from shebao.contributions.models import Policy, PolicyRate
from shebao.contributions.services import policy_correct, policy_for, policy_set
from shebao.contributions.testing import INJURY, RATES
from shebao.core.errors import Conflict

pytestmark = pytest.mark.django_db
ADD = "/admin/contributions/policy/add/"


@pytest.fixture
def officer(area):
    return user_create(
        actor=None,
        username="contrib",
        password="x",
        role=Role.CONTRIBUTIONS_OFFICER,
        area_code=area.code,
        check_password=False,
    )


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


def form_data(area_code: str, valid_from: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"area": area_code, "valid_from": valid_from, "note": ""}
    for name in POLICY_FIELDS:  # every figure of the policy at its default
        field = cast(Field, Policy._meta.get_field(name))
        if field.has_default():
            data[name] = str(field.get_default())
    data["average_monthly_wage"] = "9000"
    for insurance, (employer_rate, individual_rate) in RATES.items():
        data[f"{insurance}_employer"] = employer_rate
        data[f"{insurance}_individual"] = individual_rate
    for risk_class, value in INJURY.items():
        data[f"work_injury_{risk_class}"] = value
    # Inline formsets of the rates are shown read-only but still posted.
    for prefix in ("rates", "work_injury_rates"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(changes)
    return data


def signed_in(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def test_it_adds_a_policy_with_all_rates_and_closes_the_one_before(officer, policy, area):
    page = signed_in(officer).get(ADD)
    assert page.status_code == 200
    assert 'value="8000.00"' in page.content.decode()  # starts from the policy in force
    done = signed_in(officer).post(ADD, form_data(area.code, "2027-01-01", pension_employer="0.15"))
    assert done.status_code == 302, done.content.decode()[:2000]
    new = policy_for(area.code, dt.date(2027, 3, 1))
    assert new.average_monthly_wage == Decimal("9000")
    assert new.rates.get(insurance="pension").employer_rate == Decimal("0.15")
    assert new.work_injury_rates.get(risk_class=8).rate == Decimal("0.019")
    policy.refresh_from_db()
    assert policy.valid_to == dt.date(2027, 1, 1)
    assert AuditEvent.objects.filter(action="policy.set", actor=officer).count() == 2


def test_it_refuses_a_policy_form_with_a_bad_month_or_a_missing_rate(officer, policy, area):
    client = signed_in(officer, "en")
    mid_month = client.post(ADD, form_data(area.code, "2027-01-15"))
    assert "first day of a month" in mid_month.content.decode()
    earlier = client.post(ADD, form_data(area.code, "2026-01-01"))
    assert "must start after it" in earlier.content.decode()
    missing = client.post(ADD, form_data(area.code, "2027-01-01", medical_individual=""))
    assert "This field is required" in missing.content.decode()
    inverted = client.post(ADD, form_data(area.code, "2027-01-01", base_floor_ratio="3.5"))
    assert "errornote" in inverted.content.decode()
    assert Policy.objects.filter(area=area).count() == 1


def test_an_unused_policy_is_corrected_in_place_and_audited(officer, policy, area):
    url = f"/admin/contributions/policy/{policy.pk}/change/"
    data = form_data(area.code, "2026-01-01", medical_employer="0.065")
    done = signed_in(officer).post(url, data)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert PolicyRate.objects.get(policy=policy, insurance="medical").employer_rate == Decimal(
        "0.065"
    )
    event = AuditEvent.objects.get(action="policy.correct")
    assert event.before is not None
    assert event.before["rates"]["medical"][0] == "0.06000"


def test_a_used_policy_is_history(officer, policy, area, employer, employment):
    from shebao.contributions.declarations import declaration_declare

    declaration_declare(
        actor=officer,
        employer=employer,
        person=employment.person,
        period=dt.date(2026, 10, 1),
        wage=Decimal("9000"),
    )
    billing.bill_run(actor=officer, area=area, period=dt.date(2026, 10, 1))
    url = f"/admin/contributions/policy/{policy.pk}/change/"
    page = signed_in(officer).get(url).content.decode()
    assert 'name="pension_employer"' not in page
    signed_in(officer).post(url, form_data(area.code, "2026-01-01", pension_employer="0.5"))
    assert PolicyRate.objects.get(policy=policy, insurance="pension").employer_rate == Decimal(
        "0.16"
    )
    with pytest.raises(Conflict) as refused:
        policy_correct(
            actor=officer,
            policy=policy,
            average_monthly_wage="1",
            rates=RATES,
            work_injury_rates=INJURY,
        )
    assert refused.value.code == "policy_in_use"


def test_staff_of_another_area_cannot_see_or_add_the_policy(policy, stranger, area, other_area):
    client = signed_in(stranger)
    assert client.get(f"/admin/contributions/policy/{policy.pk}/change/").status_code in (302, 404)
    other = user_create(
        actor=None,
        username="c2",
        password="x",
        role=Role.CONTRIBUTIONS_OFFICER,
        area_code=other_area.code,
        check_password=False,
    )
    refused = signed_in(other).post(ADD, form_data(area.code, "2027-01-01"))
    assert refused.status_code == 200  # the form refuses an area that is not theirs
    assert Policy.objects.filter(area=area).count() == 1
