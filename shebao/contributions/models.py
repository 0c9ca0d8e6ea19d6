"""Contributions: policy tables, employer declarations.

Design notes
- A `Policy` is an area's contribution policy for a period [valid_from,
  valid_to): the average monthly wage that bounds contribution bases
  (60%–300%), the due day, the late-fee rate, the flexible-worker scheme; its
  `PolicyRate` rows give each insurance's employer and individual rates, and
  `WorkInjuryRate` rows the rate of each industry risk class. A bill always
  uses the policy in force for its month (`selectors.policy_for`).
- A `DeclarationLine` is one employee's wage for one month as the employer
  declared it. Lines are append-only: a correction is a reversal line that
  points to the line it cancels plus a new declared line, never an edit. The
  declared wage of a person-month is the one declared line no reversal
  points to.
- A `DeclarationUpload` is one spreadsheet an employer sent: rows accepted,
  rejected (each with line, field and reason, downloadable), unchanged
  (already declared the same), and its progress while it runs.
- Flexible workers (灵活就业人员) pay for themselves (DOMAIN §3): a
  `FlexibleEnrolment` holds the base they chose (a share of the area's average
  wage between the policy's floor and ceiling) from a month on; the billing
  run adds one `FlexibleBill` a month per enrolment in force; their
  `FlexiblePayment`s are allocated to those bills like an employer's payments
  to its bills, and the personal-account share is credited when paid.
- Every table is keyed by area first, for distribution by area.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Insurance(models.TextChoices):
    PENSION = "pension", _("Basic pension")
    MEDICAL = "medical", _("Basic medical")
    UNEMPLOYMENT = "unemployment", _("Unemployment")
    WORK_INJURY = "work_injury", _("Work injury")
    MATERNITY = "maternity", _("Maternity")


def money(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)  # type: ignore[arg-type]


def rate(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=7, decimal_places=5, **kwargs)  # type: ignore[arg-type]


class Policy(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    average_monthly_wage = money(verbose_name=_("average monthly wage of the area"))
    base_floor_ratio = rate(
        verbose_name=_("base floor (share of the average)"), default=Decimal("0.6")
    )
    base_ceiling_ratio = rate(
        verbose_name=_("base ceiling (share of the average)"), default=Decimal("3")
    )
    payment_due_day = models.PositiveSmallIntegerField(
        _("payment due day of the next month"), default=15
    )
    late_fee_daily_rate = rate(verbose_name=_("late fee per day"), default=Decimal("0.0005"))
    flexible_pension_rate = rate(
        verbose_name=_("flexible workers: pension rate"), default=Decimal("0.2")
    )
    flexible_account_rate = rate(
        verbose_name=_("flexible workers: share to the personal account"), default=Decimal("0.08")
    )
    # 0: the area offers flexible workers no medical insurance of its own.
    flexible_medical_rate = rate(
        verbose_name=_("flexible workers: medical rate"), default=Decimal("0")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contribution policy")
        verbose_name_plural = _("contribution policies")
        ordering = ["area", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["area", "valid_from"], name="policy_once_per_start"),
            models.CheckConstraint(
                name="policy_period",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
            ),
            models.CheckConstraint(
                name="policy_wage_positive", condition=Q(average_monthly_wage__gt=0)
            ),
            models.CheckConstraint(
                name="policy_floor_below_ceiling",
                condition=Q(base_floor_ratio__gt=0)
                & Q(base_ceiling_ratio__gte=F("base_floor_ratio")),
            ),
            models.CheckConstraint(
                name="policy_due_day", condition=Q(payment_due_day__gte=1, payment_due_day__lte=28)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} from {self.valid_from}"


class PolicyRate(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rates")
    insurance = models.CharField(_("insurance"), max_length=16, choices=Insurance.choices)
    employer_rate = rate(verbose_name=_("employer rate"))
    individual_rate = rate(verbose_name=_("individual rate"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "insurance"], name="policy_rate_once"),
            models.CheckConstraint(
                name="policy_rate_range",
                condition=Q(
                    employer_rate__gte=0,
                    employer_rate__lt=1,
                    individual_rate__gte=0,
                    individual_rate__lt=1,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insurance} {self.employer_rate}/{self.individual_rate}"


class WorkInjuryRate(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="work_injury_rates")
    risk_class = models.PositiveSmallIntegerField(_("industry risk class"))
    rate = rate(verbose_name=_("rate"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "risk_class"], name="work_injury_rate_once"),
            models.CheckConstraint(
                name="work_injury_class_1_8", condition=Q(risk_class__gte=1, risk_class__lte=8)
            ),
        ]

    def __str__(self) -> str:
        return f"class {self.risk_class}: {self.rate}"


class UploadStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DeclarationUpload(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey("registry.Employer", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("month"), help_text=_("First day of the declared month"))
    filename = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=8, choices=UploadStatus.choices, default=UploadStatus.RUNNING
    )
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # [{line, id_number (masked), field, code, message}], at most the first
    # MAX_ERRORS; the counts above are complete.
    errors = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("declaration upload")
        verbose_name_plural = _("declaration uploads")
        indexes = [models.Index(fields=["area", "employer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.filename} ({self.period:%Y-%m})"


class LineKind(models.TextChoices):
    DECLARED = "declared", _("Declared")
    REVERSAL = "reversal", _("Reversal")


class DeclarationLine(models.Model):
    # The keys a line copies from its writer are not checked again by the
    # database: the import and `declaration_declare` judge every row in SQL
    # against the registered persons of the area and their employment by the
    # employer (a row naming anyone else is refused with its reason), the
    # area is the employer's, the upload and the author are the writer's
    # own, and a correction copies them from the line it reverses. Checking
    # them row by row again at commit would cost an import more than its own
    # work. Only `reverses`, which points at another line, is checked.
    area = models.ForeignKey(
        "registry.Area",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    employer = models.ForeignKey(
        "registry.Employer",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    period = models.DateField(_("month"))
    kind = models.CharField(max_length=8, choices=LineKind.choices, default=LineKind.DECLARED)
    wage = money(verbose_name=_("monthly wage"))
    # At most one reversal per line: a unique index of the reversals only
    # (declared lines, nearly all of them, have no entry in it).
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        db_index=False,
    )
    upload = models.ForeignKey(
        DeclarationUpload,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    source = models.CharField(max_length=8)  # upload, api, form
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("declaration line")
        verbose_name_plural = _("declaration lines")
        constraints = [
            models.CheckConstraint(name="declaration_wage_not_negative", condition=Q(wage__gte=0)),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="declaration_one_reversal",
            ),
            models.CheckConstraint(
                name="declaration_reversal_points_back",
                condition=Q(kind=LineKind.DECLARED, reverses__isnull=True)
                | Q(kind=LineKind.REVERSAL, reverses__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "employer", "period"]),
            models.Index(fields=["area", "person", "period"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period:%Y-%m} {self.kind} {self.wage}"


class BillKind(models.TextChoices):
    DECLARED = "declared", _("From the declaration")
    ASSESSED = "assessed", _("Assessed at 110% (no declaration, SIL art. 62)")


class BillingRun(models.Model):
    """One run of `bill_run` for an area and month: who, when, what it added."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("month"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    bills_created = models.PositiveIntegerField(default=0)
    lines_added = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        indexes = [models.Index(fields=["area", "period"])]

    def __str__(self) -> str:
        return f"{self.area_id} {self.period:%Y-%m}"


class Bill(models.Model):
    """What an employer owes for one month: the sum of its bill lines.

    Amounts are kept in integer cents (fen): the billing run computes them in
    SQL, and integer arithmetic is exact on every engine (SQLite would
    otherwise compute decimals in floating point).
    """

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    period = models.DateField(_("month"))
    kind = models.CharField(max_length=8, choices=BillKind.choices)
    employer_cents = models.BigIntegerField(default=0)
    individual_cents = models.BigIntegerField(default=0)
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "employer", "period"], name="bill_once_a_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employer_id} {self.period:%Y-%m}"

    @property
    def total(self) -> Decimal:
        return Decimal(self.employer_cents + self.individual_cents) / 100


class BillLine(models.Model):
    """One person, one insurance, one month, one run: amounts in cents.

    Append-only: when a declaration is corrected (or arrives after an
    assessment), the next run adds the difference as a new line; the lines of
    a person-insurance-month always sum to what is owed.
    """

    # No key of a line is checked by the database: the billing run writes every
    # line with one INSERT … SELECT that joins the bill, the declaration and
    # the run it copies them from, so each key exists by construction, and
    # checking five keys for each of millions of new lines would cost more
    # than the run's own work. Lines are never written any other way and
    # never deleted (the PROTECT of each key still guards deletion in Django).
    area = models.ForeignKey(
        "registry.Area",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="lines", db_index=False, db_constraint=False
    )
    employer = models.ForeignKey(
        "registry.Employer",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    period = models.DateField(_("month"))
    insurance = models.CharField(max_length=16, choices=Insurance.choices)
    kind = models.CharField(max_length=8, choices=BillKind.choices)
    base_cents = models.BigIntegerField()
    employer_cents = models.BigIntegerField()
    individual_cents = models.BigIntegerField()
    run = models.ForeignKey(
        BillingRun,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        indexes = [
            models.Index(fields=["area", "period", "employer", "person", "insurance"]),
            models.Index(fields=["area", "person", "period"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period:%Y-%m} {self.insurance}"


class PaymentSource(models.TextChoices):
    COUNTER = "counter", _("Counter")
    BANK_FILE = "bank_file", _("Bank file")
    API = "api", _("API")


class Payment(models.Model):
    """Money received from an employer, identified by the bank's reference."""

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bank_reference = models.CharField(_("bank reference"), max_length=64)
    amount_cents = models.BigIntegerField()
    paid_on = models.DateField(_("paid on"))
    source = models.CharField(max_length=16, choices=PaymentSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "bank_reference"], name="payment_reference_once"
            ),
            models.CheckConstraint(name="payment_positive", condition=Q(amount_cents__gt=0)),
        ]
        indexes = [models.Index(fields=["area", "employer", "paid_on"])]

    def __str__(self) -> str:
        return self.bank_reference


class PaymentAllocation(models.Model):
    """The part of a payment that settles a bill: contributions first owed, and the
    late fee that had run on them until the payment day (SIL art. 86).

    A *release* gives back contributions allocated to a bill that a correction
    lowered below them: a row of the same payment and bill with a negative
    `principal_cents`, no fee, and `release_of` pointing at the allocation it
    gives back. The money is then the payment's again, a credit that settles
    other bills. Rows are never edited, so for every payment
        amount = Σ its rows (allocations net of releases) + its credit,
    and a bill's contributions paid are the sum of its rows. The database
    holds the signs (`allocation_amounts`) and, by the trigger
    `allocation_release_within` (migration 0008), that the releases of an
    allocation never exceed it and belong to its payment and bill.
    """

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    principal_cents = models.BigIntegerField()
    late_fee_cents = models.BigIntegerField(default=0)
    release_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="releases",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="allocation_amounts",
                condition=Q(release_of__isnull=True, principal_cents__gte=0, late_fee_cents__gte=0)
                | Q(release_of__isnull=False, principal_cents__lt=0, late_fee_cents=0),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "bill"]),
            models.Index(
                fields=["release_of"],
                name="allocation_release_of",
                condition=Q(release_of__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}→{self.bill_id}"


class AccountEntryKind(models.TextChoices):
    CONTRIBUTION = "contribution", _("Individual contribution credited")
    INTEREST = "interest", _("Yearly interest")
    REVERSAL = "reversal", _("Reversal")


class PersonalAccount(models.Model):
    """A person's pension account: the balance the ledger entries add up to.

    The balance is changed only together with an entry, in one transaction,
    and the database refuses a negative balance.
    """

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.OneToOneField(
        "registry.Person", on_delete=models.PROTECT, related_name="pension_account"
    )
    balance_cents = models.BigIntegerField(default=0)
    entries_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("personal pension account")
        verbose_name_plural = _("personal pension accounts")
        constraints = [
            models.CheckConstraint(
                name="account_balance_not_negative", condition=Q(balance_cents__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.balance_cents}"


class AccountEntry(models.Model):
    """One append-only entry of a personal pension account."""

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    account = models.ForeignKey(
        PersonalAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=AccountEntryKind.choices)
    period = models.DateField(_("month"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_cents = models.BigIntegerField()
    allocation = models.ForeignKey(
        PaymentAllocation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # A flexible worker's own payment that completed the month's pension.
    flexible_allocation = models.ForeignKey(
        "FlexibleAllocation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # A contribution entry may be reversed in parts (a month lowered twice);
    # the reversals of an entry never exceed it (see payments._reverse).
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        db_index=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("account entry")
        verbose_name_plural = _("account entries")
        constraints = [
            # Interest is credited once a year per account.
            models.UniqueConstraint(
                fields=["account", "year"],
                condition=Q(kind="interest"),
                name="interest_once_a_year",
            ),
        ]
        indexes = [models.Index(fields=["area", "account", "period"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.amount_cents}"


class CreditingRate(models.Model):
    """The national yearly crediting rate of personal accounts (announced each year)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    rate = rate(verbose_name=_("rate"))

    class Meta:
        verbose_name = _("crediting rate")
        verbose_name_plural = _("crediting rates")

    def __str__(self) -> str:
        return f"{self.year}: {self.rate}"


class FlexibleEnrolment(models.Model):
    """A flexible worker insured on their own account from a month on (DOMAIN §3).

    The worker chooses the base as a share of the area's average monthly wage
    (60%–300% by default: the policy's floor and ceiling). The period is
    [valid_from, valid_to) in whole months, like a policy's; a person has at
    most one open enrolment, and a change of base is an end and a new one.
    """

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    valid_from = models.DateField(_("from month"))
    valid_to = models.DateField(
        _("until month (excluded)"), null=True, blank=True, help_text=_("First month not paid")
    )
    base_ratio = rate(verbose_name=_("base (share of the average wage)"))
    medical = models.BooleanField(_("medical insurance too"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("flexible worker enrolment")
        verbose_name_plural = _("flexible worker enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "person"],
                condition=Q(valid_to__isnull=True),
                name="flexible_one_open_enrolment",
            ),
            models.CheckConstraint(
                name="flexible_enrolment_period",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
            ),
            models.CheckConstraint(
                name="flexible_base_ratio_positive", condition=Q(base_ratio__gt=0)
            ),
        ]
        indexes = [
            models.Index(fields=["area", "person", "valid_from"]),
            models.Index(fields=["area", "valid_from"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.valid_from:%Y-%m}"


class FlexibleBill(models.Model):
    """What a flexible worker owes for one month, in integer cents.

    `account_cents` is the part of the pension that goes to the personal
    account (8% of the base of the 20%); the rest goes to the pooled fund.
    """

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    enrolment = models.ForeignKey(
        FlexibleEnrolment, on_delete=models.PROTECT, related_name="bills", db_index=False
    )
    period = models.DateField(_("month"))
    base_cents = models.BigIntegerField()
    pension_cents = models.BigIntegerField()
    account_cents = models.BigIntegerField()
    medical_cents = models.BigIntegerField(default=0)
    due_on = models.DateField(_("due on"))
    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("flexible worker bill")
        verbose_name_plural = _("flexible worker bills")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "person", "period"], name="flexible_bill_once_a_month"
            ),
            models.CheckConstraint(
                name="flexible_bill_amounts",
                condition=Q(
                    base_cents__gt=0,
                    pension_cents__gte=F("account_cents"),
                    account_cents__gte=0,
                    medical_cents__gte=0,
                ),
            ),
        ]
        indexes = [models.Index(fields=["area", "period"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period:%Y-%m}"

    @property
    def principal_cents(self) -> int:
        return self.pension_cents + self.medical_cents


class FlexiblePayment(models.Model):
    """Money a flexible worker paid, identified by the bank's reference."""

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bank_reference = models.CharField(_("bank reference"), max_length=64)
    amount_cents = models.BigIntegerField()
    paid_on = models.DateField(_("paid on"))
    source = models.CharField(max_length=16, choices=PaymentSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("flexible worker payment")
        verbose_name_plural = _("flexible worker payments")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "bank_reference"], name="flexible_payment_reference_once"
            ),
            models.CheckConstraint(
                name="flexible_payment_positive", condition=Q(amount_cents__gt=0)
            ),
        ]
        indexes = [models.Index(fields=["area", "person", "paid_on"])]

    def __str__(self) -> str:
        return self.bank_reference


class FlexibleAllocation(models.Model):
    """The part of a flexible worker's payment that settles one month: the late fee
    run until the payment day first (SIL art. 86), then the contributions."""

    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payment = models.ForeignKey(
        FlexiblePayment, on_delete=models.PROTECT, related_name="allocations"
    )
    bill = models.ForeignKey(
        FlexibleBill, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    principal_cents = models.BigIntegerField()
    late_fee_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="flexible_allocation_not_negative",
                condition=Q(principal_cents__gte=0, late_fee_cents__gte=0),
            ),
        ]
        indexes = [models.Index(fields=["area", "bill"])]

    def __str__(self) -> str:
        return f"{self.payment_id}→{self.bill_id}"
