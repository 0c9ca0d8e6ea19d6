"""Approval of card issuing areas by the ministry (DOMAIN.md §2).

Design notes
- Only an area the ministry approved issues cards; approval assigns its
  issuer ID (MOHRSS card management measures, 2011). The area applies with
  an `AreaApplication`; its life is the table `services.TRANSITIONS`
  (draft → submitted → approved / rejected; draft or submitted → withdrawn).
  Three kinds: *initial* approval, *re-approval* (after the card face or the
  file structure changed) and *filing* (a new vendor or product, or added
  volume), which the ministry acknowledges and which never blocks work.
- Each application of the first two kinds carries a checklist of the
  technical conditions (a)–(e), one `ConditionItem` per item. Items the
  system can prove itself are live checks registered in `approval.checks`
  by any app; their results are recorded on the item when the area submits
  and again when the ministry decides. Conditions no check covers get one
  item the area evidences by hand, and every active `ExtraCondition` the
  ministry set for the area (condition e) is one more such item. The
  ministry approves only when every item is met, or overrides with a
  written reason that goes into the audit chain.
- Documents (preparation report, card-face design, file structure, local
  management rules) are files under settings.APPROVAL_DOCUMENTS_DIR, named
  by area and SHA-256 so a file is never overwritten; an upload is a new
  `ApplicationDocument` row with the next version number of its kind.
- After approval, a new card-face design or file structure puts the area
  on hold (`ReapprovalHold`): card production is refused until a
  re-approval application is approved, which lifts every open hold (or the
  application carrying the change is withdrawn, which abandons it).
- Card production with a vendor the area never filed is refused for areas
  that came through this workflow (`gates.production_gate`).
- `DrillRecord` is the evidence of emergency drills (condition d).
- Rows change only through `approval.services`, which audit every write in
  the area's chain (extra conditions, which are national, in the national
  chain).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ApplicationKind(models.TextChoices):
    INITIAL = "initial", _("Initial approval")
    REAPPROVAL = "reapproval", _("Re-approval")
    FILING = "filing", _("Filing")


# Kinds the ministry approves against the checklist (a filing is acknowledged).
CHECKED_KINDS = (ApplicationKind.INITIAL, ApplicationKind.REAPPROVAL)


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", pgettext_lazy("status", "Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)


class AreaApplication(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=ApplicationKind.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
    )
    # Initial approval: the card vendor the area prepared with; filing: the
    # new vendor or product. Production with an unfiled vendor is refused.
    vendor = models.CharField(_("vendor"), max_length=100, blank=True)
    added_volume = models.PositiveIntegerField(_("added volume (cards)"), null=True, blank=True)
    note = models.TextField(_("what the application is about"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reasons = models.TextField(_("reasons for the decision"), blank=True)
    # Set when the ministry approved although checklist items were not met.
    override_reason = models.TextField(_("why approved with items not met"), blank=True)
    issuer_id = models.CharField(_("issuer ID"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("area application")
        verbose_name_plural = _("area applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One approval application open per area at a time (filings may be many).
            models.UniqueConstraint(
                fields=["area"],
                condition=Q(status__in=["draft", "submitted"], kind__in=["initial", "reapproval"]),
                name="one_open_area_application",
            ),
            models.CheckConstraint(
                name="area_application_rejected_has_reasons",
                condition=~Q(status="rejected") | ~Q(reasons=""),
            ),
            models.CheckConstraint(
                name="area_application_approved_has_issuer_id",
                condition=~Q(status="approved", kind__in=["initial", "reapproval"])
                | ~Q(issuer_id=""),
            ),
        ]
        indexes = [models.Index(fields=["area", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.kind} #{self.pk}"


class DocumentKind(models.TextChoices):
    PREPARATION_REPORT = "preparation_report", _("Preparation report")
    CARD_FACE = "card_face", _("Card-face design")
    FILE_STRUCTURE = "file_structure", _("Card file structure")
    LOCAL_RULES = "local_rules", _("Local management rules")
    OTHER = "other", _("Other")


# Documents whose change after approval needs re-approval (DOMAIN.md §2).
REAPPROVAL_DOCUMENTS = (DocumentKind.CARD_FACE, DocumentKind.FILE_STRUCTURE)


class ApplicationDocument(models.Model):
    """One uploaded file; a new version of a document is a new row."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        AreaApplication, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    # Relative to settings.APPROVAL_DOCUMENTS_DIR.
    path = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "kind", "version"], name="application_document_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} {self.name}"


class ItemSource(models.TextChoices):
    CHECK = "check", _("Checked by the system")
    MANUAL = "manual", _("Evidenced by the area")
    EXTRA = "extra", _("Set by the ministry")


class ItemStatus(models.TextChoices):
    MET = "met", _("Met")
    NOT_MET = "not_met", _("Not met")
    NOT_CHECKED = "not_checked", _("Not checked")


class ExtraCondition(models.Model):
    """A condition (e) the ministry sets for every area or for the areas listed."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    all_areas = models.BooleanField(_("applies to every area"), default=True)
    areas = models.ManyToManyField("registry.Area", blank=True, related_name="+")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("extra condition")
        verbose_name_plural = _("extra conditions")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def item_code(self) -> str:
        return f"e.extra-{self.pk}"


class ConditionItem(models.Model):
    """One line of an application's checklist."""

    application = models.ForeignKey(AreaApplication, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("code"), max_length=64)
    condition = models.CharField(_("condition"), max_length=1)
    # The English source text; shown translated (gettext) where a catalogue has it.
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("source"), max_length=8, choices=ItemSource.choices)
    extra_condition = models.ForeignKey(
        ExtraCondition, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.NOT_CHECKED
    )
    evidence = models.TextField(_("evidence"), blank=True)
    evidence_data = models.JSONField(default=dict, blank=True)
    document = models.ForeignKey(
        ApplicationDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["condition", "code"]
        constraints = [
            models.UniqueConstraint(fields=["application", "code"], name="condition_item_once"),
            models.CheckConstraint(
                name="condition_item_letter", condition=Q(condition__in=list("abcde"))
            ),
        ]

    def __str__(self) -> str:
        return f"({self.condition}) {self.code}: {self.status}"


class ReapprovalHold(models.Model):
    """The card face or file structure changed after approval: production waits
    for a re-approval. Lifted (never deleted) when one is approved, or when the
    application carrying the change is withdrawn."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(ApplicationDocument, on_delete=models.PROTECT, related_name="+")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    lifted_by_application = models.ForeignKey(
        AreaApplication, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("re-approval hold")
        verbose_name_plural = _("re-approval holds")
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["area", "lifted_at"])]

    def __str__(self) -> str:
        return f"{self.area_id} hold #{self.pk}"


class DrillKind(models.TextChoices):
    BACKUP_RESTORE = "backup_restore", _("Backup and restore")
    READ_ONLY = "read_only", _("Read-only maintenance mode")
    MASS_FREEZE = "mass_freeze", _("Mass freeze of cards")


class DrillOutcome(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class DrillRecord(models.Model):
    """An emergency drill the area did (docs/emergency.md), with its evidence."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=DrillKind.choices)
    done_at = models.DateTimeField(_("done at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=8, choices=DrillOutcome.choices)
    evidence = models.TextField(_("evidence"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("emergency drill")
        verbose_name_plural = _("emergency drills")
        ordering = ["-done_at", "-pk"]
        indexes = [models.Index(fields=["area", "done_at"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.kind} {self.done_at:%Y-%m-%d}"
