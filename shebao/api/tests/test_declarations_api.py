"""Declaration endpoints: an employer uploads a month with one bad row, and
strangers and anonymous callers are refused everywhere."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import api_client
from shebao.contributions.models import DeclarationLine
from shebao.registry.models import Employment, Person

pytestmark = pytest.mark.django_db

LINE = {"employer": "{employer}", "person": "{person}", "period": "2026-10-01", "wage": "9000"}
OPERATIONS = [
    ("GET", "/declarations/template", None, "template"),
    ("POST", "/declarations/uploads", "file", "refused"),
    ("GET", "/declarations/uploads/{upload}", None, "refused"),
    ("GET", "/declarations/uploads/{upload}/errors.csv", None, "refused"),
    ("GET", "/declarations", None, "list"),
    ("POST", "/declarations", LINE, "refused"),
    ("POST", "/declarations/{line}/correct", {"wage": "1", "reason": "x"}, "refused"),
]


def october_file(*rows):
    body = "\n".join(["身份证号码,姓名,月工资", *rows]) + "\n"
    return SimpleUploadedFile("october.csv", body.encode(), content_type="text/csv")


@pytest.fixture
def world(employer_user, employer, person, employment):
    client = api_client(employer_user)
    response = client.post(
        "/api/v1/declarations/uploads",
        {
            "employer": employer.pk,
            "period": "2026-10-01",
            "file": october_file("320106198503023314,张伟,9000", "110105194912310021,李秀英,100"),
        },
    )
    assert response.status_code == 201, response.content
    return {
        "employer": employer.pk,
        "person": person.pk,
        "upload": response.json()["id"],
        "line": DeclarationLine.objects.get().pk,
        "client": client,
    }


def call(client, method, path, payload, world):
    path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
    if payload == "file":
        return client.post(
            path,
            {
                "employer": world["employer"],
                "period": "2026-10-01",
                "file": october_file("320106198503023314,张伟,9000"),
            },
        )
    if payload is None:
        return getattr(client, method.lower())(path)
    import json

    body = re.sub(r'"\{(\w+)\}"', lambda m: str(world[m.group(1)]), json.dumps(payload))
    return getattr(client, method.lower())(path, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_a_stranger_is_refused(world, stranger_api, method, path, payload, kind):
    response = call(stranger_api, method, path, payload, world)
    if kind == "list":
        assert response.status_code == 200 and response.json()["items"] == []
    elif kind == "template":
        assert response.status_code == 200  # the blank template holds no one's data
    else:
        assert response.status_code in (403, 404), response.content


@pytest.mark.parametrize(("method", "path", "payload", "kind"), OPERATIONS)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    assert call(Client(), method, path, payload, world).status_code == 401


def test_the_upload_answers_row_by_row(world):
    body = world["client"].get(f"/api/v1/declarations/uploads/{world['upload']}").json()
    assert (body["rows_read"], body["rows_accepted"], body["rows_rejected"]) == (2, 1, 1)
    assert body["errors"][0]["line"] == 3 and body["errors"][0]["code"] == "id_number_check"
    errors = world["client"].get(f"/api/v1/declarations/uploads/{world['upload']}/errors.csv")
    assert "id_number_check" in errors.content.decode()


def test_a_correction_is_a_reversal_and_a_new_line(world):
    response = world["client"].post(
        f"/api/v1/declarations/{world['line']}/correct",
        data={"wage": "9500", "reason": "加班费漏报"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    listed = world["client"].get("/api/v1/declarations?period=2026-10-01").json()
    assert sorted((item["kind"], item["wage"]) for item in listed["items"]) == [
        ("declared", "9000.00"),
        ("declared", "9500.00"),
        ("reversal", "9000.00"),
    ]


def test_a_single_line_for_someone_not_employed_is_refused(world, area, employer):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    Employment.objects.create(
        area=area,
        person=other,
        employer=employer,
        start_date=dt.date(2027, 1, 1),
        registered_on=dt.date(2026, 11, 1),
    )
    response = call(world["client"], "POST", "/declarations", {**LINE, "person": other.pk}, world)
    assert response.status_code == 409
    assert response.json()["code"] == "not_employed"
