"""Supervision of employers and complaints (SIL arts. 4, 82, 83; DOMAIN §5).

Design notes
- Supervision is a read, not a table: `selectors.supervision_for` lays a
  person's declarations, bill lines, the payment of each bill and the
  employment registry side by side per month and employer, and flags what an
  insured person should question (declared but not billed or not paid, their
  own withheld share billed on an unpaid bill, a month assessed because
  nothing was declared, employed but not declared).
- A `Complaint` is one report or complaint (SIL art. 82) handled by one area.
  It is filed online by the person (always about an employer they have or
  had an employment with, unless it is of kind "other"), or recorded by staff
  for what arrives by phone, letter or at the counter — then the complainant
  may be a registered person, a name and a contact, or nobody (an anonymous
  report). `evidence` is a snapshot of the flagged supervision months taken
  from the person's own record when the case is filed, never figures typed in
  by the complainant, so the case keeps what the record showed that day.
- Each case has a reference `<area>-<year>-<sequence>` sequential per area
  and year (drawn with the area row locked), a deadline (the area setting
  `complaint_handling_days` after it arrived) and, once taken on, an assignee
  of the area's staff.
- Status changes follow one table, `lifecycle.TRANSITIONS`; every change,
  assignment and comment is an append-only `ComplaintEvent` (from, to, who,
  when, note), and is audited. The live row holds only the current state.
- A body without jurisdiction transfers the case in writing (art. 82): the
  transfer event holds the letter's text, the case is closed as
  "transferred", and the receiving area continues it as a new case with its
  own reference that points back to the original (`transferred_from`). The
  complainant follows both.
- Disputes about the outcome go to mediation, arbitration or court (art. 83);
  the outcome text says so, the system does not track those proceedings.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ComplaintKind(models.TextChoices):
    UNPAID = "unpaid", _("Contributions not paid")
    UNDECLARED = "undeclared", _("Employment not declared")
    WRONG_BASE = "wrong_base", _("Wrong contribution base")
    CARD_SERVICE = "card_service", _("Card service")
    OTHER = "other", _("Other")


# Kinds that are about an employer's duties towards the complainant: filed
# online only against an employer of the person's own employments.
EMPLOYER_KINDS = frozenset(
    {ComplaintKind.UNPAID, ComplaintKind.UNDECLARED, ComplaintKind.WRONG_BASE}
)


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("complaint status", "Received")
    ACCEPTED = "accepted", pgettext_lazy("complaint status", "Accepted")
    INVESTIGATING = "investigating", pgettext_lazy("complaint status", "Being investigated")
    RESOLVED = "resolved", pgettext_lazy("complaint status", "Resolved")
    REJECTED = "rejected", pgettext_lazy("complaint status", "Rejected")
    TRANSFERRED = "transferred", pgettext_lazy("complaint status", "Transferred")


CLOSED_STATUSES = frozenset(
    {ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED, ComplaintStatus.TRANSFERRED}
)
OPEN_STATUSES = frozenset(ComplaintStatus.values) - CLOSED_STATUSES


class ComplaintChannel(models.TextChoices):
    ONLINE = "online", pgettext_lazy("complaint channel", "Online")
    COUNTER = "counter", pgettext_lazy("complaint channel", "At the counter")
    PHONE = "phone", pgettext_lazy("complaint channel", "By phone")
    LETTER = "letter", pgettext_lazy("complaint channel", "By letter")
    TRANSFER = "transfer", pgettext_lazy("complaint channel", "Transferred from another area")


class Complaint(models.Model):
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reference = models.CharField(_("reference"), max_length=24)
    # The complainant: a registered person, or (recorded by staff) a name and
    # a contact, or nobody for an anonymous report.
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("complainant"),
    )
    complainant_name = models.CharField(_("complainant's name"), max_length=100, blank=True)
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    employer = models.ForeignKey(
        "registry.Employer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("employer complained about"),
    )
    kind = models.CharField(
        pgettext_lazy("complaint", "kind"), max_length=16, choices=ComplaintKind.choices
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ComplaintChannel.choices)
    text = models.TextField(_("what happened"))
    # [{period, employer_id, employer_name, credit_code, declared_wage, billed_employer,
    #   billed_individual, bill_id, due_on, paid, flags}] from the person's record.
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ComplaintStatus.choices,
        default=ComplaintStatus.RECEIVED,
    )
    deadline = models.DateField(_("deadline"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    outcome = models.TextField(_("outcome"), blank=True)
    transferred_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transferred_to",
        verbose_name=_("transferred from"),
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("received at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            models.UniqueConstraint(fields=["area", "reference"], name="complaint_reference_once"),
            models.CheckConstraint(
                name="complaint_closed_at_when_closed",
                condition=Q(status__in=sorted(CLOSED_STATUSES), closed_at__isnull=False)
                | Q(status__in=sorted(OPEN_STATUSES), closed_at__isnull=True),
            ),
            models.CheckConstraint(
                name="complaint_outcome_when_decided",
                condition=~Q(status__in=[ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED])
                | ~Q(outcome=""),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "status", "deadline"]),
            models.Index(fields=["person", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def is_overdue(self, today: dt.date) -> bool:
        return not self.is_closed and self.deadline < today


class ComplaintEvent(models.Model):
    """One step of one case — filed, a status change, an assignment, a comment,
    a transfer with its letter; never changed."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    operation = models.CharField(max_length=16)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    # The written record of a transfer (the letter), kept as it was sent.
    document = models.TextField(blank=True)

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        indexes = [models.Index(fields=["area", "complaint", "at"])]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.operation} {self.from_status}→{self.to_status}"
