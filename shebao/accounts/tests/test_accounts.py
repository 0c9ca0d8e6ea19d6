"""Accounts: role bindings held by the database, Argon2, throttled login, tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD
from shebao.accounts.models import ApiToken, LoginAttempt, User
from shebao.accounts.roles import Role
from shebao.accounts.services import token_authenticate, token_issue, token_revoke, user_create
from shebao.audit.models import AuditEvent
from shebao.core.errors import Forbidden, InvalidInput

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(settings, area):
    from shebao import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = user_create(
        actor=None,
        username="hashed",
        password=PASSWORD,
        role=Role.CASHIER,
        area_code=area.code,
        check_password=False,
    )
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def test_the_database_refuses_a_user_whose_binding_does_not_match_the_role(area):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="loose", role=Role.EMPLOYER, area=area)


def test_the_service_explains_a_missing_binding(area):
    with pytest.raises(InvalidInput) as caught:
        user_create(
            actor=None,
            username="x",
            password=PASSWORD,
            role=Role.INDIVIDUAL,
            area_code=area.code,
            check_password=False,
        )
    assert caught.value.code == "user_binding"


def test_an_area_admin_creates_staff_only_in_their_area(area_admin, area, other_area):
    user = user_create(
        actor=area_admin,
        username="new",
        password="a-long-enough-pass-2026",
        role=Role.CASHIER,
        area_code=area.code,
    )
    assert AuditEvent.objects.filter(action="user.create", subject_id=str(user.pk)).exists()
    with pytest.raises(Forbidden):
        user_create(
            actor=area_admin,
            username="far",
            password="a-long-enough-pass-2026",
            role=Role.CASHIER,
            area_code=other_area.code,
        )


def test_weak_passwords_are_refused(area_admin, area):
    with pytest.raises(InvalidInput) as caught:
        user_create(
            actor=area_admin,
            username="weak",
            password="123456",
            role=Role.CASHIER,
            area_code=area.code,
        )
    assert caught.value.field == "password"


def login(client, username, password):
    return client.post(reverse("web:login"), {"username": username, "password": password})


def test_login_is_throttled_after_repeated_failures(owner, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert login(client, "owner", "wrong").status_code == 200
    response = login(client, "owner", PASSWORD)  # right password, but locked
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["__all__"][0]
    assert LoginAttempt.objects.filter(username="owner", succeeded=False).count() == 5


def test_a_lock_ends_after_the_window(owner, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(client, "owner", "wrong")
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(minutes=60))
    response = login(client, "owner", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_login_forms_require_csrf(owner):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 403


def test_a_token_is_stored_only_as_its_digest(owner):
    token, raw = token_issue(actor=None, user=owner, name="bank")
    assert raw not in {token.digest, token.prefix}
    assert ApiToken.objects.get().digest == ApiToken.digest_of(raw)
    assert token_authenticate(raw) == owner


def test_revoked_expired_and_unknown_tokens_do_not_authenticate(owner):
    token, raw = token_issue(actor=None, user=owner, name="bank")
    token_revoke(actor=owner, token=token)
    assert token_authenticate(raw) is None
    _token, raw2 = token_issue(
        actor=None, user=owner, name="old", expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert token_authenticate(raw2) is None
    assert token_authenticate("sbk_nonsense") is None
    assert token_authenticate("") is None


def test_a_deactivated_users_token_stops_working(owner):
    _token, raw = token_issue(actor=None, user=owner, name="bank")
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert token_authenticate(raw) is None
