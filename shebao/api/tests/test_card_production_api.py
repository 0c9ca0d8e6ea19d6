"""REST API: production batches, the vendor files, distribution and stock; every endpoint
refuses strangers and anonymous callers."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.cards import production
from shebao.cards.bench import approved_cards, result_file, result_rows
from shebao.cards.models import Card, CardState

pytestmark = pytest.mark.django_db

BASE = "/api/v1"


def call(client, method, path, payload=None, **headers):
    if payload is not None and "file" in payload:
        upload = SimpleUploadedFile("results.csv", payload["file"].encode(), "text/csv")
        return client.post(BASE + path, data={"file": upload}, **headers)
    kwargs = {"content_type": "application/json", **headers}
    if payload is not None:
        kwargs["data"] = json.dumps(payload)
    return getattr(client, method.lower())(BASE + path, **kwargs)


def fill(text, world):
    return re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), text)


def fill_payload(payload, world):
    if payload is None:
        return None
    return json.loads(fill(json.dumps(payload), world))


@pytest.fixture
def world(approved_area, other_area, stranger, card_officer, second_officer, outlet):
    """Area A with a batch made by the vendor, shipped to its outlet; one card received."""
    approved_cards(approved_area, 2, submitted_by=card_officer, approved_by=second_officer)
    batch = production.batch_create(actor=card_officer, area=approved_area)
    "".join(production.batch_export(actor=card_officer, batch=batch, file_format="csv"))
    production.batch_import(
        actor=card_officer, batch=batch, data=result_file(result_rows(batch)), file_format="csv"
    )
    production.batch_ship(actor=card_officer, batch=batch, outlet=outlet)
    card = Card.objects.filter(batch=batch).order_by("pk")[0]
    assert card.card_number is not None
    production.outlet_receive(actor=card_officer, outlet=outlet, card_numbers=[card.card_number])
    return {
        "area": approved_area.code,
        "batch": batch.pk,
        "outlet": outlet.pk,
        "card": card.pk,
        "card_number": card.card_number,
    }


# Every endpoint of this module with a request a stranger might make against area A.
OPERATIONS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/card-batches", None, "list"),
    ("POST", "/card-batches", {"vendor": "x"}, "refused"),
    ("GET", "/card-batches/{batch}", None, "refused"),
    ("POST", "/card-batches/{batch}/export", None, "refused"),
    ("POST", "/card-batches/{batch}/import", {"file": "record_id,result\n"}, "refused"),
    ("POST", "/card-batches/{batch}/freeze", {"reason": "x"}, "refused"),
    ("POST", "/card-batches/{batch}/release", None, "refused"),
    ("POST", "/card-batches/{batch}/ship", {"outlet": "{outlet}"}, "refused"),
    ("POST", "/outlets/{outlet}/receive-cards", {"card_numbers": ["{card_number}"]}, "refused"),
    ("POST", "/outlets/{outlet}/freeze", {"reason": "x"}, "refused"),
    ("POST", "/outlets/{outlet}/release", None, "refused"),
    ("GET", "/outlets/{outlet}/card-stock", None, "refused"),
    ("GET", "/outlets/{outlet}/stock-counts", None, "refused"),
    ("POST", "/outlets/{outlet}/stock-counts", {"card_numbers": []}, "refused"),
    ("GET", "/outlets/{outlet}/card-reconciliation", None, "refused"),
    ("GET", "/areas/{area}/card-reconciliation", None, "refused"),
    ("POST", "/areas/{area}/seal-unclaimed-cards", None, "refused"),
    ("POST", "/cards/{card}/return", {"reason": "x"}, "refused"),
    ("POST", "/cards/{card}/destroy", {"reason": "x"}, "refused"),
]


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, fill(path, world), fill_payload(payload, world))
    if kind == "list":
        assert response.status_code == 200
        seen = json.dumps(response.json()["items"], ensure_ascii=False)
        assert "320100" not in seen
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")
    assert Card.objects.filter(frozen_at__isnull=False).count() == 0
    assert Card.objects.get(pk=world["card"]).state == CardState.AT_OUTLET


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- the round trip through the API ------------------------------------------------


@pytest.fixture
def admin_api(approved_area):
    return api_client(make_user("cardadmin", Role.AREA_ADMIN, approved_area))


def test_the_vendor_round_trip_through_the_api(
    approved_area, card_officer, second_officer, card_officer_api
):
    ids = approved_cards(approved_area, 3, submitted_by=card_officer, approved_by=second_officer)
    created = call(card_officer_api, "POST", "/card-batches", {"vendor": "金卡", "limit": 3})
    assert created.status_code == 201, created.content
    batch = created.json()
    assert batch["number"].startswith("320100-") and batch["card_count"] == 3
    assert batch["cards_by_state"] == {"in_production": 3}

    download = call(card_officer_api, "POST", f"/card-batches/{batch['id']}/export?format=csv")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="{batch["number"]}.csv"'
    text = b"".join(download.streaming_content).decode()
    records = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["record_id"]) for r in records] == ids
    as_json = call(card_officer_api, "POST", f"/card-batches/{batch['id']}/export?format=json")
    assert as_json["Content-Type"].startswith("application/json")
    assert len(json.loads(b"".join(as_json.streaming_content))) == 3

    rows = result_rows(production.ProductionBatch.objects.get(pk=batch["id"]))
    rows[1]["identification_code"] = "1101000000000001"
    rows[2] = {"record_id": rows[2]["record_id"], "result": "failed", "reason": "芯片写入失败"}
    upload = result_file(rows).decode()
    answer = call(
        card_officer_api,
        "POST",
        f"/card-batches/{batch['id']}/import?format=csv",
        {"file": upload},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 200, answer.content
    report = answer.json()
    assert (report["rows"], report["produced"], report["failed"], report["accepted"]) == (
        3,
        1,
        1,
        2,
    )
    assert report["completed"] is False
    assert report["rejected"] == [
        {
            "line": 3,
            "record_id": rows[1]["record_id"],
            "code": "identification_code_area",
            "message": "The identification code must start with the area's division code "
            "320100, got “1101000000000001”.",
        }
    ]
    detail = call(card_officer_api, "GET", f"/card-batches/{batch['id']}").json()
    assert detail["cards_by_state"] == {"in_production": 1, "produced": 1}
    assert detail["status"] == "exported"
    listed = call(card_officer_api, "GET", "/card-batches?status=exported").json()
    assert [item["id"] for item in listed["items"]] == [batch["id"]]


def test_a_batch_for_an_area_without_approval_is_a_409(area, card_officer_api):
    response = call(card_officer_api, "POST", "/card-batches", {})
    assert response.status_code == 409
    assert response.json()["code"] == "area_not_approved"


def test_distribution_stock_and_reconciliation_through_the_api(
    world, card_officer_api, admin_api, outlet
):
    batch, card = world["batch"], world["card"]
    second = Card.objects.filter(batch_id=batch).exclude(pk=card).get()
    received = call(
        card_officer_api,
        "POST",
        f"/outlets/{outlet.pk}/receive-cards",
        {"card_numbers": [second.card_number, "N00000000"]},
    ).json()
    assert received["count"] == 1
    assert [r["code"] for r in received["rejected"]] == ["unknown_card"]
    stock = call(card_officer_api, "GET", f"/outlets/{outlet.pk}/card-stock").json()
    assert stock["count"] == 2
    assert stock["items"][0]["batch"] == production.ProductionBatch.objects.get(pk=batch).number

    counted = call(
        card_officer_api,
        "POST",
        f"/outlets/{outlet.pk}/stock-counts",
        {"card_numbers": [world["card_number"]]},
    )
    assert counted.status_code == 201
    assert counted.json()["missing"] == [second.card_number]
    assert counted.json()["counted_by"] == "colleague"
    history = call(card_officer_api, "GET", f"/outlets/{outlet.pk}/stock-counts").json()
    assert history["count"] == 1

    reconciliation = call(card_officer_api, "GET", "/areas/320100/card-reconciliation").json()
    assert reconciliation["produced"] == 2 and reconciliation["balanced"] is False
    assert [d["card_id"] for d in reconciliation["discrepancies"]] == [second.pk]
    at_outlet = call(card_officer_api, "GET", f"/outlets/{outlet.pk}/card-reconciliation").json()
    assert {line["key"]: line["count"] for line in at_outlet["lines"]}["in_stock"] == 2

    returned = call(card_officer_api, "POST", f"/cards/{second.pk}/return", {"reason": "丢失待查"})
    assert returned.json()["state"] == "returned"
    stale = call(
        card_officer_api,
        "POST",
        f"/cards/{second.pk}/destroy",
        {"reason": "销毁", "expected_version": 1},
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_card"
    destroyed = call(card_officer_api, "POST", f"/cards/{second.pk}/destroy", {"reason": "销毁"})
    assert destroyed.json()["state"] == "destroyed"

    sealed = call(card_officer_api, "POST", "/areas/320100/seal-unclaimed-cards")
    assert sealed.status_code == 200 and sealed.json() == {"sealed": 0}


def test_only_an_area_administrator_freezes_a_batch(world, card_officer_api, admin_api):
    path = f"/card-batches/{world['batch']}"
    refused = call(card_officer_api, "POST", f"{path}/freeze", {"reason": "银行通知暂停"})
    assert refused.status_code == 403
    frozen = call(admin_api, "POST", f"{path}/freeze", {"reason": "银行通知暂停"})
    assert frozen.status_code == 200
    assert frozen.json()["frozen_reason"] == "银行通知暂停"
    assert Card.objects.filter(batch_id=world["batch"], frozen_at__isnull=True).count() == 0
    again = call(card_officer_api, "POST", f"/cards/{world['card']}/return", {"reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "card_frozen"
    released = call(admin_api, "POST", f"{path}/release")
    assert released.status_code == 200 and released.json()["frozen_at"] is None


def test_an_outlets_stock_is_frozen_and_released_as_one(world, card_officer_api, admin_api):
    path = f"/outlets/{world['outlet']}"
    refused = call(card_officer_api, "POST", f"{path}/freeze", {"reason": "保险柜钥匙遗失"})
    assert refused.status_code == 403
    frozen = call(admin_api, "POST", f"{path}/freeze", {"reason": "保险柜钥匙遗失"})
    assert frozen.status_code == 200 and frozen.json()["cards"] == 1  # the one card in stock
    card = Card.objects.get(pk=world["card"])
    assert card.frozen_reason == "保险柜钥匙遗失"
    assert card.events.filter(operation="freeze").count() == 1
    # A card still on its way is not in the outlet's stock and stays usable.
    assert Card.objects.filter(batch_id=world["batch"], frozen_at__isnull=True).count() == 1
    handed = call(card_officer_api, "POST", f"/cards/{world['card']}/return", {"reason": "x"})
    assert handed.status_code == 409 and handed.json()["code"] == "card_frozen"
    twice = call(admin_api, "POST", f"{path}/freeze", {"reason": "again"})
    assert twice.status_code == 409 and twice.json()["code"] == "outlet_frozen"
    receive = call(card_officer_api, "POST", f"{path}/receive-cards", {"card_numbers": ["X"]})
    assert receive.status_code == 409 and receive.json()["code"] == "outlet_frozen"
    released = call(admin_api, "POST", f"{path}/release")
    assert released.status_code == 200 and released.json()["cards"] == 1
    assert Card.objects.filter(frozen_at__isnull=False).count() == 0
    again = call(admin_api, "POST", f"{path}/release")
    assert again.status_code == 409 and again.json()["code"] == "outlet_not_frozen"
