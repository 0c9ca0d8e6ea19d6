"""The exceptions every shebao service raises.

Services raise; they never return error values. Each error carries a stable
machine `code` (API clients switch on it), the `field` it concerns where there
is one, and a message that reads in the active language (Chinese by default,
English on request): what was wrong, where, and what is expected. The API and
the portals turn these into responses in one place each.

    DomainError            400  the request breaks a business rule
      InvalidInput         400  a field's value is malformed
      Conflict             409  the record already exists / state forbids it
      NotFound             404  nothing the actor may see has that key
      Forbidden            403  the actor's role may not do this
      ReadOnlyMode         503  the system is in maintenance (emergency plan)
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    default_code = "rule_violated"

    def __init__(
        self,
        message: Any,
        *,
        code: str | None = None,
        field: str | None = None,
        params: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        # `message` is a lazy translation (gettext_lazy) or plain text; it is
        # rendered when read so that the caller's language applies.
        self.message_template = message
        self.code = code or self.default_code
        self.field = field
        self.params = params or {}
        # Machine-readable extras for API clients, e.g. the next step to offer.
        self.detail = detail or {}
        super().__init__(self.code)

    @property
    def message(self) -> str:
        text = str(self.message_template)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.detail:
            body["detail"] = self.detail
        return body


class InvalidInput(DomainError):
    default_code = "invalid_input"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class ReadOnlyMode(DomainError):
    status = 503
    default_code = "read_only"
