"""Card fee endpoints: the cashier collects, the administrator waives, the day
is reconciled; strangers and anonymous callers are refused everywhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.api.tests.test_api import call, fill, fill_payload
from shebao.cards import services
from shebao.cards.models import CardFee, CardKind, CardState
from shebao.cards.photo import sample_photo
from shebao.cards.testing import make_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(area, other_area, stranger, person, card_officer, cashier, area_admin):
    old = make_card(person, CardState.FORMAL_LOSS, submitted_by=card_officer)
    new = services.card_apply(
        actor=card_officer,
        person=person,
        kind=CardKind.REPLACEMENT,
        replaces=old,
        reason="loss",
        account_class=2,
        bank="ICBC",
        photo=sample_photo(),
        phone="13800000000",
        address="南京市玄武区中山路1号",
    )
    return {"area": area.code, "card": new.pk, "fee": CardFee.objects.get(card=new).pk}


# Every card fee operation with a request a stranger might make against area
# A's records; `list` answers strangers with their own (empty) part.
OPERATIONS = [
    ("GET", "/card-fees", None, "list"),
    ("POST", "/card-fees/{fee}/pay", None, "refused"),
    ("POST", "/card-fees/{fee}/waive", {"reason": "低保户"}, "refused"),
    ("GET", "/card-fees/reconciliation", None, "refused"),
]


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger, other_area, method, path, payload, kind):
    # The registrar of area B, and B's own cashier: neither touches A's fees.
    for someone in (stranger, make_user("c-bj", Role.CASHIER, other_area)):
        response = call(
            api_client(someone), method, fill(path, world), fill_payload(payload, world)
        )
        if kind == "list":
            assert response.status_code == 200
            assert response.json()["items"] == []
        elif path.endswith("reconciliation") and someone.role == Role.CASHIER:
            # B's cashier gets B's day, which has nothing of A in it.
            assert response.status_code == 200
            body = response.json()
            assert body["area"] == "110100" and body["receipts"] == [] and body["due"] == []
        else:
            assert response.status_code in (403, 404), response.content
            assert response.json()["code"] in ("forbidden", "not_found")
    assert CardFee.objects.get(pk=world["fee"]).status == "due"


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_cashier_lists_the_due_fees_and_collects_one(world, cashier):
    client = api_client(cashier)
    listed = call(client, "GET", "/card-fees?status=due").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["id"], item["card"], item["amount"], item["status"]) == (
        world["fee"],
        world["card"],
        "20.00",
        "due",
    )
    assert item["handled_by"] == "colleague" and item["receipt_number"] is None

    paid = call(client, "POST", f"/card-fees/{world['fee']}/pay")
    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert body["status"] == "paid" and body["cashier"] == "cashier"
    assert body["receipt_number"] == f"320100-{timezone.localdate():%Y%m%d}-000001"
    assert call(client, "GET", "/card-fees?status=due").json()["count"] == 0

    again = call(client, "POST", f"/card-fees/{world['fee']}/pay", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409
    assert again.json()["code"] == "fee_already_paid"
    assert body["receipt_number"] in again.json()["message"]


def test_an_officer_sees_the_fees_but_does_not_collect_or_waive_them(world, card_officer):
    client = api_client(card_officer)
    assert call(client, "GET", "/card-fees").json()["count"] == 1
    assert call(client, "POST", f"/card-fees/{world['fee']}/pay").status_code == 403
    waived = call(client, "POST", f"/card-fees/{world['fee']}/waive", {"reason": "x"})
    assert waived.status_code == 403
    assert call(client, "GET", "/card-fees/reconciliation").status_code == 403


def test_the_administrator_waives_with_a_reason(world, area_admin):
    client = api_client(area_admin)
    missing = call(client, "POST", f"/card-fees/{world['fee']}/waive", {"reason": " "})
    assert (missing.status_code, missing.json()["field"]) == (400, "reason")
    response = call(client, "POST", f"/card-fees/{world['fee']}/waive", {"reason": "低保户"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "waived"


def test_the_day_is_reconciled(world, cashier, area_admin, auditor):
    call(api_client(cashier), "POST", f"/card-fees/{world['fee']}/pay")
    today = timezone.localdate().isoformat()
    for someone in (cashier, area_admin, auditor):
        response = call(api_client(someone), "GET", f"/card-fees/reconciliation?day={today}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["area"] == "320100" and body["day"] == today
        assert [(r["card"], r["amount"], r["cashier"]) for r in body["receipts"]] == [
            (world["card"], "20.00", "cashier")
        ]
        assert body["per_cashier"] == {"cashier": "20.00"}
        assert body["total"] == "20.00" and body["due"] == [] and body["differences"] == []
