from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from shebao.core.maintenance import read_only_state, refusal


class LanguageMiddleware(LocaleMiddleware):
    """Chinese unless the user chose English with the switch.

    The portals ignore the browser's Accept-Language: staff at a counter should
    see the same Chinese screens whatever the machine's locale, and switch to
    English deliberately (the choice is kept in the language cookie). The API
    honours Accept-Language, as machine clients expect.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        supported = {code for code, _name in settings.LANGUAGES}
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


# What may still be posted in read-only mode: signing in and out (inquiry needs
# a session), the language switch, and checking a document's genuineness; and
# the emergency plan's page and API (leaving the mode, backing up, restoring).
EMERGENCY_OPEN = ("/emergency/", "/api/v1/emergency")
READ_ONLY_OPEN = (
    "/login/",
    "/logout/",
    "/i18n/",
    "/verify",
    "/api/v1/statements/verify",
    *EMERGENCY_OPEN,
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ReadOnlyMiddleware:
    """In read-only maintenance mode, refuse every write request before any view.

    Services refuse writes too (audit_record checks the mode), so a path this
    misses still cannot change anything; this answers early and clearly: 503
    with the reason, as JSON for the API and as a page for the portals.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = read_only_state()
        request.read_only = state  # type: ignore[attr-defined]
        if (
            state is None
            or request.method in SAFE_METHODS
            or request.path.startswith(READ_ONLY_OPEN)
        ):
            return self.get_response(request)
        error = refusal()
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(error.as_dict(), status=error.status)
        else:
            response = render(
                request,
                "web/read_only.html",
                {"message": error.message, "state": state},
                status=error.status,
            )
        response["Retry-After"] = "600"
        return response
