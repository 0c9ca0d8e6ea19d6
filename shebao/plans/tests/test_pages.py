"""The plans and equipment pages: dashboards with their charts and tables, the
forms of the area administrator, and who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.plans import services
from shebao.plans.models import Counter, Device, Plan, Training
from shebao.plans.testing import handed_over

pytestmark = pytest.mark.django_db


def signed_in(user):
    """A signed-in browser that chose English (the portals are Chinese by default)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def get(user, name, *args, query=""):
    with translation.override("en"):
        return signed_in(user).get(reverse(name, args=args) + query)


def post(user, name, data, *args, query=""):
    with translation.override("en"):
        return signed_in(user).post(reverse(name, args=args) + query, data)


@pytest.fixture
def distribution(area, area_admin, outlet):
    services.plan_set(
        actor=area_admin,
        area=area,
        year=2026,
        kind="distribution",
        valid_from=dt.date(2026, 1, 1),
        distribution_targets={(outlet.pk, 11): 10},
    )
    handed_over(area, outlet, dt.date(2026, 11, 5), actor=area_admin, count=3)


def test_the_overview_shows_each_plan_the_checks_and_the_outlets(area_admin, distribution):
    response = get(area_admin, "web:plans", query="?year=2026")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('role="img"') == 1  # the ring of the one plan in force
    assert page.count("No plan in force") == 3
    assert "Set the plan" in page
    assert "Missing for" in page and "not met" in page
    assert "玄武区社会保险服务大厅" in page and "not ready" in page


def test_the_distribution_dashboard_draws_and_tables_30_per_cent(auditor, distribution):
    response = get(auditor, "web:plan", "distribution", query="?year=2026")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<svg") == 2 and page.count('class="chart-data"') == 2
    assert "3/10<br><small>30.0%</small>" in page
    assert "Set a new version" not in page  # the auditor reads only


def test_an_unknown_plan_is_not_found(auditor):
    assert get(auditor, "web:plan", "budget").status_code == 404


@pytest.mark.parametrize("kind", ["application", "cost", "collection"])
def test_every_dashboard_renders_without_a_plan(area_admin, outlet, kind):
    response = get(area_admin, "web:plan", kind)
    assert response.status_code == 200
    assert "is in force for" in response.content.decode()


def test_the_administrator_sets_a_distribution_plan_on_the_grid(
    area, area_admin, outlet, distribution
):
    form = get(area_admin, "web:plan_set", "distribution", query="?year=2026")
    assert form.status_code == 200
    field = f"target_{outlet.pk}_11"
    assert f'name="{field}"' in form.content.decode() and 'value="10"' in form.content.decode()
    response = post(
        area_admin,
        "web:plan_set",
        {field: "12", f"target_{outlet.pk}_12": "8", "valid_from": "2026-02-01", "note": "调整"},
        "distribution",
        query="?year=2026",
    )
    assert response.status_code == 302
    latest = Plan.objects.get(area=area, year=2026, kind="distribution", version=2)
    assert dict(latest.distribution_targets.values_list("month", "target")) == {11: 12, 12: 8}
    assert Plan.objects.filter(kind="distribution").count() == 2


def test_the_administrator_sets_the_application_design(area, area_admin):
    response = post(
        area_admin,
        "web:plan_set",
        {
            "offered_counter": "on",
            "target_counter": "300",
            "offered_online": "on",
            "target_online": "200",
            "target_employer": "50",  # not offered: ignored
        },
        "application",
        query="?year=2026",
    )
    assert response.status_code == 302
    plan = Plan.objects.get(kind="application")
    assert dict(plan.channels.filter(offered=True).values_list("channel", "target")) == {
        "counter": 300,
        "online": 200,
    }


def test_a_refused_plan_is_shown_with_the_reason(area_admin):
    response = post(
        area_admin,
        "web:plan_set",
        {"target_population": "100", "month_3": "50", "month_6": "40"},
        "collection",
        query="?year=2026",
    )
    assert response.status_code == 400
    assert "never fall" in response.content.decode()
    assert not Plan.objects.exists()


def test_the_cost_form_offers_the_vendors_of_the_areas_batches(area, area_admin):
    from shebao.cards.models import ProductionBatch

    ProductionBatch.objects.create(area=area, number="B1", vendor="金卡科技", created_by=area_admin)
    page = get(area_admin, "web:plan_set", "cost").content.decode()
    assert 'value="金卡科技"' in page
    response = post(
        area_admin,
        "web:plan_set",
        {
            "budget_per_card": "20",
            "budget_total": "20000",
            "expected_fee_income": "500",
            "vendor_0": "金卡科技",
            "unit_cost_0": "18.5",
        },
        "cost",
    )
    assert response.status_code == 302
    assert Plan.objects.get(kind="cost").vendor_costs.get().vendor == "金卡科技"


def test_only_the_administrator_reaches_the_plan_form(auditor, colleague):
    assert get(auditor, "web:plan_set", "cost").status_code == 404
    assert get(colleague, "web:plan_set", "cost").status_code == 404


def test_equipment_is_registered_and_a_device_reported_faulty(area_admin, outlet):
    response = post(
        area_admin, "web:counter_new", {"outlet": outlet.pk, "number": "01", "kind": "instant"}
    )
    assert response.status_code == 302
    counter = Counter.objects.get()
    response = post(
        area_admin,
        "web:device_new",
        {
            "outlet": outlet.pk,
            "counter": counter.pk,
            "kind": "card_reader",
            "serial_number": "CR-9",
        },
    )
    device = Device.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{device.pk}/")
    response = post(area_admin, "web:device", {"status": "faulty", "reason": ""}, device.pk)
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = post(area_admin, "web:device", {"status": "faulty", "reason": "读卡失败"}, device.pk)
    assert response.status_code == 302
    page = get(area_admin, "web:device", device.pk).content.decode()
    assert "读卡失败" in page and "In service → Faulty" in page
    page = get(area_admin, "web:equipment").content.decode()
    assert "CR-9" in page and "Instant issuance counter" in page and "not ready" in page


def test_a_reader_sees_equipment_but_changes_nothing(area_admin, auditor, outlet):
    device = services.device_register(
        actor=area_admin, outlet=outlet, kind="scanner", serial_number="S1"
    )
    page = get(auditor, "web:device", device.pk).content.decode()
    assert "S1" in page and "Change the status" not in page
    response = post(auditor, "web:device", {"status": "faulty", "reason": "x"}, device.pk)
    assert response.status_code == 404
    assert Device.objects.get().status == "in_service"
    assert get(auditor, "web:counter_new").status_code == 404


def test_the_administrator_records_a_training(area_admin, colleague):
    today = timezone.localdate()
    response = post(
        area_admin,
        "web:plan_staff",
        {
            "user": colleague.pk,
            "course": "card_issuance",
            "completed_on": (today - dt.timedelta(days=10)).isoformat(),
            "valid_until": (today + dt.timedelta(days=720)).isoformat(),
            "certificate": "NJ-1",
        },
    )
    assert response.status_code == 302
    assert Training.objects.get().user == colleague
    page = get(area_admin, "web:plan_staff").content.decode()
    assert "NJ-1" in page and "<b>1</b>" in page


def test_strangers_and_insured_persons_see_nothing_of_the_area(
    area_admin, stranger, individual, outlet, distribution
):
    device = services.device_register(
        actor=area_admin, outlet=outlet, kind="scanner", serial_number="S1"
    )
    assert get(stranger, "web:device", device.pk).status_code == 404
    page = get(stranger, "web:plan", "distribution", query="?year=2026").content.decode()
    assert "玄武区" not in page and "北京市" in page
    page = get(stranger, "web:plans", query="?area=320100").content.decode()
    assert "南京市" not in page
    for name, args in (("web:plans", ()), ("web:equipment", ()), ("web:plan", ("cost",))):
        assert get(individual, name, *args).status_code == 404


def test_the_ministry_chooses_an_area_then_reads_it(ministry, area, other_area, distribution):
    page = get(ministry, "web:plans").content.decode()
    assert "?area=320100" in page and "?area=110100" in page
    response = get(ministry, "web:plan", "distribution", query="?area=320100&year=2026")
    assert response.status_code == 200 and "30.0%" in response.content.decode()
    assert get(ministry, "web:plan_set", "cost").status_code == 404


def test_the_navigation_links_the_plans_for_staff(auditor, other_area):
    page = get(auditor, "web:plans").content.decode()
    assert f'<a href="{reverse("web:plans")}">Plans and equipment</a>' in page
    officer = make_user("bjofficer", Role.CARD_OFFICER, other_area)
    assert get(officer, "web:plans").status_code == 200
