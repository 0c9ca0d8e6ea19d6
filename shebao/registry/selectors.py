"""Reads from the registry, scoped to what the acting user may see.

Scoping lives here once: the ministry sees every area, area staff their own
area, an employer user its own employer and the people it employs (or
employed), an individual only themselves. Views and API handlers never
filter by role themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, Role, can
from shebao.audit.services import access_record
from shebao.core.errors import NotFound
from shebao.registry.area_settings import spec_for
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Area, AreaSetting, Employer, Employment, Outlet, Person


def _bound(key: int | None) -> int:
    # The account's binding is guaranteed by a database constraint for the
    # roles that use it; 0 (no row has it) keeps a broken account seeing nothing.
    return key or 0


def areas_for(user: User) -> QuerySet[Area]:
    if user.role == Role.MINISTRY_ADMIN:
        return Area.objects.all()
    return Area.objects.filter(code=user.area_id)


def outlets_for(user: User) -> QuerySet[Outlet]:
    if user.role == Role.MINISTRY_ADMIN:
        return Outlet.objects.all()
    return Outlet.objects.filter(area_id=user.area_id)


def persons_for(user: User) -> QuerySet[Person]:
    if user.role == Role.MINISTRY_ADMIN:
        return Person.objects.all()
    if user.role in AREA_STAFF:
        return Person.objects.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        return Person.objects.filter(
            area_id=user.area_id,
            pk__in=Employment.objects.filter(
                area_id=user.area_id, employer_id=_bound(user.employer_id)
            ).values("person_id"),
        )
    if user.role == Role.INDIVIDUAL:
        return Person.objects.filter(pk=_bound(user.person_id))
    return Person.objects.none()


def employers_for(user: User) -> QuerySet[Employer]:
    if user.role == Role.MINISTRY_ADMIN:
        return Employer.objects.all()
    if user.role in AREA_STAFF:
        return Employer.objects.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        return Employer.objects.filter(pk=_bound(user.employer_id))
    if user.role == Role.INDIVIDUAL:
        return Employer.objects.filter(
            area_id=user.area_id,
            pk__in=Employment.objects.filter(
                area_id=user.area_id, person_id=_bound(user.person_id)
            ).values("employer_id"),
        )
    return Employer.objects.none()


def employments_for(user: User) -> QuerySet[Employment]:
    rows = Employment.objects.select_related("person", "employer")
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role in AREA_STAFF:
        return rows.filter(area_id=user.area_id)
    if user.role == Role.EMPLOYER:
        return rows.filter(area_id=user.area_id, employer_id=_bound(user.employer_id))
    if user.role == Role.INDIVIDUAL:
        return rows.filter(area_id=user.area_id, person_id=_bound(user.person_id))
    return rows.none()


def _get(queryset: QuerySet[Any], what: Any, **lookup: Any) -> Any:
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError):
        # The same answer whether the row is missing or belongs to someone
        # else: a stranger learns nothing about what exists.
        raise NotFound(
            _("No %(what)s with that key is visible to you."), params={"what": what}
        ) from None


def area_get(user: User, code: str) -> Area:
    return _get(areas_for(user), _("issuing area"), code=code)


def outlet_get(user: User, pk: int) -> Outlet:
    return _get(outlets_for(user), _("service outlet"), pk=pk)


def employer_get(user: User, pk: int) -> Employer:
    return _get(employers_for(user), _("employer"), pk=pk)


def employment_get(user: User, pk: int) -> Employment:
    return _get(employments_for(user), _("employment"), pk=pk)


def person_get(user: User, pk: int, *, purpose: str = "person.view") -> Person:
    """One person's record; a read by anyone but the person is logged (PIPL)."""
    person: Person = _get(persons_for(user), _("person"), pk=pk)
    access_record(actor=user, action=purpose, area_code=person.area_id, person_ids=[person.pk])
    return person


def person_search(user: User, query: str, *, limit: int = 50) -> list[Person]:
    """Find persons by identity number (full or its last digits) or by name."""
    text = "".join(query.split()).upper()
    if not text:
        return []
    rows = persons_for(user)
    if len(text) == 18:
        rows = rows.filter(id_number=text)
    elif text.rstrip("X").isdigit() and len(text) >= 4:
        rows = rows.filter(id_number__endswith=text)
    else:
        rows = rows.filter(name__startswith=query.strip())
    found = list(rows.order_by("name", "pk")[:limit])
    if found:
        access_record(
            actor=user,
            action="person.search",
            area_code=found[0].area_id,
            person_ids=[p.pk for p in found],
            query=mask_identity_number(text) if any(c.isdigit() for c in text) else query.strip(),
        )
    return found


def shows_full_id(user: User, person: Person) -> bool:
    """Whether this user is shown the full identity number of this person."""
    return can(user, "person.full_id") or (
        user.role == Role.INDIVIDUAL and user.person_id == person.pk
    )


def display_id_number(user: User, person: Person) -> str:
    return (
        person.id_number if shows_full_id(user, person) else mask_identity_number(person.id_number)
    )


def area_setting(area_code: str, key: str, on: dt.date | None = None) -> Any:
    """The value of an area setting in force on a day (default today)."""
    spec = spec_for(key)
    day = on or timezone.localdate()
    row = (
        AreaSetting.objects.filter(area_id=area_code, key=key, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .order_by("-valid_from")
        .first()
    )
    return spec.read(row.value) if row else spec.default
