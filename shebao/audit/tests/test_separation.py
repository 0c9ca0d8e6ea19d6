"""Separation of duties: every rule of the table refuses the one officer doing both
duties, and lets two officers do them."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from shebao.audit import alerts, sampling
from shebao.audit.controls import SEPARATION_RULES, separation_rule
from shebao.audit.models import Alert, AlertKind, AlertStatus, AuditEvent, SampleVerdict
from shebao.cards import fees, production, services
from shebao.cards.models import CardFee, CardKind, CardState, ReplacementReason
from shebao.cards.photo import sample_photo
from shebao.cards.testing import apply_for, make_card
from shebao.core.errors import Forbidden
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db


def refused(rule_code, call):
    with pytest.raises(Forbidden) as caught:
        call()
    assert caught.value.code == separation_rule(rule_code).error_code
    return caught.value


def test_it_names_a_real_function_and_a_test_for_every_rule():
    here = sys.modules[__name__]
    for rule in SEPARATION_RULES:
        assert callable(import_string(rule.enforced_in)), rule.code
        assert hasattr(here, "test_" + rule.code.replace(".", "_")), rule.code


def test_card_submitter_not_approver(card_officer, second_officer, person):
    card = apply_for(card_officer, person)
    refused(
        "card.submitter_not_approver", lambda: services.card_approve(actor=card_officer, card=card)
    )
    assert services.card_approve(actor=second_officer, card=card).state == CardState.APPROVED


def lost_and_replaced(officer, person):
    old = make_card(person, CardState.FORMAL_LOSS, submitted_by=officer)
    return services.card_apply(
        actor=officer,
        person=person,
        kind=CardKind.REPLACEMENT,
        replaces=old,
        reason=ReplacementReason.LOSS,
        account_class=2,
        bank="ICBC",
        photo=sample_photo(),
        phone="13800000000",
        address="南京市玄武区中山路1号",
    )


def test_fee_applicant_not_cashier(card_officer, cashier, person):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    # The officer who took the application is moved to the cash desk.
    card_officer.role = "cashier"
    card_officer.save(update_fields=["role"])
    refused("fee.applicant_not_cashier", lambda: fees.fee_pay(actor=card_officer, fee=fee))
    assert fees.fee_pay(actor=cashier, fee=fee).status == "paid"


def test_fee_applicant_not_waiver(area, area_admin, card_officer, person):
    from conftest import make_user
    from shebao.accounts.roles import Role

    fee = CardFee.objects.get(card=lost_and_replaced(area_admin, person))
    refused(
        "fee.applicant_not_waiver",
        lambda: fees.fee_waive(actor=area_admin, fee=fee, reason="低保户"),
    )
    other_admin = make_user("areaadmin2", Role.AREA_ADMIN, area)
    assert fees.fee_waive(actor=other_admin, fee=fee, reason="低保户").status == "waived"


def received_by(officer, person, outlet):
    """A card shipped to the outlet and received into its stock by `officer`."""
    card = make_card(person, CardState.SHIPPED, submitted_by=officer, outlet=outlet)
    report = production.outlet_receive(
        actor=officer, outlet=outlet, card_numbers=[card.card_number or ""]
    )
    assert report.count == 1
    card.refresh_from_db()
    return card


def test_card_custodian_not_issuer(card_officer, second_officer, person, outlet):
    card = received_by(card_officer, person, outlet)
    error = refused(
        "card.custodian_not_issuer",
        lambda: services.card_hand_over(
            actor=card_officer, card=card, presented_id_number=person.id_number
        ),
    )
    with translation.override("en"):
        assert "another officer must hand it over" in error.message
    assert not AuditEvent.objects.filter(action="card.hand_over").exists()
    handed = services.card_hand_over(
        actor=second_officer, card=card, presented_id_number=person.id_number
    )
    assert handed.state == CardState.ISSUED


def test_an_area_can_switch_the_custodian_rule_off(area, area_admin, card_officer, person, outlet):
    rule = separation_rule("card.custodian_not_issuer")
    assert rule.setting is not None
    area_setting_set(
        actor=area_admin, area=area, key=rule.setting, value=False, valid_from=timezone.localdate()
    )
    card = received_by(card_officer, person, outlet)
    handed = services.card_hand_over(
        actor=card_officer, card=card, presented_id_number=person.id_number
    )
    assert handed.state == CardState.ISSUED


def test_the_approval_checklist_sees_the_custodian_setting(area, area_admin):
    from shebao.approval.checks import CHECKS, run_check

    check = CHECKS["d.internal_control"]
    assert run_check(check, area).ok
    area_setting_set(
        actor=area_admin,
        area=area,
        key="stock_handover_separation",
        value=False,
        valid_from=timezone.localdate(),
    )
    result = run_check(check, area)
    assert not result.ok and "stock_handover_separation" in result.detail


def test_alert_subject_not_handler(area, auditor, auditor_b):
    alert = Alert.objects.create(
        area=area,
        kind=AlertKind.OUT_OF_HOURS,
        subject=f"user:{auditor.pk}",
        day=timezone.localdate(),
        raised_at=timezone.now(),
    )
    refused(
        "alert.subject_not_handler",
        lambda: alerts.alert_acknowledge(actor=auditor, alert=alert, note="我自己加班"),
    )
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    alerts.alert_acknowledge(actor=auditor_b, alert=alert, note="核实为年底加班")
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.ACKNOWLEDGED


def test_sample_actor_not_checker(area, auditor, auditor_b, owner, clock):
    clock("2026-11-23 10:00")  # a Monday
    from shebao.registry.services import person_register

    person_register(actor=owner, area=area, id_number="11010519491231002X", name="李秀英")
    # The first auditor acts that day too (their own sample of an earlier day).
    clock("2026-11-23 11:00")
    alert = Alert.objects.create(
        area=area,
        kind=AlertKind.OUT_OF_HOURS,
        subject=f"user:{owner.pk}",
        day=dt.date(2026, 11, 22),
        raised_at=timezone.now(),
    )
    alerts.alert_acknowledge(actor=auditor, alert=alert)
    clock("2026-11-24 09:00")
    day = dt.date(2026, 11, 23)
    sample = sampling.sample_draw(
        actor=auditor_b, area=area, period_start=day, period_end=day, size=10
    )
    items = {item.event.actor_id: item for item in sample.items.select_related("event")}
    assert set(items) == {owner.pk, auditor.pk}
    refused(
        "sample.actor_not_checker",
        lambda: sampling.sample_mark(actor=auditor, item=items[auditor.pk], verdict="ok"),
    )
    marked = sampling.sample_mark(actor=auditor_b, item=items[auditor.pk], verdict="ok")
    assert marked.verdict == SampleVerdict.OK
    # The drawer's own actions are never drawn: auditor_b's draw is not in the next sample.
    clock("2026-11-25 09:00")
    later = sampling.sample_draw(
        actor=auditor_b,
        area=area,
        period_start=day,
        period_end=dt.date(2026, 11, 24),
        size=50,
    )
    assert auditor_b.pk not in set(later.items.values_list("event__actor_id", flat=True))
    assert later.population == sample.population
