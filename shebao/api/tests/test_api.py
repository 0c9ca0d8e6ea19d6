"""REST API v1: what owners can do, and that strangers and anonymous callers
are refused at every endpoint."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from conftest import api_client
from shebao.api.api import api
from shebao.audit.models import AccessEvent, AuditEvent

pytestmark = pytest.mark.django_db

BASE = "/api/v1"


def call(client, method, path, payload=None, **headers):
    kwargs = {"content_type": "application/json", **headers}
    if payload is not None:
        kwargs["data"] = json.dumps(payload)
    return getattr(client, method.lower())(BASE + path, **kwargs)


@pytest.fixture
def world(area, other_area, owner, stranger, employer, person, employment, area_admin):
    outlet = area.outlets.create(code="WD001", name="玄武区社保服务大厅")
    return {
        "area": area.code,
        "outlet": outlet.pk,
        "person": person.pk,
        "employer": employer.pk,
        "employment": employment.pk,
    }


# Every operation of the API with a request a stranger might make against
# area A's records. `list` marks operations that answer strangers with their
# own (empty) part rather than an error.
OPERATIONS = [
    ("GET", "/me", None, "self"),
    ("GET", "/areas", None, "list"),
    ("POST", "/areas", {"code": "440300", "name": "深圳市"}, "refused"),
    ("GET", "/areas/{area}", None, "refused"),
    ("PATCH", "/areas/{area}", {"name": "改名"}, "refused"),
    ("GET", "/areas/{area}/settings", None, "refused"),
    (
        "POST",
        "/areas/{area}/settings",
        {"key": "temporary_loss_days", "value": 7, "valid_from": "2026-01-01"},
        "refused",
    ),
    ("GET", "/outlets", None, "list"),
    ("POST", "/outlets", {"area": "320100", "code": "WD009", "name": "x"}, "refused"),
    ("GET", "/outlets/{outlet}", None, "refused"),
    ("PATCH", "/outlets/{outlet}", {"name": "x"}, "refused"),
    ("GET", "/persons", None, "list"),
    (
        "POST",
        "/persons",
        {"area": "320100", "id_number": "11010519491231002X", "name": "李秀英"},
        "refused",
    ),
    ("GET", "/persons/{person}", None, "refused"),
    ("PATCH", "/persons/{person}", {"phone": "1"}, "refused"),
    ("GET", "/employers", None, "list"),
    (
        "POST",
        "/employers",
        {
            "area": "320100",
            "credit_code": "91110000600037341L",
            "name": "x",
            "established_on": "2020-01-01",
        },
        "refused",
    ),
    ("GET", "/employers/{employer}", None, "refused"),
    ("PATCH", "/employers/{employer}", {"name": "x"}, "refused"),
    ("GET", "/employments", None, "list"),
    (
        "POST",
        "/employments",
        {
            "employer": "{employer}",
            "id_number": "11010519491231002X",
            "name": "李秀英",
            "start_date": "2024-01-01",
        },
        "refused",
    ),
    ("GET", "/employments/{employment}", None, "refused"),
    ("POST", "/employments/{employment}/end", {"end_date": "2025-01-01"}, "refused"),
]


def fill(text, world):
    return re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), text)


def fill_payload(payload, world):
    if payload is None:
        return None
    return json.loads(fill(json.dumps(payload), world))


def all_operations():
    """OPERATIONS of every API test module: each module lists the endpoints it covers."""
    import importlib
    import pkgutil

    import shebao.api.tests as package

    found: list[tuple] = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("test_"):
            found += getattr(
                importlib.import_module(f"{package.__name__}.{module.name}"), "OPERATIONS", []
            )
    return found


def test_the_tables_cover_every_operation_of_the_api():
    schema = api.get_openapi_schema()

    def shape(path):
        return re.sub(r"\{\w+\}", "{}", path.removeprefix("/api/v1"))

    published = {
        (method.upper(), shape(path)) for path, item in schema["paths"].items() for method in item
    }
    covered = {(op[0], shape(op[1])) for op in all_operations()}
    assert published == covered


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, fill(path, world), fill_payload(payload, world))
    if kind == "self":
        assert response.json()["username"] == "stranger"
    elif kind == "list":
        assert response.status_code == 200
        body = response.json()
        seen = {json.dumps(item, ensure_ascii=False) for item in body["items"]}
        assert not any("320100" in text for text in seen), seen
    else:
        assert response.status_code in (403, 404), response.content
        assert response.json()["code"] in ("forbidden", "not_found")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_bad_token_is_refused(world):
    client = Client(HTTP_AUTHORIZATION="Bearer sbk_not-a-token")
    assert call(client, "GET", "/persons").status_code == 401


def test_the_openapi_document_is_published_with_descriptions():
    response = Client().get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "shebao API"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method} {path} has no summary"


def test_the_owner_registers_a_person_and_gets_derived_fields(owner_api):
    response = call(
        owner_api, "POST", "/persons", {"id_number": "11010519491231002x", "name": "李秀英"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number"] == "11010519491231002X"
    assert body["birth_date"] == "1949-12-31"
    assert body["sex"] == "F"
    assert AuditEvent.objects.filter(action="person.register", subject_id=str(body["id"])).exists()


def test_an_invalid_identity_number_gets_a_clear_error_in_either_language(owner_api):
    payload = {"id_number": "110105194912310021", "name": "李秀英"}
    english = call(owner_api, "POST", "/persons", payload, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400
    assert english.json() == {
        "code": "id_number_check",
        "field": "id_number",
        "message": "Identity number check character should be X, not 1.",
    }
    chinese = call(owner_api, "POST", "/persons", payload, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.json()["code"] == "id_number_check"
    assert chinese.json()["message"] != english.json()["message"]


def test_a_malformed_body_is_a_422_naming_the_field(owner_api):
    response = call(
        owner_api,
        "POST",
        "/employers",
        {"credit_code": "91110000600037341L", "name": "x", "established_on": "soon"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["field"] == "established_on"


def test_a_duplicate_is_a_409(owner_api, person):
    response = call(owner_api, "POST", "/persons", {"id_number": person.id_number, "name": "张伟"})
    assert response.status_code == 409
    assert response.json()["code"] == "person_exists"


def test_lists_are_paged_and_filtered(owner_api, world, employment):
    response = call(owner_api, "GET", "/employments?current=true&page_size=1")
    body = response.json()
    assert body["count"] == 1 and body["pages"] == 1 and body["page"] == 1
    assert body["items"][0]["person_name"] == "张伟"
    assert call(owner_api, "GET", "/employments?current=false").json()["count"] == 0
    assert call(owner_api, "GET", "/employments?late_registration=true").json()["count"] == 0


def test_late_registration_is_visible_in_the_api(owner_api, employer, person):
    response = call(
        owner_api,
        "POST",
        "/employments",
        {
            "employer": employer.pk,
            "id_number": person.id_number,
            "start_date": "2026-01-05",
            "registered_on": "2026-03-01",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["late_registration"] is True
    listed = call(owner_api, "GET", "/employments?late_registration=true").json()
    assert [item["id"] for item in listed["items"]] == [response.json()["id"]]


def test_person_reads_are_logged_and_masked_for_roles_that_do_not_need_the_number(
    world, auditor, person
):
    client = api_client(auditor)
    body = call(client, "GET", f"/persons/{person.pk}").json()
    assert body["id_number"] == "3201**********3314"
    assert AccessEvent.objects.filter(actor=auditor, action="person.view").exists()
    listed = call(client, "GET", "/persons").json()
    assert listed["items"][0]["id_number"] == "3201**********3314"
    assert AccessEvent.objects.filter(actor=auditor, action="person.list").exists()


def test_session_writes_need_the_csrf_token(owner, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert call(client, "GET", "/persons").status_code == 200
    response = call(client, "PATCH", f"/persons/{world['person']}", {"phone": "1"})
    assert response.status_code == 403


def test_an_employer_user_registers_its_own_staff_only(employer_user, employer, world):
    client = api_client(employer_user)
    ok = call(
        client,
        "POST",
        "/employments",
        {
            "employer": employer.pk,
            "id_number": "11010519491231002X",
            "name": "李秀英",
            "start_date": "2024-01-01",
        },
    )
    assert ok.status_code == 201, ok.content
    refused = call(client, "POST", "/persons", {"id_number": "11010519491231002X", "name": "x"})
    assert refused.status_code == 403


def test_the_ministry_creates_an_area(ministry_api):
    response = call(ministry_api, "POST", "/areas", {"code": "440300", "name": "深圳市"})
    assert response.status_code == 201
    assert response.json() == {
        "code": "440300",
        "name": "深圳市",
        "issuer_id": None,
        "status": "preparing",
    }
