from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shebao.accounts.roles import STAFF


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    is_staff_user = bool(user and user.is_authenticated and getattr(user, "role", None) in STAFF)
    return {"portal_staff": is_staff_user, "read_only": getattr(request, "read_only", None)}
