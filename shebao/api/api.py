"""REST API v1: one NinjaAPI, one thin router per app.

Authentication: `Authorization: Bearer <token>` for machine clients (bank,
card vendor), or the portal's session cookie with its CSRF token. Every
error is JSON `{"code": ..., "message": ..., "field"?: ...}`: `code` is
stable for programs, `message` reads in the request's language
(Accept-Language: zh-hans or en).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from shebao.accounts.services import token_authenticate
from shebao.core.errors import DomainError


class TokenAuth(HttpBearer):
    """Bearer token issued with `shebao token issue` (only its digest is stored)."""

    openapi_description = "API token: `Authorization: Bearer sbk_…`"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="shebao API",
    version="1",
    description=(
        "The REST API of a social security card issuing area: registry (areas, outlets, "
        "persons, employers, employments). Errors are JSON objects with a stable `code` and a "
        "readable `message` (Chinese by default; send `Accept-Language: en` for English). "
        "Lists are paged: `page` (from 1) and `page_size` (at most 200)."
    ),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api-v1",
)

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_input",
    429: "throttled",
}


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, error.as_dict(), status=error.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    problems = []
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload")]
        problems.append({"field": ".".join(location), "message": item.get("msg", "")})
    first = problems[0] if problems else {"field": "", "message": ""}
    body = {
        "code": "invalid_input",
        "message": _("Field %(field)s: %(message)s") % first
        if first["field"]
        else first["message"],
        "field": first["field"],
        "errors": problems,
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    body = {
        "code": "not_authenticated",
        "message": _("Sign in, or send a valid API token as 'Authorization: Bearer <token>'."),
    }
    return api.create_response(request, body, status=401)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    body = {"code": "not_found", "message": _("Nothing was found at this address.")}
    return api.create_response(request, body, status=404)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    body = {"code": STATUS_CODES.get(error.status_code, "error"), "message": str(error)}
    return api.create_response(request, body, status=error.status_code)


def _register_routers() -> None:
    from shebao.api import (
        accounts,
        approval,
        billing,
        card_fees,
        card_production,
        cards,
        complaints,
        consultation,
        control,
        declarations,
        ecard,
        emergency,
        employer_portal,
        flexible,
        jobs,
        me,
        payments,
        plans,
        registry,
        statements,
    )

    for module in (
        registry,
        cards,
        card_production,
        card_fees,
        ecard,
        declarations,
        billing,
        payments,
        accounts,
        jobs,
        flexible,
        complaints,
        consultation,
        statements,
        me,
        employer_portal,
        plans,
        approval,
        control,
        emergency,
    ):
        api.add_router("/", module.router)


_register_routers()
