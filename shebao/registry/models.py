"""Registry: issuing areas, service outlets, persons, employers, employments.

Design notes
- The issuing area is the unit of everything: its 6-digit division code is
  its key, and every large table carries `area` as the leading column of its
  unique keys and indexes. A deployment beyond one machine distributes these
  tables by area (Citus); nothing in a hot path joins across areas.
- A person is keyed within an area by the resident identity number (which is
  the social security number, SIL art. 58); birth date and sex are derived
  from it by the service and never typed. URLs and API paths use the row id,
  so identity numbers do not end up in access logs.
- An employer is keyed within an area by its unified social credit code.
- Late registration (employer: 30 days after establishment, art. 57;
  employee: 30 days after starting work, art. 58) is accepted and flagged.
- Per-area settings are data with validity periods (AreaSetting), read
  through `registry.selectors.area_setting`; the catalogue of keys, with
  defaults and types, is `registry.area_settings.CATALOGUE`.
- Rows are changed only by `registry.services`, which audit every write.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from shebao.registry.identifiers import FEMALE, MALE

# Art. 57 and 58: registration is due within 30 days (national).
REGISTRATION_DEADLINE_DAYS = 30


class AreaStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    APPROVED = "approved", _("Approved to issue cards")
    SUSPENDED = "suspended", _("Suspended")


class Area(models.Model):
    code = models.CharField(_("division code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    issuer_id = models.CharField(_("issuer ID"), max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=AreaStatus.choices, default=AreaStatus.PREPARING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("issuing area")
        verbose_name_plural = _("issuing areas")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="area_approved_has_issuer_id",
                condition=~Q(status=AreaStatus.APPROVED) | Q(issuer_id__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AreaSetting(models.Model):
    """One value of one per-area setting for a period [valid_from, valid_to)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="settings")
    key = models.CharField(_("setting"), max_length=64)
    value = models.JSONField(_("value"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("area setting")
        verbose_name_plural = _("area settings")
        ordering = ["area", "key", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["area", "key", "valid_from"], name="area_setting_once"),
            models.CheckConstraint(
                name="area_setting_period",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.key}={self.value} from {self.valid_from}"


class Outlet(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="outlets")
    code = models.CharField(_("outlet code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Emergency freeze of the cards held here (a break-in, a lost safe key):
    # set and lifted by cards.production.outlet_freeze / outlet_release.
    stock_frozen_at = models.DateTimeField(_("stock frozen at"), null=True, blank=True)
    stock_frozen_reason = models.CharField(_("why the stock is frozen"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("service outlet")
        verbose_name_plural = _("service outlets")
        ordering = ["area", "code"]
        constraints = [models.UniqueConstraint(fields=["area", "code"], name="outlet_code_in_area")]

    def __str__(self) -> str:
        return self.name


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Insured")
    DECEASED = "deceased", _("Deceased")
    EMIGRATED = "emigrated", _("Emigrated")
    TRANSFERRED_OUT = "transferred_out", _("Transferred out")


class Sex(models.TextChoices):
    MALE_ = MALE, _("Male")
    FEMALE_ = FEMALE, _("Female")


class Person(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="persons")
    id_number = models.CharField(_("identity number"), max_length=18)
    name = models.CharField(_("name"), max_length=100)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    registered_on = models.DateField(_("registered on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(fields=["area", "id_number"], name="person_id_in_area"),
        ]
        indexes = [models.Index(fields=["area", "name"])]

    def __str__(self) -> str:
        return self.name


class IndustryRiskClass(models.IntegerChoices):
    """Work-injury industry risk classes 1-8 (rates in the contributions policy)."""

    C1 = 1, "1"
    C2 = 2, "2"
    C3 = 3, "3"
    C4 = 4, "4"
    C5 = 5, "5"
    C6 = 6, "6"
    C7 = 7, "7"
    C8 = 8, "8"


class EmployerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Employer(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="employers")
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    name = models.CharField(_("name"), max_length=200)
    established_on = models.DateField(_("established on"))
    registered_on = models.DateField(_("registered on"))
    late_registration = models.BooleanField(_("registered late"), default=False)
    industry_risk_class = models.PositiveSmallIntegerField(
        _("industry risk class"), choices=IndustryRiskClass.choices, default=1
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=EmployerStatus.choices, default=EmployerStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        constraints = [
            models.UniqueConstraint(fields=["area", "credit_code"], name="employer_code_in_area"),
            models.CheckConstraint(
                name="employer_registered_after_established",
                condition=Q(registered_on__gte=F("established_on")),
            ),
            models.CheckConstraint(
                name="employer_risk_class_1_8",
                condition=Q(industry_risk_class__gte=1, industry_risk_class__lte=8),
            ),
        ]
        indexes = [models.Index(fields=["area", "name"])]

    def __str__(self) -> str:
        return self.name


class Employment(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="employments")
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="employments")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=200, blank=True)
    registered_on = models.DateField(_("registered on"))
    late_registration = models.BooleanField(_("registered late"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        constraints = [
            models.CheckConstraint(
                name="employment_period",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
            ),
        ]
        indexes = [
            models.Index(fields=["area", "employer", "start_date"]),
            models.Index(fields=["area", "person", "start_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.employer_id} {self.start_date}–{self.end_date or ''}"
