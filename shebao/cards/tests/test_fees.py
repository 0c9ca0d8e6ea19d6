"""Card fees, worked examples: a lost card is replaced for ¥20, paid at the
cashier's before the new card is handed over, and the day is reconciled."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.cards import fees, services
from shebao.cards.models import Card, CardFee, CardKind, CardState
from shebao.cards.photo import sample_photo
from shebao.cards.testing import apply_for, make_card, put_at_outlet
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import Person
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db
PHOTO = sample_photo()


def apply(officer, person, **overrides):
    return apply_for(officer, person, **overrides)


def to_outlet(card, outlet, number):
    return put_at_outlet(card, outlet, number, prefix="F")


def lost_and_replaced(officer, person, reason="loss"):
    """The holder's card, reported lost formally, and the replacement applied for."""
    old = make_card(person, CardState.ACTIVE, submitted_by=officer)
    if reason == "loss":
        services.card_report_formal_loss(
            actor=officer, card=old, presented_id_number=person.id_number
        )
    return apply(officer, person, kind=CardKind.REPLACEMENT, replaces=old, reason=reason)


def today_prefix(area_code="320100"):
    return f"{area_code}-{timezone.localdate():%Y%m%d}-"


def another_person(area, sequence):
    from shebao.registry.identifiers import make_identity_number

    return Person.objects.create(
        area=area,
        id_number=make_identity_number("320106", dt.date(1990, 1, 1), sequence),
        name=f"李{sequence}",
        birth_date=dt.date(1990, 1, 1),
        sex="M" if sequence % 2 else "F",
        registered_on=dt.date(2010, 1, 1),
    )


# --- the worked example, end to end -----------------------------------------


def test_a_lost_card_is_replaced_for_20_yuan_paid_before_hand_over(
    card_officer, second_officer, cashier, person, outlet
):
    new = lost_and_replaced(card_officer, person)
    fee = CardFee.objects.get(card=new)
    assert (fee.amount, fee.status, fee.handled_by) == (Decimal("20.00"), "due", card_officer)
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 1)

    with pytest.raises(Conflict) as caught:
        services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    assert caught.value.code == "fee_unpaid"

    fees.fee_pay(actor=cashier, fee=fee)
    assert fee.status == "paid"
    assert fee.receipt_number == today_prefix() + "000001"
    assert fee.cashier == cashier and fee.paid_at is not None
    event = AuditEvent.objects.get(action="card_fee.pay", subject_id=str(fee.pk))
    assert (event.after or {})["receipt_number"] == fee.receipt_number

    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    new.refresh_from_db()
    assert new.state == CardState.ISSUED
    assert Card.objects.get(pk=new.replaces_id).state == CardState.CANCELLED


def test_a_first_card_is_free(card_officer, person):
    card = apply(card_officer, person)
    assert not CardFee.objects.filter(card=card).exists()


def test_a_damaged_card_costs_the_fee_too(card_officer, person):
    new = lost_and_replaced(card_officer, person, reason="damage")
    assert CardFee.objects.get(card=new).amount == Decimal("20.00")


@pytest.mark.parametrize(
    "reason", ["quality_fault", "added_function", "personal_data_change", "insurance_transfer"]
)
def test_the_free_reasons_cost_nothing_and_the_card_is_handed_over_at_once(
    card_officer, second_officer, person, outlet, reason
):
    new = lost_and_replaced(card_officer, person, reason=reason)
    assert not CardFee.objects.filter(card=new).exists()
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 2)
    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)


def test_the_area_sets_the_fee_and_the_free_reasons(area_admin, card_officer, person, area):
    today = timezone.localdate()
    area_setting_set(
        actor=area_admin, area=area, key="replacement_fee", value="25.5", valid_from=today
    )
    new = lost_and_replaced(card_officer, person, reason="damage")
    assert CardFee.objects.get(card=new).amount == Decimal("25.50")

    other = another_person(area, 11)
    area_setting_set(
        actor=area_admin,
        area=area,
        key="fee_free_reasons",
        value="quality_fault,damage",
        valid_from=today,
    )
    assert not CardFee.objects.filter(
        card=lost_and_replaced(card_officer, other, reason="damage")
    ).exists()


# --- paying -----------------------------------------------------------------


def test_receipt_numbers_run_per_area_and_day(card_officer, cashier, person, area, other_area):
    first = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    second_person = another_person(area, 13)
    second = CardFee.objects.get(card=lost_and_replaced(card_officer, second_person))
    # Yesterday's receipts do not count towards today's sequence.
    yesterday = timezone.now() - dt.timedelta(days=1)
    old_card = make_card(another_person(area, 15), CardState.ISSUED, submitted_by=card_officer)
    CardFee.objects.create(
        area=area,
        card=old_card,
        reason="loss",
        amount=Decimal("20.00"),
        handled_by=card_officer,
        status="paid",
        cashier=cashier,
        paid_at=yesterday,
        receipt_number=f"320100-{timezone.localdate(yesterday):%Y%m%d}-000007",
    )
    fees.fee_pay(actor=cashier, fee=first)
    fees.fee_pay(actor=cashier, fee=second)
    assert first.receipt_number == today_prefix() + "000001"
    assert second.receipt_number == today_prefix() + "000002"


def test_paying_twice_is_a_conflict_naming_the_receipt(card_officer, cashier, person):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    fees.fee_pay(actor=cashier, fee=fee)
    with pytest.raises(Conflict) as caught:
        fees.fee_pay(actor=cashier, fee=CardFee.objects.get(pk=fee.pk))
    assert caught.value.code == "fee_already_paid"
    with translation.override("en"):
        assert str(fee.receipt_number) in caught.value.message


def test_a_stale_copy_cannot_pay_twice_either(card_officer, cashier, area, person):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    stale = CardFee.objects.get(pk=fee.pk)
    fees.fee_pay(actor=cashier, fee=fee)
    with pytest.raises(Conflict):
        fees.fee_pay(actor=make_user("cashier2", Role.CASHIER, area), fee=stale)


def test_the_officer_who_took_the_application_never_takes_its_money(
    card_officer, second_officer, area, person
):
    new = lost_and_replaced(card_officer, person)
    services.card_approve(actor=second_officer, card=new)
    fee = CardFee.objects.get(card=new)
    # Officers who later move to the cash desk keep their history.
    for officer in (card_officer, second_officer):
        officer.role = Role.CASHIER
        officer.save(update_fields=["role"])
        with pytest.raises(Forbidden) as caught:
            fees.fee_pay(actor=officer, fee=fee)
        assert caught.value.code == "separation_of_duties"
        with translation.override("en"):
            assert "another cashier" in caught.value.message
    assert CardFee.objects.get(pk=fee.pk).status == "due"


def test_only_a_cashier_of_the_area_collects(card_officer, person, other_area, area_admin):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    for someone in (card_officer, area_admin, make_user("c-bj", Role.CASHIER, other_area)):
        with pytest.raises(Forbidden):
            fees.fee_pay(actor=someone, fee=fee)


def test_a_withdrawn_application_is_not_charged(card_officer, cashier, person):
    new = lost_and_replaced(card_officer, person)
    services.card_withdraw(actor=card_officer, card=new)
    with pytest.raises(Conflict) as caught:
        fees.fee_pay(actor=cashier, fee=CardFee.objects.get(card=new))
    assert caught.value.code == "fee_waived"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_two_cashiers_paying_at_once_draw_different_numbers(card_officer, cashier, area, person):
    other_cashier = make_user("cashier2", Role.CASHIER, area)
    paid = [
        CardFee.objects.get(card=lost_and_replaced(card_officer, person)),
        CardFee.objects.get(card=lost_and_replaced(card_officer, another_person(area, 17))),
    ]
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def pay(who, fee):
        try:
            barrier.wait()
            fees.fee_pay(actor=who, fee=CardFee.objects.get(pk=fee.pk))
        except Exception as error:  # the test reports it below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=pay, args=(who, fee))
        for who, fee in zip((cashier, other_cashier), paid, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    numbers = sorted(str(n) for n in CardFee.objects.values_list("receipt_number", flat=True))
    assert numbers == [today_prefix() + "000001", today_prefix() + "000002"]


# --- waiving ----------------------------------------------------------------


def test_the_area_administrator_waives_a_fee_with_a_reason(
    card_officer, second_officer, area_admin, person, outlet
):
    new = lost_and_replaced(card_officer, person)
    fee = CardFee.objects.get(card=new)
    with pytest.raises(InvalidInput) as caught:
        fees.fee_waive(actor=area_admin, fee=fee, reason=" ")
    assert caught.value.field == "reason"
    fees.fee_waive(actor=area_admin, fee=fee, reason="低保户，按规定免收")
    assert CardFee.objects.get(pk=fee.pk).status == "waived"
    event = AuditEvent.objects.get(action="card_fee.waive", subject_id=str(fee.pk))
    assert (event.after or {})["reason"] == "低保户，按规定免收"
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 3)
    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    with pytest.raises(Conflict) as conflict:
        fees.fee_waive(actor=area_admin, fee=fee, reason="again")
    assert conflict.value.code == "fee_not_due"


def test_only_the_area_administrator_waives(card_officer, cashier, auditor, person):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    for someone in (cashier, auditor, card_officer):
        with pytest.raises(Forbidden):
            fees.fee_waive(actor=someone, fee=fee, reason="x")


def test_an_administrator_does_not_waive_the_fee_of_their_own_application(area_admin, person):
    fee = CardFee.objects.get(card=lost_and_replaced(area_admin, person))
    with pytest.raises(Forbidden) as caught:
        fees.fee_waive(actor=area_admin, fee=fee, reason="x")
    assert caught.value.code == "separation_of_duties"


# --- the day's reconciliation -----------------------------------------------


def handed_over_replacement(officer, person, *, fee_status=None):
    """A replacement card handed over today, with its fee in `fee_status` (or none)."""
    from shebao.cards.services import record_event

    card = make_card(
        person,
        CardState.ISSUED,
        submitted_by=officer,
        kind=CardKind.REPLACEMENT,
        replacement_reason="loss",
    )
    record_event(
        actor=officer,
        card=card,
        operation="hand_over",
        from_state=CardState.AT_OUTLET,
        to_state=CardState.ISSUED,
    )
    if fee_status:
        CardFee.objects.create(
            area_id=card.area_id,
            card=card,
            reason="loss",
            amount=Decimal("20.00"),
            handled_by=officer,
            status=fee_status,
        )
    return card


def test_the_day_is_reconciled_per_cashier_with_the_differences(
    card_officer, second_officer, cashier, area, area_admin, auditor, person, outlet
):
    other_cashier = make_user("cashier2", Role.CASHIER, area)
    # Paid and handed over: in order.
    new = lost_and_replaced(card_officer, person)
    paid_1 = fees.fee_pay(actor=cashier, fee=CardFee.objects.get(card=new))
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 4)
    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    # Paid, card not handed over yet: in order too.
    paid_2 = fees.fee_pay(
        actor=other_cashier,
        fee=CardFee.objects.get(card=lost_and_replaced(card_officer, another_person(area, 21))),
    )
    paid_3 = fees.fee_pay(
        actor=cashier,
        fee=CardFee.objects.get(
            card=lost_and_replaced(card_officer, another_person(area, 23), reason="damage")
        ),
    )
    # Still due.
    due = CardFee.objects.get(card=lost_and_replaced(card_officer, another_person(area, 25)))
    # Differences: handed over with the fee due; handed over with no fee at all.
    unpaid = handed_over_replacement(card_officer, another_person(area, 27), fee_status="due")
    missing = handed_over_replacement(card_officer, another_person(area, 29))

    day = timezone.localdate()
    report = fees.fees_daily_reconciliation(actor=cashier, area=area, day=day)
    assert [r.number for r in report.receipts] == [
        paid_1.receipt_number,
        paid_2.receipt_number,
        paid_3.receipt_number,
    ]
    assert report.receipts[0].card_id == new.pk and report.receipts[0].cashier == "cashier"
    assert report.per_cashier == {"cashier": Decimal("40.00"), "cashier2": Decimal("20.00")}
    assert report.total == Decimal("60.00")
    assert {d.fee_id for d in report.due} == {due.pk, unpaid.fee.pk}
    assert report.due_total == Decimal("40.00")
    assert [(d.code, d.card_id) for d in report.differences] == [
        ("handed_over_unpaid", unpaid.pk),
        ("fee_missing", missing.pk),
    ]
    # The administrator and the auditor see the same report; an officer does not.
    assert fees.fees_daily_reconciliation(actor=auditor, area=area, day=day).total == 60
    assert fees.fees_daily_reconciliation(actor=area_admin, area=area, day=day).total == 60
    with pytest.raises(Forbidden):
        fees.fees_daily_reconciliation(actor=card_officer, area=area, day=day)


def test_another_day_has_its_own_receipts(card_officer, cashier, area, person):
    fees.fee_pay(
        actor=cashier, fee=CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    )
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    report = fees.fees_daily_reconciliation(actor=cashier, area=area, day=yesterday)
    assert report.receipts == [] and report.total == Decimal("0.00") and report.per_cashier == {}


def test_a_free_replacement_handed_over_is_no_difference(card_officer, cashier, area, person):
    card = handed_over_replacement(card_officer, person)
    card.replacement_reason = "quality_fault"
    card.save(update_fields=["replacement_reason"])
    report = fees.fees_daily_reconciliation(actor=cashier, area=area, day=timezone.localdate())
    assert report.differences == []


def test_a_withdrawn_application_waives_its_fee_and_a_due_one_left_behind_is_listed(
    card_officer, cashier, area, person
):
    new = lost_and_replaced(card_officer, person)
    services.card_withdraw(actor=card_officer, card=new)
    report = fees.fees_daily_reconciliation(actor=cashier, area=area, day=timezone.localdate())
    assert report.due == [] and report.differences == []
    # Should a fee of an ended application ever be left due, the day's report says so.
    CardFee.objects.filter(card=new).update(status="due")
    report = fees.fees_daily_reconciliation(actor=cashier, area=area, day=timezone.localdate())
    assert [d.code for d in report.differences] == ["fee_of_ended_application"]


def test_a_stranger_does_not_reconcile_another_area(stranger, other_area, area):
    cashier_bj = make_user("c-bj", Role.CASHIER, other_area)
    with pytest.raises(Forbidden):
        fees.fees_daily_reconciliation(actor=cashier_bj, area=area, day=timezone.localdate())
    with pytest.raises(Forbidden):
        fees.fees_daily_reconciliation(actor=stranger, area=area, day=timezone.localdate())


def test_fees_are_seen_by_the_area_staff_who_handle_them(
    card_officer, cashier, auditor, owner, individual, area, other_area, person
):
    fee = CardFee.objects.get(card=lost_and_replaced(card_officer, person))
    for someone in (card_officer, cashier, auditor):
        assert list(fees.fees_for(someone)) == [fee]
    for someone in (owner, individual, make_user("c-bj", Role.CASHIER, other_area)):
        assert list(fees.fees_for(someone)) == []
