"""The life of a complaint as one table: (status, operation) → new status.

Every service that changes a case asks `next_status()`; nothing else decides
what may follow what. The empty status "" is a case not yet in existence:
filing, recording and receiving a transfer all create it "received".
Assigning and commenting keep the status, and are allowed only while the case
is open. A pair not listed is refused with the error `invalid_transition`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from shebao.complaints.models import OPEN_STATUSES
from shebao.complaints.models import ComplaintStatus as S
from shebao.core.errors import Conflict

NEW = ""


class Op:
    """Operations on a case, in the order of its life."""

    FILE = "file"  # by the person, online
    RECORD = "record"  # by staff, for a phone call, letter or visit
    TRANSFER_IN = "transfer_in"  # continued here after another area transferred it
    ASSIGN = "assign"
    ACCEPT = "accept"
    INVESTIGATE = "investigate"
    RESOLVE = "resolve"
    REJECT = "reject"
    TRANSFER = "transfer"
    COMMENT = "comment"


OPERATIONS = [value for name, value in vars(Op).items() if name.isupper()]

TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, Op.FILE): S.RECEIVED,
    (NEW, Op.RECORD): S.RECEIVED,
    (NEW, Op.TRANSFER_IN): S.RECEIVED,
    (S.RECEIVED, Op.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, Op.REJECT): S.REJECTED,
    (S.RECEIVED, Op.TRANSFER): S.TRANSFERRED,
    (S.ACCEPTED, Op.INVESTIGATE): S.INVESTIGATING,
    (S.ACCEPTED, Op.RESOLVE): S.RESOLVED,
    (S.ACCEPTED, Op.REJECT): S.REJECTED,
    (S.ACCEPTED, Op.TRANSFER): S.TRANSFERRED,
    (S.INVESTIGATING, Op.RESOLVE): S.RESOLVED,
    # Jurisdiction may turn out to lie elsewhere only once the facts are known.
    (S.INVESTIGATING, Op.TRANSFER): S.TRANSFERRED,
    **{(status, Op.ASSIGN): status for status in sorted(OPEN_STATUSES)},
    **{(status, Op.COMMENT): status for status in sorted(OPEN_STATUSES)},
}

# Why an operation is refused, where "not allowed" would leave staff without
# the next step.
HINTS: dict[tuple[str, str], Any] = {
    (S.RECEIVED, Op.RESOLVE): _("Accept the complaint before resolving it."),
    (S.RECEIVED, Op.INVESTIGATE): _("Accept the complaint before investigating it."),
    (S.INVESTIGATING, Op.REJECT): _(
        "A complaint under investigation is resolved, with the finding as its outcome."
    ),
    (S.TRANSFERRED, Op.COMMENT): _(
        "This case was transferred; comment on the case that continues it."
    ),
}


def next_status(status: str, operation: str) -> str:
    """The status after `operation`, or Conflict naming the status and the operation."""
    try:
        return TRANSITIONS[(status, operation)]
    except KeyError:
        hint = HINTS.get((status, operation))
        raise Conflict(
            hint
            or _("Operation “%(operation)s” is not allowed on a complaint that is “%(status)s”."),
            code="invalid_transition",
            params={"operation": operation, "status": S(status).label if status else "-"},
        ) from None


def allowed_operations(status: str) -> list[str]:
    """The operations the table allows on a case in `status`, in the order of `Op`."""
    return [op for op in OPERATIONS if (status, op) in TRANSITIONS]
