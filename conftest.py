"""Shared fixtures: two issuing areas and, in each, people in every role.

The house pattern (owner, colleague, stranger): `owner` is a registrar of
area A (Nanjing), `colleague` another officer of area A, `stranger` a
registrar of area B (Beijing) who must be refused everything of area A.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import token_issue, user_create
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Area, Employer, Employment, Person

# Browser tests (headless Chromium) may live beside any app's tests.
pytest_plugins = ["shebao.web.tests.browser.fixtures"]

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    # Background jobs run inside the request that submits them; their files
    # go to the session's temporary folder.
    settings.JOBS_INLINE = True
    settings.JOBS_DIR = tmp_path_factory.getbasetemp() / "jobs"
    # Each test session has its own read-only switch, never the server's.
    settings.SHEBAO_READ_ONLY_FLAG = str(tmp_path_factory.getbasetemp() / "read-only.json")
    # Argon2 is deliberately slow; tests create many users. The production
    # hasher is checked by its own test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _history_cache_cleared() -> None:
    # Each test starts with an empty history cache (shebao/inquiry/cache.py): its
    # keys hold row ids, which SQLite gives out again after a test's rollback.
    caches["history"].clear()


@pytest.fixture
def ministry(db: None) -> User:
    return user_create(
        actor=None,
        username="ministry",
        password=PASSWORD,
        role=Role.MINISTRY_ADMIN,
        check_password=False,
    )


@pytest.fixture
def area(db: None) -> Area:
    return Area.objects.create(code="320100", name="南京市")


@pytest.fixture
def other_area(db: None) -> Area:
    return Area.objects.create(code="110100", name="北京市")


def make_user(username: str, role: str, area: Area, **binding: Any) -> User:
    return user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        role=role,
        area_code=area.code,
        check_password=False,
        **binding,
    )


@pytest.fixture
def area_admin(area: Area) -> User:
    return make_user("areaadmin", Role.AREA_ADMIN, area)


@pytest.fixture
def owner(area: Area) -> User:
    return make_user("owner", Role.REGISTRAR, area)


@pytest.fixture
def colleague(area: Area) -> User:
    return make_user("colleague", Role.CARD_OFFICER, area)


@pytest.fixture
def auditor(area: Area) -> User:
    return make_user("auditor", Role.AUDITOR, area)


@pytest.fixture
def stranger(other_area: Area) -> User:
    return make_user("stranger", Role.REGISTRAR, other_area)


@pytest.fixture
def employer(area: Area) -> Employer:
    return Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7A0"),
        name="南京钟山科技有限公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )


@pytest.fixture
def person(area: Area) -> Person:
    return Person.objects.create(
        area=area,
        id_number="320106198503023314",
        name="张伟",
        birth_date=dt.date(1985, 3, 2),
        sex="M",
        registered_on=dt.date(2005, 1, 1),
        phone="13800000000",
    )


@pytest.fixture
def employment(area: Area, person: Person, employer: Employer) -> Employment:
    return Employment.objects.create(
        area=area,
        person=person,
        employer=employer,
        start_date=dt.date(2016, 5, 1),
        registered_on=dt.date(2016, 5, 10),
    )


@pytest.fixture
def employer_user(area: Area, employer: Employer) -> User:
    return make_user("employer", Role.EMPLOYER, area, employer_id=employer.pk)


@pytest.fixture
def individual(area: Area, person: Person) -> User:
    return make_user("person", Role.INDIVIDUAL, area, person_id=person.pk)


def api_client(user: User) -> Client:
    _token, raw = token_issue(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def owner_api(owner: User) -> Client:
    return api_client(owner)


@pytest.fixture
def stranger_api(stranger: User) -> Client:
    return api_client(stranger)


@pytest.fixture
def ministry_api(ministry: User) -> Client:
    return api_client(ministry)


# --- cards -------------------------------------------------------------------


@pytest.fixture
def approved_area(area: Area, ministry: User) -> Area:
    from shebao.registry.services import area_approve

    return area_approve(actor=ministry, area=area, issuer_id="320100A1")


@pytest.fixture
def card_officer(colleague: User) -> User:
    """The colleague is a card officer."""
    return colleague


@pytest.fixture
def second_officer(area: Area) -> User:
    return make_user("officer2", Role.CARD_OFFICER, area)


@pytest.fixture
def cashier(area: Area) -> User:
    return make_user("cashier", Role.CASHIER, area)


@pytest.fixture
def outlet(area: Area) -> Any:
    return area.outlets.create(code="WD001", name="玄武区社会保险服务大厅")


@pytest.fixture
def card_officer_api(card_officer: User) -> Client:
    return api_client(card_officer)
