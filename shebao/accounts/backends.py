"""Password login with throttling.

After LOGIN_FAILURE_LIMIT failures for one user name within the window (or
many more from one address, against password spraying) further attempts are
refused before the password is even checked, so a locked account gives no
oracle. Every attempt is recorded for auditors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from shebao.accounts.models import LoginAttempt


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def login_locked(username: str, address: str | None) -> bool:
    since = timezone.now() - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    failures = LoginAttempt.objects.filter(succeeded=False, at__gte=since)
    if failures.filter(username=username).count() >= settings.LOGIN_FAILURE_LIMIT:
        return True
    return bool(
        address
        and failures.filter(address=address).count() >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
    )


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        address = client_address(request)
        if login_locked(username, address):
            if request is not None:
                request.login_locked = True  # type: ignore[attr-defined]
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        LoginAttempt.objects.create(username=username, address=address, succeeded=user is not None)
        return user
