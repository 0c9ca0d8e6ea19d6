"""The demo area has staff, equipment and this year's plans: the plans pages
and the approval checks of conditions (b) and (c) show something."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from shebao.approval.checks import run_checks
from shebao.plans.models import Counter, Device, Plan, Training
from shebao.registry.models import Area

pytestmark = pytest.mark.django_db


def test_the_demo_area_meets_the_staff_equipment_and_plan_checks(capsys):
    call_command("demo", "--persons", "200", "--employers", "10", "--seed", "5")
    area = Area.objects.get(code="320100")
    assert Counter.objects.filter(area=area, kind="instant").count() == 1
    assert Device.objects.filter(area=area, status="faulty").count() == 1
    assert Training.objects.filter(area=area).exists()
    year = timezone.localdate().year
    assert set(Plan.objects.filter(area=area, year=year).values_list("kind", flat=True)) == {
        "application",
        "cost",
        "collection",
        "distribution",
    }
    results = run_checks(area)
    for code in ("b.counters_and_readers", "b.trained_staff", "c.plans"):
        assert results[code].ok, (code, results[code].detail)
