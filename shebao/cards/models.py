"""Social security cards: from application to cancellation.

Design notes
- One `Card` row is one card's whole life, from the application (state
  `applied`, no card number yet) to its end (`cancelled`, `rejected`, …).
  Its states and the operations between them are one table,
  `cards.lifecycle.TRANSITIONS`, used by every path; `CardEvent` is the
  append-only history of every transition (and each is in the audit chain).
- Two states are never stored, only computed at every read
  (`lifecycle.effective_state`): a temporary loss that has passed its
  `loss_lapses_at` is active again (the card is usable without anyone
  running a job), and a card past `valid_to` is expired.
- An emergency freeze (`frozen_at`) is a hold on top of the state, not a
  state: lifting it restores exactly what was there.
- The database holds what it can: one valid card per person per area and at
  most one class I account per person per bank are partial unique indexes;
  card numbers and identification codes are unique.
- A card's bank account class (I, II, III; PBOC 2016) can be lowered in place
  but never raised in place unless the area switches `in_place_upgrade` on:
  moving up is a new card (`kind=type_change`) that cancels the old one when
  it is handed over.
- The photo lives in its own table so the card table stays narrow.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CardState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    APPROVED = "approved", _("Approved")
    IN_PRODUCTION = "in_production", _("In production")
    PRODUCED = "produced", _("Produced")
    SHIPPED = "shipped", _("Shipped to outlet")
    AT_OUTLET = "at_outlet", _("At outlet")
    SEALED = "sealed", _("Sealed (unclaimed)")
    RETURNED = "returned", _("Returned")
    DESTROYED = "destroyed", _("Destroyed")
    ISSUED = "issued", _("Issued, not activated")
    ACTIVE = "active", _("Active")
    TEMPORARY_LOSS = "temporary_loss", _("Temporarily reported lost")
    FORMAL_LOSS = "formal_loss", _("Formally reported lost")
    PIN_LOCKED = "pin_locked", _("PIN locked")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


# Cards a person holds and may use: at most one per person and area.
VALID_STATES = (
    CardState.ISSUED,
    CardState.ACTIVE,
    CardState.TEMPORARY_LOSS,
    CardState.PIN_LOCKED,
)
# Applications not yet finished (they block a second application).
PENDING_STATES = (
    CardState.APPLIED,
    CardState.APPROVED,
    CardState.IN_PRODUCTION,
    CardState.PRODUCED,
    CardState.SHIPPED,
    CardState.AT_OUTLET,
    CardState.SEALED,
)


class CardKind(models.TextChoices):
    FIRST = "first", _("First card")
    REPLACEMENT = "replacement", _("Replacement")
    RENEWAL = "renewal", _("Renewal")
    TYPE_CHANGE = "type_change", _("Type change (new account class)")
    TEMPORARY = "temporary", _("Temporary card")


class Channel(models.TextChoices):
    COUNTER = "counter", _("Counter")
    ONLINE = "online", _("Online")
    EMPLOYER = "employer", _("Employer on behalf of staff")


class AccountClass(models.IntegerChoices):
    I = 1, _("Class I")  # noqa: E741 - the PBOC's own name for the class
    II = 2, _("Class II")
    III = 3, _("Class III")


class CancelReason(models.TextChoices):
    DEATH = "death", _("Death")
    EMIGRATION = "emigration", _("Emigration")
    TRANSFER_OUT = "transfer_out", _("Transfer out of the area")
    REPLACED = "replaced", _("Replaced by a new card")
    RENEWED = "renewed", _("Renewed by a new card")
    TYPE_CHANGED = "type_changed", _("Changed to a new card of another class")
    HOLDER_REQUEST = "holder_request", _("At the holder's request")


class ReplacementReason(models.TextChoices):
    LOSS = "loss", _("Loss")
    DAMAGE = "damage", _("Damage")
    QUALITY_FAULT = "quality_fault", _("Quality fault")
    ADDED_FUNCTION = "added_function", _("Added functions")
    PERSONAL_DATA_CHANGE = "personal_data_change", _("Change of personal data")
    INSURANCE_TRANSFER = "insurance_transfer", _("Transfer of the insurance relationship")


class BatchStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("batch status", "Open")
    EXPORTED = "exported", _("Sent to the vendor")
    COMPLETED = "completed", _("Results imported")


class ProductionBatch(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("batch number"), max_length=32)
    vendor = models.CharField(_("vendor"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.OPEN
    )
    card_count = models.PositiveIntegerField(_("cards"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("production batch")
        verbose_name_plural = _("production batches")
        constraints = [
            models.UniqueConstraint(fields=["area", "number"], name="batch_number_in_area")
        ]

    def __str__(self) -> str:
        return self.number


class Card(models.Model):
    # Foreign keys carry no index of their own where an area-first index
    # below covers them: every index is written on every card update, and a
    # production import updates a hundred thousand cards at once.
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="cards", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CardKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=CardState.choices)
    account_class = models.PositiveSmallIntegerField(
        _("account class"), choices=AccountClass.choices, null=True, blank=True
    )
    bank = models.CharField(_("bank"), max_length=16, blank=True)
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        db_index=False,
    )
    replacement_reason = models.CharField(
        _("replacement reason"), max_length=32, choices=ReplacementReason.choices, blank=True
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)

    batch = models.ForeignKey(
        ProductionBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cards",
        db_index=False,
    )
    # Unique by constraint, not unique=True: on PostgreSQL the latter adds a
    # second (pattern-matching) index that nothing here uses.
    card_number = models.CharField(_("card number"), max_length=9, null=True, blank=True)
    identification_code = models.CharField(
        _("identification code"), max_length=16, null=True, blank=True
    )
    bank_account = models.CharField(_("bank account"), max_length=32, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    outlet = models.ForeignKey(
        "registry.Outlet",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cards",
        db_index=False,
    )
    received_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    pin_failures = models.PositiveSmallIntegerField(default=0)
    loss_lapses_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_reason = models.CharField(max_length=200, blank=True)
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=32, choices=CancelReason.choices, blank=True
    )
    # Bumped by every transition: a client that read version N and acts with
    # it gets a conflict if someone else acted in between.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("social security card")
        verbose_name_plural = _("social security cards")
        constraints = [
            models.UniqueConstraint(fields=["card_number"], name="card_number_unique"),
            models.UniqueConstraint(
                fields=["identification_code"], name="card_identification_code_unique"
            ),
            models.UniqueConstraint(
                fields=["area", "person"],
                condition=Q(state__in=VALID_STATES) & ~Q(kind=CardKind.TEMPORARY),
                name="one_valid_card_per_person_and_area",
            ),
            models.UniqueConstraint(
                fields=["area", "person", "bank"],
                condition=Q(account_class=AccountClass.I, state__in=VALID_STATES),
                name="one_class_i_account_per_person_and_bank",
            ),
            models.CheckConstraint(
                name="card_class_unless_temporary",
                condition=Q(kind=CardKind.TEMPORARY, account_class__isnull=True)
                | (~Q(kind=CardKind.TEMPORARY) & Q(account_class__in=[1, 2, 3])),
            ),
            models.CheckConstraint(
                name="card_validity_period",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "state"]),
            models.Index(fields=["area", "person"]),
            models.Index(fields=["area", "outlet", "state"]),
            models.Index(fields=["area", "batch"]),
        ]

    def __str__(self) -> str:
        return self.card_number or f"#{self.pk}"


class CardPhoto(models.Model):
    """The applicant's photo (JPEG 358×441, 24-bit, national card spec)."""

    card = models.OneToOneField(
        Card, on_delete=models.PROTECT, primary_key=True, related_name="photo"
    )
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    jpeg = models.BinaryField()
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"photo of {self.card_id}"


class CardEvent(models.Model):
    """One transition of one card; never changed."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    operation = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    detail = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("card event")
        verbose_name_plural = _("card events")
        indexes = [models.Index(fields=["area", "card", "at"])]

    def __str__(self) -> str:
        return f"{self.card_id} {self.operation} {self.from_state}→{self.to_state}"


class FeeStatus(models.TextChoices):
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived")


class CardFee(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    card = models.OneToOneField(Card, on_delete=models.PROTECT, related_name="fee")
    reason = models.CharField(_("reason"), max_length=32, choices=ReplacementReason.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=8, choices=FeeStatus.choices, default=FeeStatus.DUE
    )
    # The officer who took the application; the cashier must be someone else.
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    receipt_number = models.CharField(
        _("receipt number"), max_length=32, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # A waiver: by an area administrator, or automatically when the
    # application is withdrawn or rejected before anything was paid.
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)
    waive_reason = models.CharField(_("waive reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("card fee")
        verbose_name_plural = _("card fees")
        constraints = [
            models.CheckConstraint(name="card_fee_not_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="card_fee_paid_has_receipt",
                condition=~Q(status=FeeStatus.PAID)
                | Q(receipt_number__isnull=False, cashier__isnull=False, paid_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "paid_at"]),
            models.Index(fields=["area", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.status}"


class AreaSigningKey(models.Model):
    """The area's Ed25519 key for electronic-card tokens; the public half is published."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    key_id = models.CharField(max_length=32, unique=True)
    private_key = models.BinaryField()  # raw 32-byte Ed25519 seed
    public_key = models.BinaryField()  # raw 32 bytes
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key_id


class ElectronicCard(models.Model):
    """The electronic card: one per physical card. It has no state of its own;
    its state is always the physical card's (see `ecard.ecard_state`)."""

    card = models.OneToOneField(
        Card, on_delete=models.PROTECT, primary_key=True, related_name="ecard"
    )
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    claimed_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"e-card of {self.card_id}"


class StockCount(models.Model):
    """A physical count of an outlet's card stock, with the differences found."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    outlet = models.ForeignKey("registry.Outlet", on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField(auto_now_add=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    counted = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    unexpected = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.outlet_id} {self.counted_at:%Y-%m-%d}"
