"""Writing to the audit chain and the access log, and verifying the chain."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from shebao.audit.models import GENESIS_HASH, NATIONAL_CHAIN, AccessEvent, AuditEvent, AuditHead
from shebao.core.maintenance import check_writable


def json_value(value: Any) -> Any:
    """A value as it is kept in before/after: JSON-native, exact, no floats."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited picture of a row: its concrete fields (or `fields`) by column name."""
    names = (
        list(fields) if fields is not None else [f.attname for f in instance._meta.concrete_fields]
    )
    return {name: json_value(getattr(instance, name)) for name in names}


def _locked_head(chain: str) -> AuditHead:
    try:
        return AuditHead.objects.select_for_update().get(chain=chain)
    except AuditHead.DoesNotExist:
        try:
            with transaction.atomic():
                AuditHead.objects.create(chain=chain)
        except IntegrityError:
            pass  # another transaction created it first
        return AuditHead.objects.select_for_update().get(chain=chain)


def audit_record(
    *,
    actor: Any,
    action: str,
    subject: models.Model | tuple[str, str],
    area_code: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the area's chain inside the caller's transaction.

    The chain head row is locked for the rest of the transaction, so appends
    to one chain are serialised and the chain stays linear.
    """
    # Every write passes here: in read-only maintenance mode, none but the
    # mode's own switch is recorded, so none is made (emergency plan).
    check_writable(action)
    if isinstance(subject, models.Model):
        subject_type, subject_id = subject._meta.label_lower, str(subject.pk)
    else:
        subject_type, subject_id = subject
    chain = area_code or NATIONAL_CHAIN
    with transaction.atomic():
        head = _locked_head(chain)
        event = AuditEvent(
            chain=chain,
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_name=getattr(actor, "username", None) or "system",
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=json_value(before) if before is not None else None,
            after=json_value(after) if after is not None else None,
            prev_hash=head.hash,
        )
        event.hash = event.compute_hash()
        event.save()
        AuditHead.objects.filter(chain=chain).update(seq=event.seq, hash=event.hash)
    return event


def access_record(
    *, actor: Any, action: str, area_code: str, person_ids: Iterable[int], **detail: Any
) -> AccessEvent | None:
    """Log that `actor` was shown the records of these persons (PIPL).

    A person looking at their own records is not a third-party access and is
    not logged.
    """
    ids = sorted({int(pk) for pk in person_ids})
    if not ids or ids == [getattr(actor, "person_id", None)]:
        return None
    return AccessEvent.objects.create(
        actor=actor,
        action=action,
        area_code=area_code,
        person_ids=ids,
        detail=json_value(detail),
    )


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"chain {self.chain}: broken at event #{self.seq}: {self.reason}"


def _events(chain: str) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=5000)


def audit_verify_chain(chain: str) -> tuple[int, ChainBreak | None]:
    """Walk one chain from the start; return (events checked, first break or None)."""
    expected_seq, expected_prev, checked = 1, GENESIS_HASH, 0
    for event in _events(chain):
        if event.seq != expected_seq:
            return checked, ChainBreak(
                chain, expected_seq, f"event missing (next present is #{event.seq})"
            )
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(chain, event.seq, "does not link to its predecessor")
        if event.compute_hash() != event.hash:
            return checked, ChainBreak(chain, event.seq, "content was altered after it was written")
        expected_seq, expected_prev, checked = event.seq + 1, event.hash, checked + 1
    head = AuditHead.objects.filter(chain=chain).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != expected_seq - 1 or head_hash != expected_prev:
        return checked, ChainBreak(
            chain,
            expected_seq,
            f"events after #{expected_seq - 1} are missing (head is #{head_seq})",
        )
    return checked, None


def audit_chains() -> list[str]:
    chains = set(AuditHead.objects.values_list("chain", flat=True))
    chains.update(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return sorted(chains)


def audit_verify() -> tuple[int, list[ChainBreak]]:
    """Verify every chain; return the number of events checked and each chain's first break."""
    total, breaks = 0, []
    for chain in audit_chains():
        checked, broken = audit_verify_chain(chain)
        total += checked
        if broken:
            breaks.append(broken)
    return total, breaks
