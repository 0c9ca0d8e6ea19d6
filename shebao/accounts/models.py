"""Accounts: users with one role each, API tokens, login attempts.

A user's binding decides what it may see: area staff are bound to one issuing
area, an employer user to one employer, an individual to one person, and the
ministry administrator to none (all areas). The binding is checked by the
database, not only by forms.

API tokens are for machine clients (bank, card vendor): the raw token is
shown once; only its SHA-256 digest is stored. Login attempts are kept for
throttling and for auditors.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shebao.accounts.roles import AREA_STAFF, Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    area = models.ForeignKey(
        "registry.Area", on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    person = models.OneToOneField(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="user"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_binding_matches_role",
                condition=(
                    Q(
                        role=Role.MINISTRY_ADMIN,
                        area__isnull=True,
                        employer__isnull=True,
                        person__isnull=True,
                    )
                    | Q(
                        role__in=sorted(AREA_STAFF),
                        area__isnull=False,
                        employer__isnull=True,
                        person__isnull=True,
                    )
                    | Q(
                        role=Role.EMPLOYER,
                        area__isnull=False,
                        employer__isnull=False,
                        person__isnull=True,
                    )
                    | Q(
                        role=Role.INDIVIDUAL,
                        area__isnull=False,
                        employer__isnull=True,
                        person__isnull=False,
                    )
                ),
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_area_staff(self) -> bool:
        return self.role in AREA_STAFF

    @property
    def is_ministry(self) -> bool:
        return self.role == Role.MINISTRY_ADMIN


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class LoginAttempt(models.Model):
    username = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["address", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.at:%Y-%m-%d %H:%M}"
