"""Inquiry: personal rights record statements (SIL arts. 4, 74; DOMAIN §5).

Design notes
- A `Statement` is one personal rights record statement the agency gives a
  person, free of charge: the yearly one every insured person of the area
  gets (the batch), or one on request as of a day. Its content is gathered
  by `statements.statement_content` from the contribution records
  (`contributions.personal`, `contributions.payments.person_arrears`) and
  kept as **canonical JSON text** (`canonical`: sorted keys, no spaces,
  UTF-8), the exact bytes that were signed. Text, not a JSON column: a
  database that re-orders keys or re-formats numbers (PostgreSQL's jsonb)
  would change the bytes and break the signature.
- `digest` is the SHA-256 of those bytes and `signature` the area's Ed25519
  signature of them, by the area signing key of the electronic card
  (`cards.AreaSigningKey`; `key` says which one, so a statement stays
  verifiable after the key is retired). The content names its own code, key
  and area, so a signature never vouches for another statement.
- `code` is the public verification code: 16 characters of base32 (80
  random bits), printed on the PDF and in its QR code (`<site>/verify/<code>`).
  Anyone holding it sees on the verify page whether the statement is genuine
  and only the parts the holder chose to share (`shared_fields`; by default
  the masked name and identity number, the period and the totals).
- PDFs are rendered when downloaded, from `canonical`, never stored: the
  same document can be rendered again at any time, and carries the signed
  content as an attachment so that a PDF file can itself be verified.
- Rows are written only by `inquiry.services` and never changed, except
  `shared_fields` (the holder's choice, audited). A yearly statement exists
  once per area, person and year (a partial unique index): a batch run again
  after an interruption skips the persons who have theirs.
- A `StatementBatch` records the yearly run of an area: persons in scope
  (`total`), statements made so far (`done`), status and times. One row per
  area and year; running it again resumes it.
- A `HistoryVersion` says which state of the contribution records a cached
  contribution history was built from (`inquiry.cache`): one row for an area,
  one per employer, one per person, each holding a token the writers replace
  (`cache.history_changed`) in the transaction that changes what a history
  shows. A token is random, not a counter, so a database restored from a
  backup never brings back a token a cache has already seen with other data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StatementKind(models.TextChoices):
    YEARLY = "yearly", _("Yearly statement")
    ON_REQUEST = "on_request", _("On request")


class Statement(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=StatementKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    as_of = models.DateField(_("as of"))
    canonical = models.TextField(_("content (canonical JSON)"))
    digest = models.CharField(_("SHA-256 of the content"), max_length=64)
    signature = models.BinaryField()  # raw 64-byte Ed25519 signature of `canonical`
    key = models.ForeignKey(
        "cards.AreaSigningKey", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    code = models.CharField(_("verification code"), max_length=16, unique=True)
    shared_fields = models.JSONField(_("shown on the verify page"), default=list)
    batch = models.ForeignKey(
        "StatementBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField()
    # Empty for the yearly batch run by the system (a scheduled command).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("rights record statement")
        verbose_name_plural = _("rights record statements")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "person", "year"],
                condition=Q(kind="yearly"),
                name="statement_yearly_once",
            ),
        ]
        indexes = [models.Index(fields=["area", "person", "created_at"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.year} {self.kind}"


class BatchStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Stopped")


class StatementBatch(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    total = models.PositiveIntegerField(_("persons"), default=0)
    done = models.PositiveIntegerField(_("statements made"), default=0)
    status = models.CharField(
        _("status"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    error = models.CharField(_("why it stopped"), max_length=300, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("statement batch")
        verbose_name_plural = _("statement batches")
        constraints = [
            models.UniqueConstraint(fields=["area", "year"], name="statement_batch_once"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.year}"


class VersionScope(models.TextChoices):
    AREA = "area", _("Area")
    EMPLOYER = "employer", _("Employer")
    PERSON = "person", _("Person")


class HistoryVersion(models.Model):
    """The current token of an area's, an employer's or a person's contribution records.

    `subject` is the employer's or the person's key (0 for the area). Absent
    rows have never changed through the services."""

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    scope = models.CharField(max_length=8, choices=VersionScope.choices)
    subject = models.BigIntegerField()
    token = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area", "scope", "subject"], name="history_version_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.scope} {self.subject}"
