"""Reads of the internal-control records, scoped to the acting user.

The area's auditors and administrator see their area's chain checks,
reconciliations, alerts and samples; the ministry sees every area's; nobody
else sees any.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can
from shebao.audit.models import Alert, ChainCheck, Reconciliation, Sample, SampleItem
from shebao.core.errors import NotFound


def _scoped(user: User, rows: QuerySet[Any], area_field: str = "area_id") -> QuerySet[Any]:
    if not can(user, "control.read"):
        return rows.none()
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    return rows.filter(**{area_field: user.area_id})


def alerts_for(user: User) -> QuerySet[Alert]:
    return _scoped(user, Alert.objects.select_related("handled_by"))


def alert_get(user: User, pk: int) -> Alert:
    try:
        return alerts_for(user).get(pk=pk)
    except (Alert.DoesNotExist, ValueError):
        raise NotFound(_("No alert with that key is visible to you.")) from None


def reconciliations_for(user: User) -> QuerySet[Reconciliation]:
    return _scoped(user, Reconciliation.objects.all())


def chain_checks_for(user: User) -> QuerySet[ChainCheck]:
    return _scoped(user, ChainCheck.objects.all(), "chain")


def samples_for(user: User) -> QuerySet[Sample]:
    return _scoped(user, Sample.objects.select_related("drawn_by"))


def sample_get(user: User, pk: int) -> Sample:
    try:
        return samples_for(user).get(pk=pk)
    except (Sample.DoesNotExist, ValueError):
        raise NotFound(_("No sample with that key is visible to you.")) from None


def sample_items(sample: Sample) -> QuerySet[SampleItem]:
    return sample.items.select_related("event", "checked_by").order_by("position")


def sample_item_get(sample: Sample, pk: int) -> SampleItem:
    try:
        return sample_items(sample).get(pk=pk)
    except (SampleItem.DoesNotExist, ValueError):
        raise NotFound(_("No such action in this sample.")) from None
