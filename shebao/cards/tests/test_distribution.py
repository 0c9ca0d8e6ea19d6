"""Distribution and stock: shipping to outlets, receiving, sealing, returns, counts and the
reconciliation of everything produced."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.cards import production, services
from shebao.cards.bench import approved_cards, result_file, result_rows
from shebao.cards.models import Card, CardEvent, CardState, StockCount
from shebao.cards.testing import make_card
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(approved_area):
    return make_user("cardadmin", Role.AREA_ADMIN, approved_area)


@pytest.fixture
def second_outlet(approved_area):
    return approved_area.outlets.create(code="GL002", name="鼓楼区社会保险服务大厅")


def produce(area, officer, approver, count, first=0):
    """`count` cards made by the vendor, through the real round trip; returns batch and cards."""
    approved_cards(area, count, submitted_by=officer, approved_by=approver, first=first)
    batch = production.batch_create(actor=officer, area=area)
    "".join(production.batch_export(actor=officer, batch=batch, file_format="csv"))
    batch.refresh_from_db()
    data = result_file(result_rows(batch, first_number=first))
    production.batch_import(actor=officer, batch=batch, data=data, file_format="csv")
    return batch, list(Card.objects.filter(batch=batch).order_by("pk"))


@pytest.fixture
def made(approved_area, card_officer, second_officer):
    return produce(approved_area, card_officer, second_officer, 4)


def audited(action):
    """The `after` of the latest audit event of this action."""
    return AuditEvent.objects.filter(action=action).latest("seq").after or {}


def numbers(cards):
    return [card.card_number for card in cards]


def refused(report):
    return [(r.card_number, r.code) for r in report.rejected]


def test_it_ships_a_batch_to_an_outlet_and_the_outlet_receives_the_cards(
    card_officer, outlet, made
):
    batch, cards = made
    report = production.batch_ship(actor=card_officer, batch=batch, outlet=outlet)
    assert (report.count, report.rejected) == (4, [])
    assert {(c.state, c.outlet_id) for c in Card.objects.filter(batch=batch)} == {
        (CardState.SHIPPED, outlet.pk)
    }
    assert CardEvent.objects.filter(operation="ship").count() == 4
    assert audited("card_batch.ship")["cards"] == 4
    with pytest.raises(Conflict) as caught:
        production.batch_ship(actor=card_officer, batch=batch, outlet=outlet)
    assert caught.value.code == "nothing_to_ship"

    received = production.outlet_receive(
        actor=card_officer, outlet=outlet, card_numbers=[n.lower() for n in numbers(cards[:3])]
    )
    assert (received.count, received.rejected) == (3, [])
    card = Card.objects.get(pk=cards[0].pk)
    assert card.state == CardState.AT_OUTLET and card.received_at is not None
    assert card.version == 6  # batch, produce, ship, receive
    stock = production.outlet_stock(card_officer, outlet)
    assert numbers(stock) == sorted(numbers(cards[:3]))


def test_it_ships_only_the_cards_named_and_reports_the_others(
    approved_area, card_officer, second_officer, outlet, second_outlet, made
):
    batch, cards = made
    _other_batch, others = produce(approved_area, card_officer, second_officer, 1, first=50)
    report = production.batch_ship(
        actor=card_officer,
        batch=batch,
        outlet=outlet,
        card_numbers=[*numbers(cards[:2]), others[0].card_number, "X00000000", "12"],
    )
    assert report.count == 2
    assert refused(report) == [
        (others[0].card_number, "not_in_batch"),
        ("X00000000", "unknown_card"),
        ("12", "card_number_format"),
    ]
    report = production.batch_ship(
        actor=card_officer, batch=batch, outlet=second_outlet, card_numbers=numbers(cards[1:])
    )
    assert report.count == 2 and refused(report) == [(cards[1].card_number, "card_state")]
    received = production.outlet_receive(
        actor=card_officer, outlet=outlet, card_numbers=numbers(cards)
    )
    assert received.count == 2
    assert refused(received) == [
        (cards[2].card_number, "other_outlet"),
        (cards[3].card_number, "other_outlet"),
    ]
    with translation.override("en"):
        again = production.outlet_receive(
            actor=card_officer, outlet=outlet, card_numbers=numbers(cards[:1])
        )
    assert refused(again) == [(cards[0].card_number, "card_state")]
    assert "only a card that is “Shipped to outlet”" in again.rejected[0].message


def test_it_refuses_outlets_of_another_area_or_closed_ones(
    approved_area, other_area, card_officer, stranger, made
):
    batch, _cards = made
    foreign = other_area.outlets.create(code="DC001", name="东城区")
    with pytest.raises(InvalidInput) as caught:
        production.batch_ship(actor=card_officer, batch=batch, outlet=foreign)
    assert caught.value.code == "outlet_area"
    closed = approved_area.outlets.create(code="QH009", name="秦淮区", active=False)
    with pytest.raises(Conflict) as closed_refused:
        production.batch_ship(actor=card_officer, batch=batch, outlet=closed)
    assert closed_refused.value.code == "outlet_inactive"
    with pytest.raises(Forbidden):
        production.batch_ship(actor=stranger, batch=batch, outlet=foreign)


def at_outlet(officer, batch, outlet, cards):
    production.batch_ship(actor=officer, batch=batch, outlet=outlet)
    production.outlet_receive(actor=officer, outlet=outlet, card_numbers=numbers(cards))
    return [Card.objects.get(pk=card.pk) for card in cards]


def test_it_seals_cards_unclaimed_longer_than_the_area_allows(
    approved_area, admin, card_officer, second_officer, outlet, made
):
    batch, cards = made
    cards = at_outlet(card_officer, batch, outlet, cards)
    now = timezone.now()
    Card.objects.filter(pk=cards[0].pk).update(received_at=now - dt.timedelta(days=200))
    Card.objects.filter(pk=cards[1].pk).update(received_at=now - dt.timedelta(days=150))
    assert production.cards_seal_unclaimed(actor=card_officer, area=approved_area) == 1
    assert Card.objects.get(pk=cards[0].pk).state == CardState.SEALED
    assert Card.objects.get(pk=cards[1].pk).state == CardState.AT_OUTLET
    assert audited("card.seal_unclaimed")["months"] == 6

    area_setting_set(
        actor=admin,
        area=approved_area,
        key="unclaimed_seal_months",
        value=3,
        valid_from=timezone.localdate(),
    )
    out = io.StringIO()
    call_command("cards", "seal-unclaimed", "--as", card_officer.username, stdout=out)
    assert "1 unclaimed cards sealed" in out.getvalue()
    assert Card.objects.get(pk=cards[1].pk).state == CardState.SEALED
    # A sealed card is still handed over to its holder.
    holder = Card.objects.select_related("person").get(pk=cards[0].pk)
    services.card_hand_over(  # not the officer who took it into stock (separation)
        actor=second_officer, card=holder, presented_id_number=holder.person.id_number
    )
    assert Card.objects.get(pk=cards[0].pk).state == CardState.ISSUED


def test_it_returns_and_destroys_cards_never_handed_over(
    card_officer, second_officer, owner, outlet, made
):
    batch, cards = made
    cards = at_outlet(card_officer, batch, outlet, cards)
    with pytest.raises(InvalidInput):
        production.card_return(actor=card_officer, card=cards[0], reason="")
    with pytest.raises(Forbidden):
        production.card_return(actor=owner, card=cards[0], reason="超期未领")
    production.card_return(actor=card_officer, card=cards[0], reason="超期未领")
    production.card_destroy(actor=card_officer, card=cards[0], reason="银行确认销毁")
    production.card_destroy(actor=card_officer, card=cards[1], reason="卡面损坏")
    assert Card.objects.get(pk=cards[0].pk).state == CardState.DESTROYED
    assert Card.objects.get(pk=cards[1].pk).state == CardState.DESTROYED
    event = CardEvent.objects.get(card=cards[0], operation="return")
    assert event.detail == {"reason": "超期未领"}
    holder = Card.objects.select_related("person").get(pk=cards[2].pk)
    services.card_hand_over(  # not the officer who took it into stock (separation)
        actor=second_officer, card=holder, presented_id_number=holder.person.id_number
    )
    with pytest.raises(Conflict) as caught:
        production.card_destroy(actor=card_officer, card=holder, reason="x")
    assert caught.value.code == "invalid_transition"


def test_a_frozen_batch_blocks_shipping_receiving_and_hand_over(
    admin, card_officer, second_officer, outlet, made
):
    batch, cards = made
    production.batch_ship(
        actor=card_officer, batch=batch, outlet=outlet, card_numbers=numbers(cards[:2])
    )
    production.outlet_receive(actor=card_officer, outlet=outlet, card_numbers=numbers(cards[:1]))
    production.batch_freeze(actor=admin, batch=batch, reason="卡片芯片缺陷")
    with pytest.raises(Conflict) as caught:
        production.batch_ship(actor=card_officer, batch=batch, outlet=outlet)
    assert caught.value.code == "batch_frozen"
    received = production.outlet_receive(
        actor=card_officer, outlet=outlet, card_numbers=numbers(cards[1:2])
    )
    assert refused(received) == [(cards[1].card_number, "card_frozen")]
    holder = Card.objects.select_related("person").get(pk=cards[0].pk)
    with pytest.raises(Conflict) as caught:
        services.card_hand_over(
            actor=second_officer, card=holder, presented_id_number=holder.person.id_number
        )
    assert caught.value.code == "card_frozen"
    with pytest.raises(Conflict):
        production.card_return(actor=card_officer, card=holder, reason="x")
    production.batch_release(actor=admin, batch=batch)
    services.card_hand_over(  # not the officer who took it into stock (separation)
        actor=second_officer, card=holder, presented_id_number=holder.person.id_number
    )


def test_a_stock_count_lists_missing_and_unexpected_cards(
    card_officer, stranger, person, outlet, made
):
    batch, cards = made
    cards = at_outlet(card_officer, batch, outlet, cards)
    count = production.stock_count(
        actor=card_officer,
        outlet=outlet,
        card_numbers=[*numbers(cards[1:]), " z0000000 1", numbers(cards[1:2])[0]],
    )
    assert count.counted == sorted([*numbers(cards[1:]), "Z00000001"])
    assert count.missing == [cards[0].card_number]
    assert count.unexpected == ["Z00000001"]
    assert count.counted_by == card_officer
    assert audited("stock_count.record")["missing"] == [cards[0].card_number]
    with pytest.raises(InvalidInput) as caught:
        production.stock_count(actor=card_officer, outlet=outlet, card_numbers=["A1"])
    assert caught.value.code == "card_number_format"
    with pytest.raises(Forbidden):
        production.stock_count(actor=stranger, outlet=outlet, card_numbers=[])
    assert list(production.stock_counts_for(card_officer, outlet)) == [count]
    holder = make_user("holder", Role.INDIVIDUAL, outlet.area, person_id=person.pk)
    for read in (production.outlet_stock, production.stock_counts_for):
        with pytest.raises(Forbidden):
            read(holder, outlet)
    assert StockCount.objects.count() == 1


def lines(report):
    return {line.key: line.count for line in report.lines}


def test_the_reconciliation_accounts_for_every_produced_card_and_lists_a_missing_one(
    approved_area, card_officer, second_officer, person, outlet, second_outlet, made
):
    batch, cards = made
    _late_batch, late = produce(approved_area, card_officer, second_officer, 2, first=50)
    at_outlet(card_officer, batch, outlet, cards[:3])  # cards[3] stays in transit
    production.batch_ship(actor=card_officer, batch=_late_batch, outlet=second_outlet)
    holder = Card.objects.select_related("person").get(pk=cards[0].pk)
    services.card_hand_over(  # not the officer who took it into stock (separation)
        actor=second_officer, card=holder, presented_id_number=holder.person.id_number
    )
    production.card_return(actor=card_officer, card=cards[1], reason="超期未领")
    production.card_destroy(
        actor=card_officer, card=Card.objects.get(pk=cards[1].pk), reason="销毁"
    )
    services.card_cancel(actor=card_officer, card=Card.objects.get(pk=late[0].pk), reason="death")
    # The physical count at the outlet does not find cards[2].
    production.stock_count(actor=card_officer, outlet=outlet, card_numbers=[])

    report = production.card_reconciliation(card_officer, area=approved_area)
    assert report.produced == 6
    assert lines(report) == {
        "not_shipped": 0,
        "in_transit": 2,  # cards[3] and late[1]
        "in_stock": 1,
        "handed_over": 1,
        "returned": 0,
        "destroyed": 1,
        "cancelled_before_hand_over": 1,
    }
    assert report.accounted == report.produced
    assert [(d.card_id, d.code) for d in report.discrepancies] == [
        (cards[2].pk, "missing_at_count")
    ]
    assert not report.balanced

    at_the_outlet = production.card_reconciliation(card_officer, area=approved_area, outlet=outlet)
    assert at_the_outlet.produced == 4
    assert lines(at_the_outlet)["in_stock"] == 1
    assert [d.card_number for d in at_the_outlet.discrepancies] == [cards[2].card_number]
    elsewhere = production.card_reconciliation(
        card_officer, area=approved_area, outlet=second_outlet
    )
    assert (elsewhere.produced, elsewhere.discrepancies, elsewhere.balanced) == (2, [], True)

    # Found again and counted: the books and the shelf agree.
    production.stock_count(actor=card_officer, outlet=outlet, card_numbers=[cards[2].card_number])
    assert production.card_reconciliation(card_officer, area=approved_area).balanced


def test_the_reconciliation_lists_cards_that_do_not_fit(
    approved_area, card_officer, person, outlet, made
):
    _batch, cards = made
    stray = make_card(person, CardState.AT_OUTLET, submitted_by=card_officer, outlet=outlet)
    Card.objects.filter(pk=cards[0].pk).update(state=CardState.SHIPPED)  # outlet never set
    production.stock_count(
        actor=card_officer, outlet=outlet, card_numbers=[str(stray.card_number), "Q12345678"]
    )
    with translation.override("en"):
        report = production.card_reconciliation(card_officer, area=approved_area)
    found = {(d.card_number, d.code) for d in report.discrepancies}
    assert found == {
        (stray.card_number, "no_production_record"),
        (cards[0].card_number, "no_outlet"),
        ("Q12345678", "found_at_count"),
    }
    messages = {d.code: d.message for d in report.discrepancies}
    assert "no production result was ever recorded" in messages["no_production_record"]
    assert report.produced == 4 and lines(report)["not_shipped"] == 3
