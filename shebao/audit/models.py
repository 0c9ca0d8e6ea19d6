"""Audit: the hash-chained record of every write, and the access log.

Every service that writes appends an AuditEvent in the same transaction.
Events form one chain per issuing area (chain "000000" holds national events
such as approving an area), so areas append independently and a chain can
live on its area's shard. Each event stores the hash of its predecessor and
the SHA-256 of its own canonical content (see `canonical()`); AuditHead holds
the newest (seq, hash) per chain so that cutting events off the end is
detected as surely as editing or deleting one in the middle.

AccessEvent records staff reads of personal records (Personal Information
Protection Law art. 51, PIPL: access control and logging). It is append-only
but not chained: reads are frequent, and chaining them would serialise every
page view on one row.

Neither table is ever updated or deleted by the application.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

NATIONAL_CHAIN = "000000"
GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    chain = models.CharField(max_length=6)
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq")]
        indexes = [
            models.Index(fields=["chain", "subject_type", "subject_id"]),
            models.Index(fields=["chain", "at"]),
            models.Index(fields=["actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit events are append-only")

    def canonical(self) -> str:
        """The exact text that is hashed: every field except the hash itself."""
        content: dict[str, Any] = {
            "chain": self.chain,
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "subject": [self.subject_type, self.subject_id],
            "before": self.before,
            "after": self.after,
            "prev": self.prev_hash,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()


class AuditHead(models.Model):
    chain = models.CharField(max_length=6, primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq}"


class AccessEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True)
    area_code = models.CharField(max_length=6)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=64)
    # The persons whose records were shown (ids); a search lists them all.
    person_ids = models.JSONField(default=list)
    detail = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        indexes = [models.Index(fields=["area_code", "at"]), models.Index(fields=["actor", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action}"
