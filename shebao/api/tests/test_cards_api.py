"""Card endpoints: the counter through the API, and strangers refused everywhere."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.test import Client

from conftest import api_client
from shebao.cards.models import CardState
from shebao.cards.photo import sample_photo
from shebao.cards.testing import make_card

pytestmark = pytest.mark.django_db

PHOTO = base64.b64encode(sample_photo()).decode()
APPLICATION = {
    "person": "{person}",
    "account_class": 2,
    "bank": "ICBC",
    "phone": "13800000000",
    "address": "南京市",
    "photo": PHOTO,
}
IDENTITY = {"presented_id_number": "320106198503023314"}

OPERATIONS = [
    ("GET", "/cards", None, "list"),
    ("POST", "/cards", APPLICATION, "refused"),
    (
        "POST",
        "/cards/bulk",
        {
            "rows": [
                {
                    "id_number": "320106198503023314",
                    "account_class": 2,
                    "bank": "ICBC",
                    "phone": "1",
                    "address": "x",
                    "photo": PHOTO,
                }
            ]
        },
        "bulk",
    ),
    ("POST", "/cards/temporary", {"person": "{person}", "outlet": "{outlet}"}, "refused"),
    ("GET", "/cards/{card}", None, "refused"),
    ("GET", "/cards/{card}/history", None, "refused"),
    ("POST", "/cards/{card}/approve", {}, "refused"),
    ("POST", "/cards/{card}/reject", {"reason": "x"}, "refused"),
    ("POST", "/cards/{card}/withdraw", None, "refused"),
    ("POST", "/cards/{card}/hand-over", IDENTITY, "refused"),
    ("POST", "/cards/{card}/activate", {}, "refused"),
    ("POST", "/cards/{card}/pin-failures", None, "refused"),
    ("POST", "/cards/{card}/pin-unlock", IDENTITY, "refused"),
    ("POST", "/cards/{card}/temporary-loss", {}, "refused"),
    ("POST", "/cards/{card}/unfreeze", None, "refused"),
    ("POST", "/cards/{card}/formal-loss", IDENTITY, "refused"),
    ("POST", "/cards/{card}/downgrade", {"account_class": 3}, "refused"),
    ("POST", "/cards/{card}/upgrade", {"account_class": 1}, "refused"),
    ("POST", "/cards/{card}/cancel", {"reason": "death"}, "refused"),
]


@pytest.fixture
def world(person, outlet, card_officer, stranger, employer, employment):
    card = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    return {"person": person.pk, "outlet": outlet.pk, "card": card.pk}


def call(client, method, path, payload, world):
    path = re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    body = None
    if payload is not None:
        body = re.sub(r'"\{(\w+)\}"', lambda m: str(world[m.group(1)]), json.dumps(payload))
    kwargs = {"content_type": "application/json"}
    if body is not None:
        kwargs["data"] = body
    return getattr(client, method.lower())("/api/v1" + path, **kwargs)


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    if kind == "list":
        assert response.status_code == 200 and response.json()["items"] == []
    elif kind == "bulk":
        # The stranger's own area has no such person: every row refused, nothing created.
        assert response.status_code == 200
        assert [row["ok"] for row in response.json()] == [False]
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    assert call(Client(), method, path, payload, world).status_code == 401


def test_an_officer_applies_and_a_second_officer_approves(
    card_officer_api, second_officer, person, world
):
    from shebao.cards.models import Card

    Card.objects.filter(pk=world["card"]).update(state=CardState.CANCELLED)
    response = call(card_officer_api, "POST", "/cards", APPLICATION, world)
    assert response.status_code == 201, response.content
    card = response.json()
    assert (card["state"], card["kind"], card["channel"]) == ("applied", "first", "counter")
    own = call(card_officer_api, "POST", f"/cards/{card['id']}/approve", {}, world)
    assert own.status_code == 403 and own.json()["code"] == "same_officer"
    approved = call(
        api_client(second_officer),
        "POST",
        f"/cards/{card['id']}/approve",
        {"expected_version": card["version"]},
        world,
    )
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    withdrawn = call(
        api_client(second_officer), "POST", f"/cards/{card['id']}/withdraw", None, world
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    history = call(card_officer_api, "GET", f"/cards/{card['id']}/history", None, world).json()
    assert [event["operation"] for event in history] == ["apply", "approve", "withdraw"]


def test_an_upgrade_answer_offers_the_new_card_application(card_officer_api, world):
    response = call(card_officer_api, "POST", "/cards/{card}/upgrade", {"account_class": 1}, world)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "upgrade_needs_new_card"
    assert body["detail"]["apply"] == {
        "kind": "type_change",
        "replaces": world["card"],
        "account_class": 1,
        "bank": "ICBC",
    }


def test_a_holder_reports_a_loss_and_reads_the_state(individual, world):
    client = api_client(individual)
    response = call(client, "POST", "/cards/{card}/temporary-loss", {"channel": "online"}, world)
    assert response.status_code == 200
    assert response.json()["state"] == "temporary_loss"
    assert response.json()["loss_lapses_at"]
    assert response.json()["bank_account"].startswith("*")


def test_a_refused_transition_is_a_409_with_the_reason(card_officer_api, world):
    response = call(card_officer_api, "POST", "/cards/{card}/unfreeze", None, world)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_an_employer_applies_for_its_staff_in_bulk(employer_user, world):
    from shebao.cards.models import Card

    Card.objects.filter(pk=world["card"]).update(state=CardState.CANCELLED)
    rows = [
        {
            "id_number": "320106198503023314",
            "account_class": 2,
            "bank": "ICBC",
            "phone": "13800000000",
            "address": "南京市",
            "photo": PHOTO,
        },
        {
            "id_number": "320106198503023314",
            "account_class": 2,
            "bank": "ICBC",
            "phone": "13800000000",
            "address": "南京市",
            "photo": "***",
        },
    ]
    response = call(api_client(employer_user), "POST", "/cards/bulk", {"rows": rows}, world)
    results = response.json()
    assert results[0]["ok"] is True and results[0]["card"]
    assert results[1]["ok"] is False
