"""Payment and arrears endpoints: a cashier records a payment and the arrears
follow, and applies an employer's credit; strangers and anonymous callers are
refused everywhere."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import api_client
from shebao.audit.models import AuditEvent
from shebao.contributions.models import Bill, Payment, PaymentAllocation
from shebao.contributions.tests.test_payments import JUNE, make_bill, officer, policy  # noqa: F401

pytestmark = pytest.mark.django_db

PAYMENT = {
    "employer": "{employer}",
    "bank_reference": "S001",
    "amount": "1.00",
    "paid_on": "2026-07-10",
}
OPERATIONS = [
    ("POST", "/payments", PAYMENT, "refused"),
    ("POST", "/payments/import", "file", "import"),
    ("GET", "/payments", None, "list"),
    ("GET", "/payments/{payment}", None, "refused"),
    ("POST", "/employers/{employer}/credit/apply", None, "refused"),
    ("GET", "/employers/{employer}/arrears", None, "refused"),
    ("GET", "/employers/{employer}/arrears/notice", None, "refused"),
    ("GET", "/areas/{area}/arrears", None, "refused"),
    ("GET", "/persons/{person}/arrears", None, "refused"),
]


def bank_file(*rows):
    body = "\n".join(["bank_reference,credit_code,amount,paid_on", *rows]) + "\n"
    return SimpleUploadedFile("bank.csv", body.encode(), content_type="text/csv")


@pytest.fixture
def world(cashier, policy, area, employer, person, employment):  # noqa: F811
    make_bill(employer, JUNE, 1_000_000)
    client = api_client(cashier)
    response = client.post(
        "/api/v1/payments",
        data=json.dumps(
            {
                "employer": employer.pk,
                "bank_reference": "W001",
                "amount": "6150.00",
                "paid_on": "2026-08-15",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return {
        "area": area.code,
        "employer": employer.pk,
        "person": person.pk,
        "payment": response.json()["id"],
        "credit_code": employer.credit_code,
        "client": client,
    }


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload == "file":
        return client.post(
            path, {"file": bank_file(f"S002,{world['credit_code']},1.00,2026-07-10")}
        )
    if payload is None:
        return getattr(client, method.lower())(path)
    body = re.sub(r'"\{(\w+)\}"', lambda m: str(world[m.group(1)]), json.dumps(payload))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    if kind == "list":
        assert response.status_code == 200 and response.json()["items"] == []
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, path, payload, world)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_refuses_a_cashier_of_another_area_the_areas_employers(world, other_area):
    from conftest import make_user

    outsider = api_client(make_user("cashier2", "cashier", other_area))
    response = call(outsider, "POST", "/payments/import", "file", world)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["recorded"], body["rejected"]) == (0, 1)
    assert body["errors"][0]["code"] == "employer_unknown"
    assert Payment.objects.count() == 1


def test_it_records_a_payment_with_its_allocation(world):
    body = world["client"].get(f"/api/v1/payments/{world['payment']}").json()
    assert (body["amount"], body["allocated"], body["unallocated"]) == (
        "6150.00",
        "6150.00",
        "0.00",
    )
    allocation = PaymentAllocation.objects.get()
    assert body["allocations"] == [
        {"id": allocation.pk, "bill": allocation.bill_id, "period": "2026-06-01",
         "principal": "6000.00", "late_fee": "150.00", "release_of": None}
    ]  # fmt: skip
    again = call(world["client"], "POST", "/payments", {**PAYMENT, "bank_reference": "W001",
                 "amount": "6150", "paid_on": "2026-08-15"}, world)  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == world["payment"]
    clash = call(world["client"], "POST", "/payments", {**PAYMENT, "bank_reference": "W001"}, world)
    assert clash.status_code == 409 and clash.json()["code"] == "bank_reference_used"
    listed = world["client"].get("/api/v1/payments?paid_from=2026-08-01").json()
    assert [item["id"] for item in listed["items"]] == [world["payment"]]


def test_it_shows_the_arrears_with_the_late_fee_running(world):
    client = world["client"]
    body = client.get(f"/api/v1/employers/{world['employer']}/arrears?on=2026-09-14").json()
    assert (body["principal_due"], body["late_fee_due"], body["total_due"]) == (
        "4000.00",
        "60.00",
        "4060.00",
    )
    assert body["bills"][0]["days_overdue"] == 60
    area = client.get(f"/api/v1/areas/{world['area']}/arrears?on=2026-09-14").json()
    assert area["count"] == 1 and area["items"][0]["total_due"] == "4060.00"


def test_it_writes_the_notice_as_plain_text(world):
    response = world["client"].get(
        f"/api/v1/employers/{world['employer']}/arrears/notice?on=2026-09-14",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "4,060.00" in response.content.decode()


def test_it_imports_a_bank_file_row_by_row(world):
    response = world["client"].post(
        "/api/v1/payments/import",
        {
            "file": bank_file(
                f"W001,{world['credit_code']},6150.00,2026-08-15",
                f"W002,{world['credit_code']},4060.00,2026-09-14",
                f"W003,{world['credit_code']},-1,2026-09-14",
            )
        },
    )
    body = response.json()
    assert (body["read"], body["recorded"], body["unchanged"], body["rejected"]) == (3, 1, 1, 1)
    assert body["errors"][0]["line"] == 4 and body["errors"][0]["field"] == "amount"


def test_an_individual_sees_their_own_unpaid_months_only(world, individual, person):
    client = api_client(individual)
    body = client.get(f"/api/v1/persons/{person.pk}/arrears").json()
    assert body["person"] == person.pk and body["months"] == []  # the June bill has no lines
    assert client.get(f"/api/v1/employers/{world['employer']}/arrears").status_code == 403
    assert client.get("/api/v1/payments").json()["items"] == []


def test_a_cashier_applies_the_credit_a_lowered_bill_leaves(world, employer, employer_user):
    # June (10,000.00) holds 6,000.00 paid on 08-15; lowered in place to 5,000.00
    # (as a run before releases left it), with July (due 08-15) open.
    june = Bill.objects.get(employer=employer)
    Bill.objects.filter(pk=june.pk).update(employer_cents=500_000)
    july = make_bill(employer, JUNE.replace(month=7), 300_000)
    path = f"/api/v1/employers/{world['employer']}/credit/apply"
    refused = api_client(employer_user).post(path)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    response = world["client"].post(path)

    assert response.status_code == 200, response.content
    body = response.json()
    [release] = body["releases"]
    assert (release["bill"], release["principal"], release["late_fee"]) == (
        june.pk,
        "-1000.00",
        "0.00",
    )
    assert release["release_of"] == PaymentAllocation.objects.order_by("pk")[0].pk
    assert release["payment"] == world["payment"] and release["bank_reference"] == "W001"
    # The 1,000.00 given back was paid on 08-15, July's due day: no fee.
    assert [(a["bill"], a["principal"], a["late_fee"]) for a in body["allocations"]] == [
        (july.pk, "1000.00", "0.00")
    ]
    assert (body["credit"], body["account_entries"]) == ("0.00", 0)
    detail = world["client"].get(f"/api/v1/payments/{world['payment']}").json()
    assert [a["principal"] for a in detail["allocations"]] == ["6000.00", "-1000.00", "1000.00"]
    assert (detail["allocated"], detail["unallocated"]) == ("6150.00", "0.00")
    assert AuditEvent.objects.filter(action="credit.apply").count() == 1
    again = world["client"].post(path).json()
    assert (again["releases"], again["allocations"]) == ([], [])
