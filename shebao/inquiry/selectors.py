"""Reads of statements, scoped to the acting user, and the public verification.

- The holder sees their own statements; area staff who read statements
  (`statement.read`) see their area's, and opening one (its content or its
  PDF) is logged in the access log (PIPL); everyone else sees none, and a
  statement out of reach is "not found".
- Verification is public: anyone holding a code (or a PDF) learns whether it
  is genuine and only what the holder chose to share. It is rate-limited per
  address (a counter in the cache), so codes cannot be guessed in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import can
from shebao.audit.services import access_record
from shebao.cards.models import AreaSigningKey
from shebao.core.errors import DomainError, NotFound
from shebao.inquiry import pdf
from shebao.inquiry.models import Statement, StatementBatch
from shebao.inquiry.statements import (
    digest_of,
    looks_like_code,
    normalize_code,
    parse,
    shared_view,
    signature_valid,
)


def statements_for(user: User) -> QuerySet[Statement]:
    """The statements the user may see, without their content (lists)."""
    rows = Statement.objects.defer("canonical", "signature")
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if can(user, "statement.own"):
        return rows.filter(area_id=user.area_id, person_id=user.person_id or 0)
    if can(user, "statement.read"):
        return rows.filter(area_id=user.area_id)
    return rows.none()


def statement_get(user: User, pk: int, *, purpose: str = "statement.view") -> Statement:
    """One statement with its content; a reader other than the holder is logged."""
    try:
        found = Statement.objects.select_related("key", "person", "area").get(
            pk=pk, pk__in=statements_for(user).values("pk")
        )
    except (Statement.DoesNotExist, ValueError):
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            params={"what": _("rights record statement")},
        ) from None
    access_record(actor=user, action=purpose, area_code=found.area_id, person_ids=[found.person_id])
    return found


def batches_for(user: User) -> QuerySet[StatementBatch]:
    rows = StatementBatch.objects.select_related("started_by")
    if can(user, "statement.issue") or can(user, "statement.read"):
        return rows.filter(area_id=user.area_id)
    return rows.none()


# --- public verification --------------------------------------------------------------


class VerifyThrottled(DomainError):
    status = 429
    default_code = "throttled"


def verify_throttle(address: str | None) -> None:
    """Count a check from `address`; refuse beyond STATEMENT_VERIFY_LIMIT per window."""
    window = settings.STATEMENT_VERIFY_WINDOW_SECONDS
    key = f"shebao:statement-verify:{address or '-'}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > settings.STATEMENT_VERIFY_LIMIT:
        raise VerifyThrottled(
            _("Too many checks from your address. Try again in %(minutes)s minutes."),
            params={"minutes": max(window // 60, 1)},
        )


REASONS: dict[str, Any] = {
    "ok": _("Genuine: the agency issued this statement and its content is unchanged."),
    "unknown_code": _("No statement has this code. Check the code and try again."),
    "record_altered": _(
        "Not genuine: the statement on record no longer matches the agency's signature. "
        "Tell the agency."
    ),
    "pdf_unreadable": _("The file is not a PDF this page can read (at most 5 MB)."),
    "pdf_without_statement": _("Not genuine: the PDF carries no signed statement of this agency."),
    "pdf_altered": _("Not genuine: the content of the PDF was changed after the agency signed it."),
    "pdf_not_on_record": _(
        "Not genuine: the PDF does not match the statement on record under its code."
    ),
}


@dataclass(frozen=True)
class Verification:
    genuine: bool
    reason: str
    message: str
    code: str | None = None
    shared: dict[str, Any] = field(default_factory=dict)


def _answer(reason: str, statement: Statement | None = None) -> Verification:
    if reason != "ok" or statement is None:
        return Verification(genuine=False, reason=reason, message=str(REASONS[reason]))
    return Verification(
        genuine=True,
        reason="ok",
        message=str(REASONS["ok"]),
        code=statement.code,
        shared=shared_view(parse(statement.canonical), list(statement.shared_fields)),
    )


def stored_reason(statement: Statement) -> str:
    """ "ok" if the stored content still has its digest and the area's signature."""
    canonical = statement.canonical
    if digest_of(canonical) != statement.digest:
        return "record_altered"
    try:
        content = parse(canonical)
    except ValueError:
        return "record_altered"
    if content.get("code") != statement.code or content.get("key") != statement.key.key_id:
        return "record_altered"
    if not signature_valid(statement.key.public_key, canonical, bytes(statement.signature)):
        return "record_altered"
    return "ok"


def _by_code(code: str) -> Statement | None:
    return Statement.objects.select_related("key").filter(code=code).first()


def statement_verify(code: str, *, address: str | None) -> Verification:
    """Whether the statement with this code is genuine, and what its holder shares."""
    verify_throttle(address)
    normalized = normalize_code(code)
    statement = _by_code(normalized) if looks_like_code(normalized) else None
    if statement is None:
        return _answer("unknown_code")
    return _answer(stored_reason(statement), statement)


def statement_verify_pdf(data: bytes, *, address: str | None) -> Verification:
    """Whether a statement PDF is genuine: the content it carries must bear the area's
    signature and be the content on record under its code."""
    verify_throttle(address)
    try:
        canonical, signature, key_id = pdf.embedded_statement(data)
        content = parse(canonical)
        area_code = content["area"]["code"]
        code = str(content["code"])
    except pdf.UnreadablePdf as error:
        return _answer(error.reason)
    except (ValueError, KeyError, TypeError):
        return _answer("pdf_without_statement")
    key = AreaSigningKey.objects.filter(key_id=key_id, area_id=area_code).first()
    if (
        key is None
        or content.get("key") != key_id
        or not signature_valid(key.public_key, canonical, signature)
    ):
        return _answer("pdf_altered")
    statement = _by_code(code) if looks_like_code(code) else None
    if statement is None:
        return _answer("unknown_code")
    if statement.digest != digest_of(canonical):
        return _answer("pdf_not_on_record")
    return _answer(stored_reason(statement), statement)
