"""Statement endpoints: the holder's statements, staff at the counter and the
yearly batch, and the public verification of a code or a PDF, which reveals only
what the holder shares."""

from __future__ import annotations

import base64
import json

import pytest
from django.core.cache import cache
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.api.api import api
from shebao.api.tests.test_api import BASE, call, fill, fill_payload
from shebao.audit.models import AccessEvent
from shebao.inquiry import pdf, services
from shebao.inquiry.models import Statement, StatementBatch
from shebao.inquiry.statements import display_code, parse, signature_valid
from shebao.inquiry.testing import record_of_2025
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer(area):
    return make_user("stmt-officer", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(area, other_area, stranger, person, employer, employment, cashier, individual):
    record_of_2025(person, employer, cashier)
    statement = services.statement_request(actor=individual, person=person)
    return {
        "area": area.code,
        "person": person.pk,
        "statement": statement.pk,
        "code": statement.code,
    }


# Every statement operation. `public` marks the two verify endpoints, open to
# anyone without signing in: they are tested for what they reveal instead.
OPERATIONS = [
    ("GET", "/statements", None, "list"),
    ("POST", "/statements", {"person": "{person}"}, "refused"),
    ("GET", "/statements/{statement}", None, "refused"),
    ("PUT", "/statements/{statement}/shared-fields", {"fields": ["account"]}, "refused"),
    ("GET", "/statements/{statement}/pdf", None, "refused"),
    ("GET", "/statement-batches", None, "list"),
    ("POST", "/statement-batches", {"year": 2025, "area": "{area}"}, "refused"),
    ("GET", "/statements/verify/{code}", None, "public"),
    ("POST", "/statements/verify", None, "public"),
]
PRIVATE = [op for op in OPERATIONS if op[3] != "public"]


def strangers(other_area):
    """A registrar, a contributions officer and a holder of area B."""
    someone = Person.objects.create(
        area=other_area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date="1949-12-31",
        sex="F",
        registered_on="2005-01-01",
    )
    return [
        make_user("bj-registrar", Role.REGISTRAR, other_area),
        make_user("bj-officer", Role.CONTRIBUTIONS_OFFICER, other_area),
        make_user("bj-holder", Role.INDIVIDUAL, other_area, person_id=someone.pk),
    ]


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_a_stranger_is_refused(world, other_area, method, path, payload, kind):
    for someone in strangers(other_area):
        response = call(
            api_client(someone), method, fill(path, world), fill_payload(payload, world)
        )
        if kind == "list":
            assert response.status_code == 200, response.content
            body = response.json()
            assert (body["items"] if isinstance(body, dict) else body) == []
        else:
            assert response.status_code in (403, 404), (someone, response.content)
            assert response.json()["code"] in ("forbidden", "not_found")
    assert Statement.objects.count() == 1 and not StatementBatch.objects.exists()


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_verify_endpoints_are_public_in_the_api_document():
    paths = api.get_openapi_schema()["paths"]
    for path, method in (
        ("/api/v1/statements/verify/{code}", "get"),
        ("/api/v1/statements/verify", "post"),
    ):
        operation = paths[path][method]
        assert "public" in operation["summary"] and not operation.get("security")


def test_anyone_checks_a_code_and_learns_only_what_the_holder_shares(world, person):
    response = Client().get(f"{BASE}/statements/verify/{world['code']}")
    assert response.status_code == 200
    body = response.json()
    assert (body["genuine"], body["reason"]) == (True, "ok")
    assert body["code"] == display_code(world["code"])
    assert body["shared"]["name"] == "张*"
    assert body["shared"]["account"] is None
    for secret in (person.name, person.id_number, person.phone, "南京钟山科技有限公司"):
        assert secret not in response.content.decode(), secret


def test_an_unknown_or_altered_code_is_an_answer_not_an_error(world):
    unknown = Client().get(f"{BASE}/statements/verify/AAAABBBBCCCCDDDD").json()
    assert (unknown["genuine"], unknown["reason"], unknown["shared"]) == (
        False,
        "unknown_code",
        None,
    )
    Statement.objects.filter(pk=world["statement"]).update(digest="f" * 64)
    altered = Client().get(f"{BASE}/statements/verify/{world['code']}").json()
    assert (altered["genuine"], altered["reason"]) == (False, "record_altered")


def test_anyone_checks_a_pdf(world):
    statement = Statement.objects.get(pk=world["statement"])
    data = pdf.render(
        parse(statement.canonical),
        canonical=statement.canonical,
        signature=bytes(statement.signature),
        verify_url="http://testserver/verify/x",
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = (
        Client()
        .post(f"{BASE}/statements/verify", {"file": SimpleUploadedFile("s.pdf", data)})
        .json()
    )
    assert (body["genuine"], body["reason"]) == (True, "ok")
    junk = (
        Client()
        .post(f"{BASE}/statements/verify", {"file": SimpleUploadedFile("s.pdf", b"no pdf")})
        .json()
    )
    assert (junk["genuine"], junk["reason"]) == (False, "pdf_unreadable")


def test_the_public_check_is_rate_limited(world, settings):
    settings.STATEMENT_VERIFY_LIMIT = 1
    client = Client(REMOTE_ADDR="192.0.2.20")
    assert client.get(f"{BASE}/statements/verify/{world['code']}").status_code == 200
    refused = client.get(f"{BASE}/statements/verify/{world['code']}")
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")


def test_the_holder_lists_asks_downloads_and_shares(world, individual):
    client = api_client(individual)
    made = call(client, "POST", "/statements", {})
    assert made.status_code == 201, made.content
    assert made.json()["kind"] == "on_request" and made.json()["shared_fields"] == ["totals"]
    listed = call(client, "GET", "/statements").json()
    assert listed["count"] == 2
    statement_id = made.json()["id"]
    document = call(client, "GET", f"/statements/{statement_id}/pdf")
    assert document.status_code == 200 and document["Content-Type"] == "application/pdf"
    shared = call(
        client, "PUT", f"/statements/{statement_id}/shared-fields", {"fields": ["eligibility"]}
    )
    assert shared.status_code == 200 and shared.json()["shared_fields"] == ["eligibility"]
    wrong = call(client, "PUT", f"/statements/{statement_id}/shared-fields", {"fields": ["x"]})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "share_field_unknown")
    assert not AccessEvent.objects.exists()


def test_staff_make_one_at_the_counter_and_read_its_signed_content(world, officer, person):
    client = api_client(officer)
    made = call(client, "POST", "/statements", {"person": person.pk})
    assert made.status_code == 201, made.content
    detail = call(client, "GET", f"/statements/{made.json()['id']}").json()
    statement = Statement.objects.get(pk=made.json()["id"])
    assert detail["content"]["person"]["name"] == "张伟"
    assert signature_valid(
        statement.key.public_key, detail["canonical"], base64.b64decode(detail["signature"])
    )
    assert detail["key_id"] == statement.key.key_id
    assert json.loads(detail["canonical"]) == detail["content"]
    assert AccessEvent.objects.filter(actor=officer, action="statement.view").exists()
    mine = call(client, "GET", f"/statements?person={person.pk}").json()
    assert mine["count"] == 2
    missing = call(client, "POST", "/statements", {})
    assert (missing.status_code, missing.json()["field"]) == (400, "person")


def test_staff_start_the_yearly_batch_and_follow_it(world, officer, auditor):
    started = call(api_client(officer), "POST", "/statement-batches", {"year": 2025})
    assert started.status_code == 201, started.content
    job = started.json()
    assert (job["kind"], job["status"], job["result"]["done"]) == ("statement_batch", "done", 1)
    batches = call(api_client(auditor), "GET", "/statement-batches").json()
    assert [(b["year"], b["done"], b["total"], b["status"]) for b in batches] == [
        (2025, 1, 1, "done")
    ]
    refused = call(api_client(auditor), "POST", "/statement-batches", {"year": 2025})
    assert refused.status_code == 403
    not_over = call(api_client(officer), "POST", "/statement-batches", {"year": 2026})
    assert (not_over.status_code, not_over.json()["code"]) == (400, "year_not_over")
