"""Writes to accounts: users and API tokens, each audited."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import ApiToken, User
from shebao.accounts.roles import AREA_STAFF, Role, require
from shebao.audit.services import audit_record, snapshot
from shebao.core.errors import Conflict, InvalidInput

USER_FIELDS = [
    "id",
    "username",
    "role",
    "full_name",
    "area_id",
    "employer_id",
    "person_id",
    "is_active",
]
TOKEN_PREFIX = "sbk_"


def _check_binding(
    role: str, area_code: str | None, employer_id: int | None, person_id: int | None
) -> None:
    needs = {
        Role.MINISTRY_ADMIN: (False, False, False),
        Role.EMPLOYER: (True, True, False),
        Role.INDIVIDUAL: (True, False, True),
    }.get(Role(role), (True, False, False))
    given = (area_code is not None, employer_id is not None, person_id is not None)
    if given != needs:
        raise InvalidInput(
            _("A %(role)s account must be bound to: %(binding)s."),
            code="user_binding",
            field="role",
            params={
                "role": Role(role).label,
                "binding": ", ".join(
                    str(name)
                    for name, needed in zip(
                        (_("area"), _("employer"), _("person")), needs, strict=True
                    )
                    if needed
                )
                or "-",
            },
        )


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: str,
    full_name: str = "",
    area_code: str | None = None,
    employer_id: int | None = None,
    person_id: int | None = None,
    check_password: bool = True,
) -> User:
    """Create an account. `actor=None` is the set-up path (first administrator, demo data)."""
    if role not in Role.values:
        raise InvalidInput(
            _("Unknown role %(role)s."), code="role", field="role", params={"role": role}
        )
    if actor is not None:
        require(actor, "user.manage", area_code=area_code if role != Role.MINISTRY_ADMIN else None)
        if role == Role.MINISTRY_ADMIN and actor.role != Role.MINISTRY_ADMIN:
            raise InvalidInput(
                _("Only the ministry may create ministry accounts."), code="role", field="role"
            )
    _check_binding(role, area_code, employer_id, person_id)
    if User.objects.filter(username=username).exists():
        raise Conflict(
            _("User name %(username)s is taken."),
            code="username_taken",
            field="username",
            params={"username": username},
        )
    user = User(
        username=username,
        role=role,
        full_name=full_name,
        area_id=area_code,
        employer_id=employer_id,
        person_id=person_id,
        is_staff=role in AREA_STAFF or role == Role.MINISTRY_ADMIN,
        is_superuser=role == Role.MINISTRY_ADMIN,
    )
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise InvalidInput(
                " ".join(error.messages), code="weak_password", field="password"
            ) from None
    user.set_password(password)
    user.save()
    audit_record(
        actor=actor,
        action="user.create",
        subject=user,
        area_code=area_code,
        after=snapshot(user, USER_FIELDS),
    )
    return user


@transaction.atomic
def token_issue(
    *, actor: User | None, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Issue an API token for a machine client; the raw token is returned once, never stored."""
    if actor is not None:
        require(actor, "token.issue", area_code=user.area_id if not user.is_ministry else None)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "token",
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=ApiToken.digest_of(raw),
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="token.issue",
        subject=token,
        area_code=user.area_id,
        after=snapshot(token, ["id", "user_id", "name", "prefix", "expires_at"]),
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if actor.pk != token.user_id:
        require(actor, "token.issue", area_code=token.user.area_id)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="token.revoke",
        subject=token,
        area_code=token.user.area_id,
        after={"revoked_at": token.revoked_at},
    )
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user behind a raw token, or None; marks the token used."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    # Touch at most once a minute: a busy client should not write on every call.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
