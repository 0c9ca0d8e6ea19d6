"""Card services, worked examples from DOMAIN.md §2 read as the domain does."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone, translation

from shebao.cards import services
from shebao.cards.lifecycle import effective_state
from shebao.cards.models import Card, CardEvent, CardFee, CardState
from shebao.cards.photo import sample_photo
from shebao.cards.testing import apply_for, make_card, put_at_outlet
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import Person
from shebao.registry.services import area_setting_set
from shebao.registry.workdays import WorkCalendar

pytestmark = pytest.mark.django_db
PHOTO = sample_photo()


def apply(officer, person, **overrides):
    return apply_for(officer, person, **overrides)


def to_outlet(card, outlet, number):
    return put_at_outlet(card, outlet, number, prefix="B")


# --- applications ------------------------------------------------------------


def test_an_application_needs_photo_contact_and_address(card_officer, person):
    with pytest.raises(InvalidInput) as caught:
        apply(card_officer, person, photo=None)
    assert caught.value.field == "photo"
    with pytest.raises(InvalidInput) as caught:
        apply(card_officer, person, phone=" ")
    assert caught.value.field == "phone"
    with pytest.raises(InvalidInput) as caught:
        apply(card_officer, person, address="")
    assert caught.value.field == "address"


def test_a_photo_of_the_wrong_size_is_refused_with_its_size(card_officer, person):
    wrong = PHOTO.replace(
        (441).to_bytes(2, "big") + (358).to_bytes(2, "big"),
        (480).to_bytes(2, "big") + (640).to_bytes(2, "big"),
    )
    with pytest.raises(InvalidInput) as caught:
        apply(card_officer, person, photo=wrong)
    assert caught.value.code == "photo_size"
    with translation.override("en"):
        assert "640×480" in caught.value.message and "358×441" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        apply(card_officer, person, photo=b"GIF89a....")
    assert caught.value.code == "photo_not_jpeg"


def test_one_application_at_a_time(card_officer, person):
    apply(card_officer, person)
    with pytest.raises(Conflict) as caught:
        apply(card_officer, person, account_class=3)
    assert caught.value.code == "application_pending"


def test_a_holder_of_a_valid_card_applies_for_replacement_not_a_first_card(card_officer, person):
    make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    with pytest.raises(Conflict) as caught:
        apply(card_officer, person)
    assert caught.value.code == "card_already_held"


def test_the_submitter_never_approves(card_officer, second_officer, person):
    card = apply(card_officer, person)
    with pytest.raises(Forbidden) as caught:
        services.card_approve(actor=card_officer, card=card)
    assert caught.value.code == "same_officer"
    services.card_approve(actor=second_officer, card=card)
    assert card.state == CardState.APPROVED
    assert card.approved_by == second_officer
    assert card.due_on is not None and card.due_on > timezone.localdate()


def test_the_issuance_time_limit_counts_working_days_past_the_areas_holidays(
    card_officer, second_officer, area_admin, person, area
):
    today = timezone.localdate()
    plain = WorkCalendar.of(area.code, today).after(today, 12)
    holidays = ",".join(str(today + dt.timedelta(days=n)) for n in range(1, 8))
    area_setting_set(
        actor=area_admin,
        area=area,
        key="public_holidays",
        value=holidays,
        valid_from=today - dt.timedelta(days=1),
    )
    card = services.card_approve(actor=second_officer, card=apply(card_officer, person))
    calendar = WorkCalendar.of(area.code, today)
    assert card.due_on == calendar.after(today, 12) > plain
    assert sum(calendar.is_working(today + dt.timedelta(days=n)) for n in range(1, 8)) == 0


def test_a_holder_applies_online_and_an_employer_for_its_staff(
    individual, employer_user, person, employment
):
    card = apply(individual, person)
    assert card.channel == "online"
    services.card_withdraw(actor=individual, card=card)
    card = apply(employer_user, person)
    assert card.channel == "employer"


def test_an_employer_cannot_apply_for_someone_it_does_not_employ(employer_user, area):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    with pytest.raises(Forbidden):
        apply(employer_user, other)


def test_bulk_applications_keep_the_good_rows(employer_user, person, employment):
    rows = [
        {
            "id_number": person.id_number,
            "account_class": 2,
            "bank": "ICBC",
            "photo": PHOTO,
            "phone": "13800000000",
            "address": "南京市",
        },
        {
            "id_number": "11010519491231002X",
            "account_class": 2,
            "bank": "ICBC",
            "photo": PHOTO,
            "phone": "1",
            "address": "x",
        },
        {
            "id_number": "110105194912310021",
            "account_class": 2,
            "bank": "ICBC",
            "photo": PHOTO,
            "phone": "1",
            "address": "x",
        },
    ]
    results = services.card_apply_bulk(actor=employer_user, rows=rows)
    assert [r["ok"] for r in results] == [True, False, False]
    assert results[1]["code"] == "person_unknown"
    assert results[2]["code"] == "id_number_check"
    assert Card.objects.filter(person=person).count() == 1


# --- account classes: the seed's rule ---------------------------------------


def test_a_card_is_downgraded_in_place(card_officer, person):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer, account_class=1)
    services.card_downgrade(actor=card_officer, card=card, account_class=3)
    assert card.account_class == 3 and card.state == CardState.ACTIVE
    event = CardEvent.objects.get(card=card, operation="downgrade")
    assert event.detail == {"from": 1, "to": 3}
    with pytest.raises(InvalidInput) as caught:
        services.card_downgrade(actor=card_officer, card=card, account_class=2)
    assert caught.value.code == "not_a_downgrade"


def test_an_upgrade_is_refused_in_place_then_granted_by_a_new_card(
    card_officer, second_officer, person, outlet
):
    old = make_card(person, CardState.ACTIVE, submitted_by=card_officer, account_class=2)
    with pytest.raises(Conflict) as caught:
        services.card_upgrade(actor=card_officer, card=old, account_class=1)
    refusal = caught.value
    assert refusal.code == "upgrade_needs_new_card"
    with translation.override("en"):
        assert refusal.message.startswith("Class upgrades need a new card; apply for a Class I")
    assert refusal.detail["apply"] == {
        "kind": "type_change",
        "replaces": old.pk,
        "account_class": 1,
        "bank": "ICBC",
    }
    assert Card.objects.get(pk=old.pk).account_class == 2

    new = apply(card_officer, person, kind="type_change", replaces=old, account_class=1)
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 1)
    assert Card.objects.get(pk=old.pk).state == CardState.ACTIVE  # usable until the new one
    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    old.refresh_from_db()
    assert (new.state, new.account_class, new.replaces_id) == (CardState.ISSUED, 1, old.pk)
    assert (old.state, old.cancel_reason) == (CardState.CANCELLED, "type_changed")


def test_where_the_area_allows_it_an_upgrade_happens_in_place(
    area_admin, card_officer, person, area
):
    area_setting_set(
        actor=area_admin,
        area=area,
        key="in_place_upgrade",
        value=True,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
    )
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer, account_class=3)
    services.card_upgrade(actor=card_officer, card=card, account_class=1)
    assert card.account_class == 1


def test_one_class_i_account_per_person_per_bank_holds_across_areas(
    card_officer, person, other_area, stranger
):
    elsewhere = Person.objects.create(
        area=other_area,
        id_number=person.id_number,
        name=person.name,
        birth_date=person.birth_date,
        sex=person.sex,
        registered_on=dt.date(2001, 1, 1),
    )
    make_card(elsewhere, CardState.ACTIVE, submitted_by=stranger, account_class=1, bank="ICBC")
    with pytest.raises(Conflict) as caught:
        apply(card_officer, person, account_class=1, bank="ICBC")
    assert caught.value.code == "class_i_per_bank"
    assert caught.value.field == "account_class"
    assert apply(card_officer, person, account_class=1, bank="BOC").state == CardState.APPLIED


def test_an_in_place_upgrade_respects_the_class_i_rule_too(area_admin, card_officer, person, area):
    area_setting_set(
        actor=area_admin,
        area=area,
        key="in_place_upgrade",
        value=True,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
    )
    today = timezone.localdate()
    held = make_card(
        person,
        CardState.ACTIVE,
        submitted_by=card_officer,
        account_class=2,
        bank="ICBC",
        valid_to=today + dt.timedelta(days=30),
    )
    apply(card_officer, person, kind="renewal", replaces=held, account_class=1, bank="ICBC")
    with pytest.raises(Conflict) as caught:
        services.card_upgrade(actor=card_officer, card=held, account_class=1)
    assert caught.value.code == "class_i_per_bank"


def test_the_database_holds_one_valid_card_per_person_and_area(card_officer, person):
    from django.db import IntegrityError, transaction

    make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_card(person, CardState.ISSUED, submitted_by=card_officer)
    make_card(person, CardState.CANCELLED, submitted_by=card_officer)  # history is fine


# --- losses, PIN, activation --------------------------------------------------


def test_a_temporary_loss_lapses_by_itself_after_the_area_days(card_officer, individual, person):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    services.card_report_temporary_loss(actor=individual, card=card)
    reported = timezone.now()
    today = timezone.localdate()
    day_10 = reported + dt.timedelta(days=10) - dt.timedelta(seconds=1)
    day_11 = reported + dt.timedelta(days=10, seconds=1)
    assert effective_state(card, day_10, today) == CardState.TEMPORARY_LOSS
    assert effective_state(card, day_11, today) == CardState.ACTIVE
    # Past the lapse, the next operation finds an active card without any job run.
    Card.objects.filter(pk=card.pk).update(loss_lapses_at=timezone.now() - dt.timedelta(seconds=1))
    card.refresh_from_db()
    services.card_report_temporary_loss(actor=individual, card=card)
    operations = list(CardEvent.objects.filter(card=card).values_list("operation", flat=True))
    assert operations == ["temporary_loss", "loss_lapsed", "temporary_loss"]


def test_the_area_sets_the_temporary_loss_days(area_admin, card_officer, person, area):
    area_setting_set(
        actor=area_admin,
        area=area,
        key="temporary_loss_days",
        value=5,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
    )
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    services.card_report_temporary_loss(actor=card_officer, card=card)
    assert card.loss_lapses_at is not None
    days = (card.loss_lapses_at - timezone.now()).total_seconds() / 86400
    assert 4.99 < days <= 5


def test_a_formal_loss_cannot_be_unfrozen(card_officer, person):
    card = make_card(person, CardState.TEMPORARY_LOSS, submitted_by=card_officer)
    services.card_report_formal_loss(
        actor=card_officer, card=card, presented_id_number=person.id_number
    )
    with pytest.raises(Conflict) as caught:
        services.card_unfreeze(actor=card_officer, card=card)
    assert caught.value.code == "invalid_transition"
    with translation.override("en"):
        assert "apply for a replacement" in caught.value.message


def test_six_wrong_pins_lock_the_card_and_the_counter_unlocks_it(card_officer, person):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    for _ in range(5):
        services.card_pin_failure(actor=card_officer, card=card)
    assert card.state == CardState.ACTIVE and card.pin_failures == 5
    services.card_pin_failure(actor=card_officer, card=card)
    assert card.state == CardState.PIN_LOCKED
    with pytest.raises(Forbidden):
        services.card_pin_unlock(
            actor=card_officer, card=card, presented_id_number="11010519491231002X"
        )
    services.card_pin_unlock(actor=card_officer, card=card, presented_id_number=person.id_number)
    assert (card.state, card.pin_failures) == (CardState.ACTIVE, 0)


def test_a_guardian_activates_the_card_of_a_child(card_officer, area):
    from shebao.registry.identifiers import make_identity_number

    born = timezone.localdate() - dt.timedelta(days=10 * 365)
    child = Person.objects.create(
        area=area,
        id_number=make_identity_number("320102", born, 12),
        name="王小明",
        birth_date=born,
        sex="F",
        registered_on=timezone.localdate(),
    )
    card = make_card(child, CardState.ISSUED, submitted_by=card_officer)
    with pytest.raises(InvalidInput) as caught:
        services.card_activate(actor=card_officer, card=card)
    assert caught.value.field == "guardian_id_number"
    services.card_activate(actor=card_officer, card=card, guardian_id_number="11010519491231002X")
    assert card.state == CardState.ACTIVE


def test_hand_over_checks_the_identity_document(card_officer, person, outlet):
    card = make_card(person, CardState.AT_OUTLET, submitted_by=card_officer, outlet=outlet)
    with pytest.raises(Forbidden) as caught:
        services.card_hand_over(
            actor=card_officer, card=card, presented_id_number="11010519491231002X"
        )
    assert caught.value.code == "identity_mismatch"
    services.card_hand_over(actor=card_officer, card=card, presented_id_number=person.id_number)
    assert card.state == CardState.ISSUED


# --- replacement, renewal, cancellation ---------------------------------------


def test_a_lost_card_is_replaced_with_a_new_number_and_a_fee(
    card_officer, second_officer, person, outlet
):
    old = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    with pytest.raises(Conflict) as caught:
        apply(card_officer, person, kind="replacement", replaces=old, reason="loss")
    assert caught.value.code == "replacement_not_allowed"  # report the loss formally first
    services.card_report_formal_loss(
        actor=card_officer, card=old, presented_id_number=person.id_number
    )
    new = apply(card_officer, person, kind="replacement", replaces=old, reason="loss")
    fee = CardFee.objects.get(card=new)
    assert (fee.amount, fee.status) == (20, "due")
    services.card_approve(actor=second_officer, card=new)
    to_outlet(new, outlet, 7)
    with pytest.raises(Conflict) as caught:
        services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    assert caught.value.code == "fee_unpaid"
    CardFee.objects.filter(pk=fee.pk).update(
        status="paid", receipt_number="R1", cashier=second_officer, paid_at=timezone.now()
    )
    services.card_hand_over(actor=card_officer, card=new, presented_id_number=person.id_number)
    old.refresh_from_db()
    assert new.card_number != old.card_number
    assert (old.state, old.cancel_reason) == (CardState.CANCELLED, "replaced")
    with pytest.raises(Conflict):
        services.card_activate(actor=card_officer, card=old)  # dead for ever


def test_a_replacement_for_a_quality_fault_is_free(card_officer, person):
    old = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    new = apply(card_officer, person, kind="replacement", replaces=old, reason="quality_fault")
    assert not CardFee.objects.filter(card=new).exists()


def test_renewal_opens_60_days_before_expiry(card_officer, person):
    today = timezone.localdate()
    far = make_card(
        person, CardState.ACTIVE, submitted_by=card_officer, valid_to=today + dt.timedelta(days=61)
    )
    with pytest.raises(Conflict) as caught:
        apply(card_officer, person, kind="renewal", replaces=far)
    assert caught.value.code == "renewal_not_open"
    Card.objects.filter(pk=far.pk).update(valid_to=today + dt.timedelta(days=60))
    far.refresh_from_db()
    assert apply(card_officer, person, kind="renewal", replaces=far).state == CardState.APPLIED


def test_cancellation_needs_one_of_the_legal_reasons(card_officer, person):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    with pytest.raises(InvalidInput):
        services.card_cancel(actor=card_officer, card=card, reason="bored")
    services.card_cancel(actor=card_officer, card=card, reason="death")
    assert (card.state, card.cancel_reason) == (CardState.CANCELLED, "death")


def test_a_temporary_card_has_no_financial_function(card_officer, person, outlet):
    card = services.card_issue_temporary(actor=card_officer, person=person, outlet=outlet)
    assert card.account_class is None and card.bank == "" and card.state == CardState.ISSUED
    assert card.valid_to == timezone.localdate() + dt.timedelta(days=60)
    assert card.card_number and len(card.card_number) == 9


def test_a_frozen_card_refuses_everything_but_cancellation(card_officer, person):
    card = make_card(
        person,
        CardState.ACTIVE,
        submitted_by=card_officer,
        frozen_at=timezone.now(),
        frozen_reason="batch recall",
    )
    with pytest.raises(Conflict) as caught:
        services.card_report_temporary_loss(actor=card_officer, card=card)
    assert caught.value.code == "card_frozen"


def test_a_holder_acts_only_on_their_own_card(individual, card_officer, area):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    card = make_card(other, CardState.ACTIVE, submitted_by=card_officer)
    with pytest.raises(Forbidden):
        services.card_report_temporary_loss(actor=individual, card=card)


def test_a_stale_version_is_a_conflict(card_officer, second_officer, person):
    card = apply(card_officer, person)
    with pytest.raises(Conflict) as caught:
        services.card_approve(actor=second_officer, card=card, expected_version=0)
    assert caught.value.code == "stale_card"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_two_officers_acting_at_once_exactly_one_succeeds(card_officer, second_officer, person):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(officer):
        try:
            barrier.wait()
            services.card_report_formal_loss(
                actor=officer,
                card=Card.objects.get(pk=card.pk),
                presented_id_number=person.id_number,
            )
            outcomes.append("ok")
        except Conflict as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(o,)) for o in (card_officer, second_officer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["invalid_transition", "ok"]
    assert CardEvent.objects.filter(card=card, operation="formal_loss").count() == 1


def test_a_withdrawn_replacement_owes_no_fee(card_officer, person):
    old = make_card(person, CardState.FORMAL_LOSS, submitted_by=card_officer)
    new = apply(card_officer, person, kind="replacement", replaces=old, reason="loss")
    services.card_withdraw(actor=card_officer, card=new)
    fee = CardFee.objects.get(card=new)
    assert (fee.status, fee.waive_reason, fee.waived_by) == (
        "waived",
        "application withdrawn",
        card_officer,
    )
