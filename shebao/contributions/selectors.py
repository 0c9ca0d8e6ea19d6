"""Reads of declarations, scoped like the registry: area staff their area, an
employer user its own employer, an individual their own lines."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role
from shebao.contributions.models import DeclarationLine, DeclarationUpload
from shebao.core.errors import NotFound


def uploads_for(user: User) -> QuerySet[DeclarationUpload]:
    rows = DeclarationUpload.objects.select_related("employer")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id, employer_id=user.employer_id or 0)
    return rows.none()


def lines_for(user: User) -> QuerySet[DeclarationLine]:
    rows = DeclarationLine.objects.select_related("person", "employer")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id, employer_id=user.employer_id or 0)
    if user.role == Role.INDIVIDUAL:
        return rows.filter(area_id=user.area_id, person_id=user.person_id or 0)
    return rows.none()


def upload_get(user: User, pk: int) -> DeclarationUpload:
    try:
        return uploads_for(user).get(pk=pk)
    except DeclarationUpload.DoesNotExist:
        raise NotFound(_("No declaration upload with that key is visible to you.")) from None


def line_get(user: User, pk: int) -> DeclarationLine:
    try:
        return lines_for(user).get(pk=pk)
    except DeclarationLine.DoesNotExist:
        raise NotFound(_("No declaration line with that key is visible to you.")) from None
