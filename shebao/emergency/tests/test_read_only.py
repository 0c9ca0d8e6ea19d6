"""Read-only maintenance mode refuses every write path; inquiries keep working.

The write paths are not a hand-picked list: the tests walk the whole URL
configuration and the whole OpenAPI schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from shebao.api.api import api
from shebao.audit.models import AuditEvent, AuditHead
from shebao.core import maintenance
from shebao.core.errors import Conflict, Forbidden, ReadOnlyMode
from shebao.emergency.services import read_only_enter, read_only_leave
from shebao.registry import services as registry
from shebao.registry.models import Person
from shebao.web.middleware import EMERGENCY_OPEN, READ_ONLY_OPEN

pytestmark = pytest.mark.django_db
WRITES = ("post", "put", "patch", "delete")

# The deliberate exceptions: the emergency plan's page and API must work while the
# system is read-only (leaving the mode, backing up, verifying, restoring).
EMERGENCY_PAGES = {
    "/emergency/",
    "/emergency/read-only/enter/",
    "/emergency/read-only/leave/",
    "/emergency/backups/new/",
    "/emergency/backups/x/verify/",
    "/emergency/backups/x/restore/",
}
EMERGENCY_API_WRITES = {
    ("post", "/api/v1/emergency/read-only"),
    ("delete", "/api/v1/emergency/read-only"),
    ("post", "/api/v1/emergency/backups"),
    ("post", "/api/v1/emergency/backups/1/verify"),
    ("post", "/api/v1/emergency/backups/1/restore"),
}


@pytest.fixture
def read_only(area_admin):
    read_only_enter(actor=area_admin, reason="数据库恢复")
    yield
    if maintenance.read_only_state() is not None:
        read_only_leave(actor=area_admin)


def sample_path(prefix: str, pattern: object) -> str:
    """A concrete path for a URL pattern, with a sample value in every parameter."""
    if isinstance(pattern, RoutePattern):
        route = re.sub(
            r"<(?:(\w+):)?\w+>", lambda m: "1" if m.group(1) == "int" else "x", str(pattern)
        )
    else:  # a regular expression (the admin's): fill each group, drop the anchors
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", str(pattern)).lstrip("^").rstrip("$")
        route = route.replace("\\", "")
    return prefix + route


def every_path(resolver: URLResolver | None = None, prefix: str = "/") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from every_path(entry, sample_path(prefix, entry.pattern))
        elif isinstance(entry, URLPattern):
            yield sample_path(prefix, entry.pattern)


def every_api_write() -> Iterator[tuple[str, str]]:
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method in operations:
            if method in WRITES:
                yield method, re.sub(r"\{\w+\}", "1", path)


def chain_state() -> list[tuple[str, int]]:
    return sorted(AuditHead.objects.values_list("chain", "seq"))


def test_the_only_open_writes_besides_signing_in_are_the_emergency_plans():
    assert set(READ_ONLY_OPEN) - set(EMERGENCY_OPEN) == {
        "/login/",
        "/logout/",
        "/i18n/",
        "/verify",
        "/api/v1/statements/verify",
    }
    assert EMERGENCY_OPEN == ("/emergency/", "/api/v1/emergency")


def test_every_portal_and_admin_write_is_refused(area_admin, read_only):
    client = Client()
    client.force_login(area_admin)
    before = chain_state()
    paths = sorted(set(every_path()))
    assert len(paths) > 80  # the walk found the whole URL conf, admin included
    checked = 0
    allowed = set()
    for path in paths:
        if path.startswith("/api/"):
            continue  # the next test walks the API's schema
        if path.startswith(EMERGENCY_OPEN):
            allowed.add(path)
        if path.startswith(READ_ONLY_OPEN):
            continue
        # The portals' forms post; the other write methods meet the same refusal.
        response = client.post(path)
        assert response.status_code == 503, (path, response.status_code)
        checked += 1
    assert checked > 80
    assert allowed == EMERGENCY_PAGES  # the exceptions are exactly the emergency plan's
    assert chain_state() == before  # nothing was recorded, so nothing was written


def test_every_api_write_is_refused_with_a_reason(area_admin):
    from shebao.accounts.services import token_issue

    token = token_issue(actor=area_admin, user=area_admin, name="t")[1]
    read_only_enter(actor=area_admin, reason="数据库恢复")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = chain_state()
    writes = sorted(set(every_api_write()))
    assert len(writes) > 40
    allowed = set()
    for method, path in writes:
        full = path  # the schema's paths carry the API's prefix
        assert full.startswith("/api/v1/"), full
        if full.startswith(EMERGENCY_OPEN):
            allowed.add((method, full))
        if full.startswith(READ_ONLY_OPEN):
            continue
        response = getattr(client, method)(full, data={}, content_type="application/json")
        assert response.status_code == 503, (method, full, response.status_code)
        assert response.json()["code"] == "read_only"
        assert "数据库恢复" in response.json()["message"]
    assert allowed == EMERGENCY_API_WRITES  # the exceptions are exactly the emergency plan's
    assert chain_state() == before
    read_only_leave(actor=area_admin)


def test_services_refuse_writes_without_any_request(owner, area, read_only):
    with pytest.raises(ReadOnlyMode):
        registry.person_register(
            actor=owner,
            area=area,
            id_number="320106198503023314",
            name="李四",
        )
    assert not Person.objects.filter(id_number="320106198503023314").exists()


def test_inquiries_and_sign_in_keep_working(individual, person, read_only):
    from conftest import PASSWORD

    client = Client()
    signed = client.post("/login/", {"username": individual.username, "password": PASSWORD})
    assert signed.status_code == 302
    page = client.get("/", follow=True)
    assert page.status_code == 200
    assert "数据库恢复" in page.content.decode()  # the banner says why


def test_the_switch_is_audited_and_only_for_administrators(area_admin, owner):
    with pytest.raises(Forbidden):
        read_only_enter(actor=owner, reason="x")
    read_only_enter(actor=area_admin, reason="drill")
    with pytest.raises(Conflict):
        read_only_enter(actor=area_admin, reason="again")
    read_only_leave(actor=area_admin)
    actions = list(
        AuditEvent.objects.filter(action__startswith="emergency.read_only").values_list(
            "action", flat=True
        )
    )
    assert actions == ["emergency.read_only.enter", "emergency.read_only.leave"]
    assert maintenance.read_only_state() is None
