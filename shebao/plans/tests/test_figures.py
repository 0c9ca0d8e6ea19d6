"""Plans against reality, in worked examples: what the card records show next
to what each plan set out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.cards import services as card_services
from shebao.cards.models import CardFee, CardKind, CardPhoto, Channel, FeeStatus, ProductionBatch
from shebao.cards.testing import apply_for, make_card, put_at_outlet
from shebao.plans import services
from shebao.plans.figures import (
    application_figures,
    collection_figures,
    cost_figures,
    distribution_figures,
    percent,
)
from shebao.plans.testing import handed_over, local, person_in, produced

pytestmark = pytest.mark.django_db

JANUARY = dt.date(2026, 1, 1)
YEAR_END = dt.date(2026, 12, 31)


@pytest.fixture
def admin(area):
    return make_user("planadmin", Role.AREA_ADMIN, area)


@pytest.fixture
def gulou(area):
    return area.outlets.create(code="GL002", name="鼓楼区社会保险服务大厅")


def test_it_computes_per_cent_with_one_decimal_half_up():
    assert percent(3, 10) == Decimal("30")
    assert percent(1, 3) == Decimal("33.3")
    assert percent(2, 3) == Decimal("66.7")
    assert percent(5, 0) is None
    assert percent(None, 10) is None


# --- distribution ------------------------------------------------------------------------


def test_three_cards_handed_over_at_an_outlet_in_november_against_ten_is_30_per_cent(
    area, admin, outlet, gulou
):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="distribution",
        valid_from=JANUARY,
        distribution_targets={(outlet.pk, 11): 10, (outlet.pk, 12): 10, (gulou.pk, 11): 4},
    )
    handed_over(area, outlet, dt.date(2026, 11, 5), actor=admin, count=3)
    handed_over(area, gulou, dt.date(2026, 11, 30), actor=admin, count=4)
    # Outside November 2026: December 2025 and a card of another outlet month.
    handed_over(area, outlet, dt.date(2025, 12, 31), actor=admin, count=2)
    handed_over(area, outlet, dt.date(2026, 10, 31), actor=admin, count=1)

    figures = distribution_figures(area.code, 2026, YEAR_END)

    november = {
        (row.key, row.month): row
        for row in figures.rows
        if row.measure == "handed_over" and row.month == 11
    }
    at_outlet = november[(outlet.code, 11)]
    assert (at_outlet.target, at_outlet.actual, at_outlet.percent) == (10, 3, Decimal("30"))
    assert november[(gulou.code, 11)].percent == Decimal("100")
    assert november[("", 11)].target == 14 and november[("", 11)].actual == 7
    totals = {row.key: row for row in figures.totals}
    assert (totals[outlet.code].target, totals[outlet.code].actual) == (20, 4)
    assert (totals[""].target, totals[""].actual) == (24, 8)


def test_months_still_to_come_have_no_actual(area, admin, outlet):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="distribution",
        valid_from=JANUARY,
        distribution_targets={(outlet.pk, 12): 10},
    )
    figures = distribution_figures(area.code, 2026, dt.date(2026, 11, 15))
    december = next(r for r in figures.rows if r.key == outlet.code and r.month == 12)
    november = next(r for r in figures.rows if r.key == outlet.code and r.month == 11)
    assert december.actual is None and december.percent is None
    assert november.actual == 0


def test_a_hand_over_at_the_counter_counts_for_its_outlet_this_month(
    approved_area, outlet, card_officer, second_officer, person
):
    card = apply_for(card_officer, person)
    card_services.card_approve(actor=second_officer, card=card)
    put_at_outlet(card, outlet, 1)
    card_services.card_hand_over(
        actor=card_officer, card=card, presented_id_number=person.id_number
    )
    today = timezone.localdate()
    figures = distribution_figures(approved_area.code, today.year, today)
    this_month = next(r for r in figures.rows if r.key == outlet.code and r.month == today.month)
    assert this_month.actual == 1
    assert figures.plan is None and this_month.target is None


# --- application design ------------------------------------------------------------------


def test_applications_are_counted_by_channel_against_the_design(area, admin):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="application",
        valid_from=JANUARY,
        channels={"counter": 4, "online": 10, "instant": 5},
    )
    when = local(dt.date(2026, 3, 2))
    for channel, count in ((Channel.COUNTER, 2), (Channel.ONLINE, 5), (Channel.EMPLOYER, 1)):
        for _ in range(count):
            card = make_card(person_in(area), "applied", submitted_by=admin, channel=channel)
            type(card).objects.filter(pk=card.pk).update(submitted_at=when)
    # A temporary card is no application; an application of 2025 is another year's.
    temporary = make_card(
        person_in(area), "issued", submitted_by=admin, kind=CardKind.TEMPORARY, account_class=None
    )
    type(temporary).objects.filter(pk=temporary.pk).update(submitted_at=when)
    old = make_card(person_in(area), "applied", submitted_by=admin)
    type(old).objects.filter(pk=old.pk).update(submitted_at=local(dt.date(2025, 12, 31)))

    with translation.override("en"):
        figures = application_figures(area.code, 2026, YEAR_END)

    rows = {row.key: row for row in figures.rows}
    assert (rows["counter"].target, rows["counter"].actual, rows["counter"].percent) == (
        4,
        2,
        Decimal("50"),
    )
    assert rows["online"].percent == Decimal("50")
    assert rows["employer"].detail == {"offered": False}
    assert rows["employer"].target is None and rows["employer"].actual == 1
    assert rows["instant"].target == 5 and rows["instant"].actual is None
    assert "1 applications came by Employer on behalf of staff, which the plan does not offer." in (
        figures.notes
    )
    total = figures.totals[0]
    assert (total.target, total.actual) == (19, 8)


def total_of(figures, measure):
    row = figures.total(measure)
    assert row is not None, measure
    return row


# --- cost -------------------------------------------------------------------------------


def test_actual_cost_is_cards_produced_times_the_vendors_unit_cost(area, admin):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="cost",
        valid_from=JANUARY,
        budget_per_card="20.00",
        budget_total="1200.00",
        expected_fee_income="100.00",
        vendor_costs={"金卡科技": "18.50", "华虹": "22"},
    )
    golden = ProductionBatch.objects.create(
        area=area, number="B1", vendor="金卡科技", created_by=admin
    )
    huahong = ProductionBatch.objects.create(
        area=area, number="B2", vendor="华虹", created_by=admin
    )
    unknown = ProductionBatch.objects.create(
        area=area, number="B3", vendor="新厂", created_by=admin
    )
    produced(area, golden, dt.date(2026, 2, 10), actor=admin, count=4)
    produced(area, huahong, dt.date(2026, 6, 1), actor=admin, count=2)
    produced(area, unknown, dt.date(2026, 6, 2), actor=admin, count=1)
    produced(area, golden, dt.date(2025, 12, 31), actor=admin, count=5)  # last year's
    fee_card = make_card(person_in(area), "applied", submitted_by=admin)
    CardFee.objects.create(
        area=area,
        card=fee_card,
        reason="loss",
        amount=Decimal("20.00"),
        status=FeeStatus.PAID,
        handled_by=admin,
        cashier=admin,
        receipt_number="320100-20260301-000001",
        paid_at=local(dt.date(2026, 3, 1)),
    )

    figures = cost_figures(area.code, 2026, YEAR_END)

    vendors = {r.key: r for r in figures.rows if r.measure == "cost" and r.month is None}
    assert vendors["金卡科技"].actual == Decimal("74.00")  # 4 × 18.50
    assert vendors["华虹"].actual == Decimal("44.00")  # 2 × 22.00
    assert vendors["新厂"].actual is None and vendors["新厂"].detail["produced"] == 1
    assert any("新厂" in note for note in figures.notes)
    cost = total_of(figures, "cost")
    assert (cost.target, cost.actual) == (Decimal("1200.00"), Decimal("118.00"))
    # 118.00 over the 6 cards with a known cost.
    assert total_of(figures, "cost_per_card").actual == Decimal("19.67")
    assert total_of(figures, "produced").actual == 7
    assert total_of(figures, "fee_income").actual == Decimal("20.00")
    assert total_of(figures, "fee_income").percent == Decimal("20")
    months = {r.month: r for r in figures.by_month("cost")}
    assert months[1].actual == 0 and months[2].actual == Decimal("74.00")
    assert months[6].actual == Decimal("118.00") and months[6].target == Decimal("600.00")


# --- information collection ------------------------------------------------------------


def _photo_application(person, admin, day):
    card = make_card(person, "applied", submitted_by=admin)
    type(card).objects.filter(pk=card.pk).update(submitted_at=local(day))
    CardPhoto.objects.create(card=card, area_id=person.area_id, jpeg=b"jpeg", sha256="x")
    return card


def test_collection_counts_complete_persons_with_a_photo_cumulatively_by_month(area, admin):
    services.plan_set(
        actor=admin,
        area=area,
        year=2026,
        kind="collection",
        valid_from=JANUARY,
        target_population=10,
        collection_targets={1: 2, 3: 4, 12: 10},
    )
    # Collected in 2025: counts from the start of 2026.
    _photo_application(person_in(area), admin, dt.date(2025, 11, 1))
    # Two in March 2026; one of them applied again in May (counted once, in March).
    twice = person_in(area)
    _photo_application(twice, admin, dt.date(2026, 3, 3))
    _photo_application(twice, admin, dt.date(2026, 5, 3))
    _photo_application(person_in(area), admin, dt.date(2026, 3, 20))
    # Not collected: no phone; no address; an application without a photo.
    _photo_application(person_in(area, phone=""), admin, dt.date(2026, 3, 3))
    _photo_application(person_in(area, address=""), admin, dt.date(2026, 3, 3))
    make_card(person_in(area), "applied", submitted_by=admin)

    figures = collection_figures(area.code, 2026, dt.date(2026, 6, 30))

    months = {r.month: r for r in figures.by_month("collected")}
    assert (months[1].target, months[1].actual, months[1].percent) == (2, 1, Decimal("50"))
    assert months[2].target is None and months[2].actual == 1
    assert (months[3].target, months[3].actual, months[3].percent) == (4, 3, Decimal("75"))
    assert months[3].detail == {"new": 2}
    assert months[6].actual == 3 and months[7].actual is None
    total = total_of(figures, "collected")
    assert (total.target, total.actual, total.percent) == (10, 3, Decimal("30"))


def test_without_a_plan_the_actuals_stand_alone(area, admin, outlet):
    handed_over(area, outlet, dt.date(2026, 11, 5), actor=admin, count=2)
    figures = distribution_figures(area.code, 2026, YEAR_END)
    assert figures.plan is None
    total = figures.totals[-1]
    assert (total.target, total.actual, total.percent) == (None, 2, None)
