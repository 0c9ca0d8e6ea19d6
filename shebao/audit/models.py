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

The internal-control tables at the end (chain checks, reconciliations, alerts,
samples of staff actions) are what the nightly control run and the auditors
leave behind; see their own overview below.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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


# --- internal control ------------------------------------------------------------
# What the nightly control run (`shebao nightly`, shebao.audit.nightly) leaves
# behind, and what the auditors do with it. Condition (d) of an area's approval
# (DOMAIN.md §2) asks for an issuance management system with internal control
# procedures; these tables are its evidence:
# - ChainCheck: each verification of an audit chain (one per chain and day).
# - Reconciliation: the day's card, stock and fee reconciliations of an area
#   with their differences (one per area, day and kind; a re-run replaces it).
# - Alert: an unusual pattern a detector found (shebao.audit.alerts), in the
#   auditors' queue until acknowledged or dismissed with a note. One per area,
#   kind, subject and day, so running a detector again never adds a duplicate.
# - Sample / SampleItem: a reproducible random sample of staff actions
#   (shebao.audit.sampling): the seed is kept, so the same draw can be redone;
#   the auditor marks each drawn event checked OK or a finding.


class ChainCheck(models.Model):
    chain = models.CharField(max_length=6)
    day = models.DateField(_("day"))
    checked = models.BigIntegerField(_("events checked"))
    ok = models.BooleanField()
    # The first break found, as {"seq": …, "reason": …}; empty when intact.
    breaks = models.JSONField(default=list)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")
        constraints = [
            models.UniqueConstraint(fields=["chain", "day"], name="chain_check_once_a_day")
        ]
        indexes = [models.Index(fields=["chain", "at"])]

    def __str__(self) -> str:
        return f"{self.chain} {self.day} {'ok' if self.ok else 'BROKEN'}"


class ReconciliationKind(models.TextChoices):
    CARDS = "cards", _("Cards produced and where they are")
    STOCK = "stock", _("Outlet stock against its counts")
    FEES = "fees", _("Card fees against hand-overs")


class Reconciliation(models.Model):
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=8, choices=ReconciliationKind.choices)
    ok = models.BooleanField()
    # Each difference as {"code", "message", and what it concerns: card, fee, outlet…}.
    differences = models.JSONField(default=list)
    # The figures the reconciliation balanced (lines, totals), for the page.
    figures = models.JSONField(default=dict)
    run_at = models.DateTimeField()

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "day", "kind"], name="reconciliation_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day} {self.kind} {'ok' if self.ok else 'differences'}"


class AlertKind(models.TextChoices):
    REPEATED_REPLACEMENTS = "repeated_replacements", _("Repeated card replacements")
    BULK_READS = "bulk_reads", _("Bulk reads of personal records")
    BACKDATED_CORRECTIONS = "backdated_corrections", _("Back-dated contribution corrections")
    OUT_OF_HOURS = "out_of_hours", _("Actions outside working hours")


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DISMISSED = "dismissed", _("Dismissed")


class Alert(models.Model):
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    # What the pattern is about, as "<type>:<id>": "person:12", "user:7", "employer:3".
    subject = models.CharField(_("subject"), max_length=64)
    day = models.DateField(_("day"))
    detail = models.JSONField(default=dict)
    raised_at = models.DateTimeField(_("raised at"))
    status = models.CharField(
        _("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    note = models.TextField(_("auditor's note"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "kind", "subject", "day"], name="alert_once_per_subject_and_day"
            ),
            models.CheckConstraint(
                name="alert_handled_has_handler",
                condition=models.Q(status=AlertStatus.OPEN)
                | models.Q(handled_by__isnull=False, handled_at__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["area", "status", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.day} {self.kind} {self.subject} {self.status}"


class Sample(models.Model):
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    size = models.PositiveIntegerField(_("events asked for"))
    seed = models.BigIntegerField(_("seed"))
    # How many staff events the period held, and the digest of their ids in
    # order: redrawing with the seed must find the same population.
    population = models.PositiveIntegerField(_("population"))
    population_sha256 = models.CharField(max_length=64)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drawn_at = models.DateTimeField()

    class Meta:
        verbose_name = _("sample of staff actions")
        verbose_name_plural = _("samples of staff actions")
        indexes = [models.Index(fields=["area", "drawn_at"])]
        constraints = [
            models.CheckConstraint(
                name="sample_period", condition=models.Q(period_start__lte=models.F("period_end"))
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.period_start}–{self.period_end} ({self.size})"


class SampleVerdict(models.TextChoices):
    PENDING = "pending", _("Not checked yet")
    OK = "ok", _("Checked, in order")
    FINDING = "finding", _("Finding")


class SampleItem(models.Model):
    sample = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveIntegerField()
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(
        max_length=8, choices=SampleVerdict.choices, default=SampleVerdict.PENDING
    )
    note = models.TextField(blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sampled event")
        verbose_name_plural = _("sampled events")
        constraints = [
            models.UniqueConstraint(fields=["sample", "event"], name="sample_event_once"),
            models.UniqueConstraint(fields=["sample", "position"], name="sample_position_once"),
            models.CheckConstraint(
                name="sample_finding_has_note",
                condition=~models.Q(verdict=SampleVerdict.FINDING) | ~models.Q(note=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sample_id}#{self.position} {self.event_id} {self.verdict}"
