"""E-card endpoints: the holder claims the e-card and shows codes; anyone may
check a code and read the public keys, and learns nothing personal."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.api.api import api
from shebao.api.tests.test_api import call, fill, fill_payload
from shebao.cards import services
from shebao.cards.ecard import ecard_claim, ecard_token, ecard_verify_offline
from shebao.cards.models import CardState, ElectronicCard
from shebao.cards.testing import make_card
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(area, other_area, stranger, person, individual, card_officer):
    claimed = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    ecard_claim(actor=individual, card=claimed)
    return {
        "area": area.code,
        "card": claimed.pk,
        "token": ecard_token(actor=individual, card=claimed),
        "card_number": claimed.card_number,
        "bank_account": claimed.bank_account,
    }


# Every e-card operation. `public` marks the two that anyone may call without
# signing in: they are tested for what they reveal instead of for refusal.
OPERATIONS = [
    ("GET", "/ecard/keys", None, "public"),
    ("POST", "/ecard/verify", {"token": "{token}"}, "public"),
    ("GET", "/ecards", None, "list"),
    ("POST", "/ecards", {"card": "{card}"}, "refused"),
    ("GET", "/ecards/{card}", None, "refused"),
    ("POST", "/ecards/{card}/token", None, "refused"),
]
PRIVATE = [op for op in OPERATIONS if op[3] != "public"]


def holder_elsewhere(other_area):
    """A cardholder of area B: a holder, but not of this card."""
    someone = Person.objects.create(
        area=other_area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date="1949-12-31",
        sex="F",
        registered_on="2005-01-01",
    )
    return make_user("holder-bj", Role.INDIVIDUAL, other_area, person_id=someone.pk)


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_a_stranger_is_refused(world, stranger, other_area, method, path, payload, kind):
    for someone in (stranger, holder_elsewhere(other_area)):
        response = call(
            api_client(someone), method, fill(path, world), fill_payload(payload, world)
        )
        if kind == "list" and someone.role == Role.INDIVIDUAL:
            assert response.status_code == 200
            assert response.json() == []
        else:
            assert response.status_code in (403, 404), response.content
            assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS[:2])
def test_the_public_endpoints_reveal_no_personal_data(world, person, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 200, response.content
    text = response.content.decode()
    for secret in (
        person.name,
        person.id_number,
        person.phone,
        world["card_number"],
        world["bank_account"],
        '"person',
        "private",
    ):
        assert secret not in text, secret


def test_the_public_endpoints_say_so_in_the_api_document():
    paths = api.get_openapi_schema()["paths"]
    for path, method in (("/api/v1/ecard/keys", "get"), ("/api/v1/ecard/verify", "post")):
        operation = paths[path][method]
        assert "public" in operation["summary"]
        assert not operation.get("security")


def test_anyone_checks_a_code_and_sees_the_area_and_a_masked_number(world):
    body = call(Client(), "POST", "/ecard/verify", {"token": world["token"]}).json()
    assert body["valid"] is True and body["reason"] == "ok"
    assert (body["area"], body["area_name"]) == ("320100", "南京市")
    number = world["card_number"]
    assert body["card_number"] == number[0] + "*****" + number[-3:]


def test_a_terminal_checks_a_code_offline_with_the_published_keys(world):
    keys = call(Client(), "GET", "/ecard/keys").json()
    assert [(k["area"], k["algorithm"]) for k in keys] == [("320100", "Ed25519")]
    public = {k["key_id"]: base64.b64decode(k["public_key"]) for k in keys}
    from django.utils import timezone

    claims = ecard_verify_offline(world["token"], public, timezone.now())
    assert claims.card_number == world["card_number"]
    assert call(Client(), "GET", "/ecard/keys?area=110100").json() == []


def test_a_bad_code_is_an_answer_not_an_error(world):
    response = call(Client(), "POST", "/ecard/verify", {"token": "not-a-code"})
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert response.json()["reason"] == "token_malformed"


def test_the_holder_claims_shows_and_loses_the_card(person, individual, card_officer):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    client = api_client(individual)
    claimed = call(client, "POST", "/ecards", {"card": card.pk})
    assert claimed.status_code == 201, claimed.content
    assert claimed.json()["state"] == "active" and claimed.json()["usable"] is True
    again = call(client, "POST", "/ecards", {"card": card.pk})
    assert (again.status_code, again.json()["code"]) == (409, "ecard_already_claimed")

    issued = call(client, "POST", f"/ecards/{card.pk}/token")
    assert issued.status_code == 201, issued.content
    token = issued.json()["token"]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert issued.json()["expires_at"].startswith("20") and payload["exp"] - payload["iat"] == 300
    assert call(Client(), "POST", "/ecard/verify", {"token": token}).json()["valid"] is True

    services.card_report_temporary_loss(actor=individual, card=card)
    mine = call(client, "GET", "/ecards").json()
    assert [(e["card"], e["state"], e["usable"]) for e in mine] == [
        (card.pk, "temporary_loss", False)
    ]
    detail = call(client, "GET", f"/ecards/{card.pk}").json()
    assert (detail["state"], detail["frozen"]) == ("temporary_loss", False)
    refused = call(client, "POST", f"/ecards/{card.pk}/token")
    assert (refused.status_code, refused.json()["code"]) == (409, "card_not_usable")
    answer = call(Client(), "POST", "/ecard/verify", {"token": token}).json()
    assert (answer["valid"], answer["reason"]) == (False, "card_lost")
    assert ElectronicCard.objects.count() == 1


def test_staff_do_not_use_the_holders_endpoints(world, card_officer):
    client = api_client(card_officer)
    assert call(client, "GET", "/ecards").status_code == 403
    assert call(client, "POST", "/ecards", {"card": world["card"]}).status_code == 403
    assert call(client, "POST", f"/ecards/{world['card']}/token").status_code == 404
