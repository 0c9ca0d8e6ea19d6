"""Staff, equipment and implementation plans of an issuing area.

The technical conditions an area meets before it issues cards (DOMAIN.md §2)
include (b) technical staff and equipment and (c) implementation plans —
application design, cost, information collection, distribution. This app
keeps both as data and compares the plans with what the card records show.

Design notes
- Equipment is per outlet: a `Counter` (ordinary, or equipped for instant
  issuance) and `Device`s (card reader, card printer, PIN pad, photo camera,
  scanner) standing at an outlet and, where it matters, at one counter. A
  device's status (in service, faulty, retired) follows one table,
  `DEVICE_TRANSITIONS`; every change is an append-only `DeviceStatusChange`
  (from, to, who, when, why), registration included. Retired is final.
- `Training` is one completed course of one member of staff, valid until a
  day. Staff are bound to an area, not to an outlet (accounts.User), so the
  "trained staff" condition is counted per area.
- A `Plan` is one version of one of the four plans of an area for a year.
  Changing a plan adds a version (a new row with the next number and the day
  it takes effect); earlier versions stay as they were, so the plan in force
  on any day can be shown. The plan in force on a day is the highest version
  whose `valid_from` is on or before it. Its figures are lines of their own
  table, one per kind: targets per application channel, unit costs per card
  vendor (production batches carry no cost, so the plan does), cumulative
  collection targets per month, hand-over targets per outlet and month.
- The actual figures are never stored: `plans.figures` reads them from the
  card records with a few GROUP BY queries per area and year.
- Rows change only through `plans.services`, which audit every write.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONTHS = range(1, 13)


class CounterKind(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary counter")
    INSTANT = "instant", _("Instant issuance counter")


class Counter(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    outlet = models.ForeignKey("registry.Outlet", on_delete=models.PROTECT, related_name="counters")
    number = models.CharField(_("counter number"), max_length=16)
    kind = models.CharField(
        _("kind"), max_length=16, choices=CounterKind.choices, default=CounterKind.ORDINARY
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["outlet", "number"]
        constraints = [
            models.UniqueConstraint(fields=["outlet", "number"], name="counter_number_in_outlet")
        ]
        indexes = [models.Index(fields=["area", "outlet"])]

    def __str__(self) -> str:
        return self.number


class DeviceKind(models.TextChoices):
    CARD_READER = "card_reader", _("Card reader")
    CARD_PRINTER = "card_printer", _("Card printer")
    PIN_PAD = "pin_pad", _("PIN pad")
    PHOTO_CAMERA = "photo_camera", _("Photo camera")
    SCANNER = "scanner", _("Scanner")


class DeviceStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    FAULTY = "faulty", _("Faulty")
    RETIRED = "retired", _("Retired")


# (from, to) pairs a device's status may take; retired is final.
DEVICE_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (DeviceStatus.IN_SERVICE, DeviceStatus.FAULTY),
        (DeviceStatus.IN_SERVICE, DeviceStatus.RETIRED),
        (DeviceStatus.FAULTY, DeviceStatus.IN_SERVICE),
        (DeviceStatus.FAULTY, DeviceStatus.RETIRED),
    }
)


class Device(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    outlet = models.ForeignKey("registry.Outlet", on_delete=models.PROTECT, related_name="devices")
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DeviceKind.choices)
    serial_number = models.CharField(_("serial number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.IN_SERVICE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["outlet", "kind", "serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "kind", "serial_number"], name="device_serial_in_area"
            )
        ]
        indexes = [models.Index(fields=["area", "outlet", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial_number}"


class DeviceStatusChange(models.Model):
    """One change of one device's status (its registration included); never changed."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=16, choices=DeviceStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=DeviceStatus.choices)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("device status change")
        verbose_name_plural = _("device status changes")
        indexes = [models.Index(fields=["area", "device", "at"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.from_status or '-'}→{self.to_status}"


class TrainingCourse(models.TextChoices):
    CARD_ISSUANCE = "card_issuance", _("Card issuance and counter business")
    EQUIPMENT = "equipment", _("Card equipment operation")
    INFORMATION_SECURITY = "information_security", _("Information security")
    EMERGENCY = "emergency", _("Emergency procedures")


# The course that qualifies a card officer to serve at the counter.
QUALIFYING_COURSE = TrainingCourse.CARD_ISSUANCE


class Training(models.Model):
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trainings"
    )
    course = models.CharField(_("course"), max_length=32, choices=TrainingCourse.choices)
    completed_on = models.DateField(_("completed on"))
    valid_until = models.DateField(_("valid until"))
    certificate = models.CharField(_("certificate reference"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        constraints = [
            models.CheckConstraint(
                name="training_valid_after_completion",
                condition=Q(valid_until__gt=F("completed_on")),
            )
        ]
        indexes = [models.Index(fields=["area", "course", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.course} until {self.valid_until}"


class PlanKind(models.TextChoices):
    APPLICATION = "application", _("Application design")
    COST = "cost", _("Cost plan")
    COLLECTION = "collection", _("Information collection plan")
    DISTRIBUTION = "distribution", _("Distribution plan")


class PlanChannel(models.TextChoices):
    """The application channels a plan may offer: the card channels and instant issuance."""

    COUNTER = "counter", _("Counter")
    ONLINE = "online", _("Online")
    EMPLOYER = "employer", _("Employer on behalf of staff")
    INSTANT = "instant", _("Instant issuance at an outlet")


class Plan(models.Model):
    """One version of one plan of an area for a year."""

    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("plan"), max_length=16, choices=PlanKind.choices)
    version = models.PositiveIntegerField(_("version"))
    valid_from = models.DateField(_("in force from"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The cost plan's figures (CNY).
    budget_per_card = models.DecimalField(
        _("budget per card"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    budget_total = models.DecimalField(
        _("total budget"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    expected_fee_income = models.DecimalField(
        _("expected fee income"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # The information collection plan's target: persons with complete data and a photo.
    target_population = models.PositiveIntegerField(_("target population"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("implementation plan")
        verbose_name_plural = _("implementation plans")
        ordering = ["area", "year", "kind", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "year", "kind", "version"], name="plan_version_once"
            ),
            models.CheckConstraint(
                name="plan_year_range", condition=Q(year__gte=2000, year__lte=2100)
            ),
            models.CheckConstraint(
                name="plan_cost_figures",
                condition=(
                    Q(
                        kind=PlanKind.COST,
                        budget_per_card__gte=0,
                        budget_total__gte=0,
                        expected_fee_income__gte=0,
                    )
                    | (
                        ~Q(kind=PlanKind.COST)
                        & Q(
                            budget_per_card__isnull=True,
                            budget_total__isnull=True,
                            expected_fee_income__isnull=True,
                        )
                    )
                ),
            ),
            models.CheckConstraint(
                name="plan_collection_target",
                condition=Q(kind=PlanKind.COLLECTION, target_population__isnull=False)
                | (~Q(kind=PlanKind.COLLECTION) & Q(target_population__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.year} {self.kind} v{self.version}"


class ChannelTarget(models.Model):
    """Application design: whether a channel is offered and how many applications it expects."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="channels")
    channel = models.CharField(_("channel"), max_length=16, choices=PlanChannel.choices)
    offered = models.BooleanField(_("offered"))
    target = models.PositiveIntegerField(_("expected applications"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "channel"], name="channel_target_once"),
            models.CheckConstraint(
                name="channel_target_only_if_offered", condition=Q(offered=True) | Q(target=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.target}"


class VendorUnitCost(models.Model):
    """Cost plan: what one card made by a vendor costs (CNY)."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="vendor_costs")
    vendor = models.CharField(_("vendor"), max_length=100)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=10, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "vendor"], name="vendor_cost_once"),
            models.CheckConstraint(name="vendor_cost_not_negative", condition=Q(unit_cost__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.unit_cost}"


class CollectionTarget(models.Model):
    """Information collection plan: persons collected by the end of a month (cumulative)."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="collection_targets")
    month = models.PositiveSmallIntegerField(_("month"))
    target = models.PositiveIntegerField(_("target"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "month"], name="collection_target_once"),
            models.CheckConstraint(
                name="collection_target_month", condition=Q(month__gte=1, month__lte=12)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month}: {self.target}"


class DistributionTarget(models.Model):
    """Distribution plan: cards to hand over at an outlet in a month."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="distribution_targets")
    outlet = models.ForeignKey("registry.Outlet", on_delete=models.PROTECT, related_name="+")
    month = models.PositiveSmallIntegerField(_("month"))
    target = models.PositiveIntegerField(_("target"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "outlet", "month"], name="distribution_target_once"
            ),
            models.CheckConstraint(
                name="distribution_target_month", condition=Q(month__gte=1, month__lte=12)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outlet_id} {self.month}: {self.target}"
