"""Writes to the registry. Each function checks the actor's right, validates,
writes, and appends the audit event in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.audit.services import audit_record, snapshot
from shebao.core.errors import Conflict, InvalidInput
from shebao.core.text import required_text
from shebao.registry.area_settings import spec_for
from shebao.registry.identifiers import (
    division_known,
    normalize_credit_code,
    parse_identity_number,
)
from shebao.registry.models import (
    REGISTRATION_DEADLINE_DAYS,
    Area,
    AreaSetting,
    AreaStatus,
    Employer,
    EmployerStatus,
    Employment,
    Outlet,
    Person,
)


def _not_future(day: dt.date, field: str) -> dt.date:
    if day > timezone.localdate():
        raise InvalidInput(
            _("The date %(date)s is in the future."),
            code="date_in_future",
            field=field,
            params={"date": day.isoformat()},
        )
    return day


def _is_late(event_day: dt.date, registered_on: dt.date) -> bool:
    return (registered_on - event_day).days > REGISTRATION_DEADLINE_DAYS


def _text(field: str, max_length: int, *, required: bool = False) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if required:
            return required_text(value, field, max_length=max_length)
        text = str(value or "").strip()
        if len(text) > max_length:
            raise InvalidInput(
                _("At most %(max)d characters are allowed, got %(length)d."),
                code="too_long",
                field=field,
                params={"max": max_length, "length": len(text)},
            )
        return text

    return clean


def _risk_class(value: Any) -> int:
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= 8:
        raise InvalidInput(
            _("Industry risk class must be 1 to 8, got %(value)s."),
            code="risk_class",
            field="industry_risk_class",
            params={"value": value},
        )
    return int(value)


def _choice(field: str, choices: Any) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if value not in choices.values:
            raise InvalidInput(
                _("%(value)s is not one of %(choices)s."),
                code="invalid_choice",
                field=field,
                params={"value": value, "choices": ", ".join(choices.values)},
            )
        return str(value)

    return clean


def _change(
    *,
    actor: User,
    instance: Any,
    action: str,
    area_code: str,
    changes: dict[str, Any],
    editable: dict[str, Callable[[Any], Any]],
) -> Any:
    """Apply field changes that each pass their cleaner, and audit before/after."""
    unknown = sorted(set(changes) - set(editable))
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed: %(fields)s."),
            code="not_editable",
            field=unknown[0],
            params={"fields": ", ".join(unknown)},
        )
    if not changes:
        return instance
    before = snapshot(instance)
    for field, value in changes.items():
        setattr(instance, field, editable[field](value))
    instance.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action=action,
        subject=instance,
        area_code=area_code,
        before=before,
        after=snapshot(instance),
    )
    return instance


# --- areas -----------------------------------------------------------------


@transaction.atomic
def area_create(*, actor: User, code: str, name: str) -> Area:
    require(actor, "area.create")
    code = (code or "").strip()
    if not division_known(code):
        raise InvalidInput(
            _("Area code %(code)s is not a 6-digit division code in GB/T 2260."),
            code="area_code",
            field="code",
            params={"code": code},
        )
    if Area.objects.filter(code=code).exists():
        raise Conflict(
            _("Area %(code)s already exists."),
            code="area_exists",
            field="code",
            params={"code": code},
        )
    area = Area.objects.create(code=code, name=required_text(name, "name", max_length=100))
    audit_record(
        actor=actor, action="area.create", subject=area, area_code=None, after=snapshot(area)
    )
    return area


@transaction.atomic
def area_approve(*, actor: User, area: Area, issuer_id: str) -> Area:
    """The ministry approves an area to issue cards and assigns its issuer ID.

    (The checklist of technical conditions that precedes this decision is
    the governance module's; this is the decision itself.)
    """
    require(actor, "area.approve")
    issuer_id = required_text(issuer_id, "issuer_id", max_length=32)
    if Area.objects.filter(issuer_id=issuer_id).exclude(pk=area.pk).exists():
        raise Conflict(
            _("Issuer ID %(issuer_id)s is already assigned to another area."),
            code="issuer_id_taken",
            field="issuer_id",
            params={"issuer_id": issuer_id},
        )
    before = snapshot(area)
    area.issuer_id = issuer_id
    area.status = AreaStatus.APPROVED
    area.save(update_fields=["issuer_id", "status"])
    audit_record(
        actor=actor,
        action="area.approve",
        subject=area,
        area_code=None,
        before=before,
        after=snapshot(area),
    )
    return area


@transaction.atomic
def area_update(*, actor: User, area: Area, name: str) -> Area:
    require(actor, "area.update", area_code=area.code)
    return _change(
        actor=actor,
        instance=area,
        action="area.update",
        area_code=area.code,
        changes={"name": name},
        editable={"name": _text("name", 100, required=True)},
    )


@transaction.atomic
def area_setting_set(
    *, actor: User, area: Area, key: str, value: Any, valid_from: dt.date, note: str = ""
) -> AreaSetting:
    """Give a setting a new value from `valid_from` on; the period before keeps its value."""
    require(actor, "area.configure", area_code=area.code)
    spec = spec_for(key)
    stored = spec.clean(value)
    rows = AreaSetting.objects.select_for_update().filter(area=area, key=key)
    if rows.filter(valid_from__gte=valid_from).exists():
        raise Conflict(
            _(
                "Setting %(key)s already has a value from %(date)s or later; a new value must start "
                "after the latest one."
            ),
            code="setting_period",
            field="valid_from",
            params={"key": key, "date": valid_from.isoformat()},
        )
    previous = rows.filter(valid_to__isnull=True).first()
    if previous is not None:
        before = snapshot(previous)
        previous.valid_to = valid_from
        previous.save(update_fields=["valid_to"])
        audit_record(
            actor=actor,
            action="area_setting.close",
            subject=previous,
            area_code=area.code,
            before=before,
            after=snapshot(previous),
        )
    setting = AreaSetting.objects.create(
        area=area, key=key, value=stored, valid_from=valid_from, note=note[:200]
    )
    audit_record(
        actor=actor,
        action="area_setting.set",
        subject=setting,
        area_code=area.code,
        after=snapshot(setting),
    )
    return setting


# --- outlets ---------------------------------------------------------------


@transaction.atomic
def outlet_create(
    *, actor: User, area: Area, code: str, name: str, address: str = "", phone: str = ""
) -> Outlet:
    require(actor, "outlet.manage", area_code=area.code)
    code = required_text(code, "code", max_length=16)
    if Outlet.objects.filter(area=area, code=code).exists():
        raise Conflict(
            _("Outlet code %(code)s is already used in this area."),
            code="outlet_exists",
            field="code",
            params={"code": code},
        )
    outlet = Outlet.objects.create(
        area=area,
        code=code,
        name=required_text(name, "name", max_length=100),
        address=address.strip(),
        phone=phone.strip(),
    )
    audit_record(
        actor=actor,
        action="outlet.create",
        subject=outlet,
        area_code=area.code,
        after=snapshot(outlet),
    )
    return outlet


@transaction.atomic
def outlet_update(*, actor: User, outlet: Outlet, **changes: Any) -> Outlet:
    require(actor, "outlet.manage", area_code=outlet.area_id)
    editable: dict[str, Callable[[Any], Any]] = {
        "name": _text("name", 100, required=True),
        "address": _text("address", 200),
        "phone": _text("phone", 32),
        "active": bool,
    }
    return _change(
        actor=actor,
        instance=outlet,
        action="outlet.update",
        area_code=outlet.area_id,
        changes=changes,
        editable=editable,
    )


# --- persons ---------------------------------------------------------------


@transaction.atomic
def person_register(
    *,
    actor: User,
    area: Area,
    id_number: str,
    name: str,
    phone: str = "",
    address: str = "",
    registered_on: dt.date | None = None,
) -> Person:
    """Register an insured person; birth date and sex come from the identity number."""
    require(actor, "person.register", area_code=area.code)
    return _person_create(
        actor=actor,
        area=area,
        id_number=id_number,
        name=name,
        phone=phone,
        address=address,
        registered_on=registered_on,
    )


def _person_create(
    *,
    actor: User,
    area: Area,
    id_number: str,
    name: str,
    phone: str = "",
    address: str = "",
    registered_on: dt.date | None = None,
) -> Person:
    identity = parse_identity_number(id_number)
    if Person.objects.filter(area=area, id_number=identity.number).exists():
        raise Conflict(
            _("A person with this identity number is already registered in this area."),
            code="person_exists",
            field="id_number",
        )
    try:
        with transaction.atomic():
            person = Person.objects.create(
                area=area,
                id_number=identity.number,
                name=required_text(name, "name", max_length=100),
                birth_date=identity.birth_date,
                sex=identity.sex,
                phone=phone.strip(),
                address=address.strip(),
                registered_on=registered_on or timezone.localdate(),
            )
    except IntegrityError:
        raise Conflict(
            _("A person with this identity number is already registered in this area."),
            code="person_exists",
            field="id_number",
        ) from None
    audit_record(
        actor=actor,
        action="person.register",
        subject=person,
        area_code=area.code,
        after=snapshot(person),
    )
    return person


@transaction.atomic
def person_update(*, actor: User, person: Person, **changes: Any) -> Person:
    """Change a person's name or contact details; the identity number never changes here."""
    require(actor, "person.update", area_code=person.area_id)
    editable = {
        "name": _text("name", 100, required=True),
        "phone": _text("phone", 32),
        "address": _text("address", 200),
    }
    return _change(
        actor=actor,
        instance=person,
        action="person.update",
        area_code=person.area_id,
        changes=changes,
        editable=editable,
    )


# --- employers -------------------------------------------------------------


@transaction.atomic
def employer_register(
    *,
    actor: User,
    area: Area,
    credit_code: str,
    name: str,
    established_on: dt.date,
    registered_on: dt.date | None = None,
    industry_risk_class: int = 1,
    address: str = "",
    contact_name: str = "",
    phone: str = "",
) -> Employer:
    """Register an employer (art. 57); more than 30 days after establishment is flagged late."""
    require(actor, "employer.register", area_code=area.code)
    code = normalize_credit_code(credit_code)
    _not_future(established_on, "established_on")
    registered_on = registered_on or timezone.localdate()
    if registered_on < established_on:
        raise InvalidInput(
            _("Registration date %(registered)s is before establishment on %(established)s."),
            code="registered_before_established",
            field="registered_on",
            params={
                "registered": registered_on.isoformat(),
                "established": established_on.isoformat(),
            },
        )
    industry_risk_class = _risk_class(industry_risk_class)
    if Employer.objects.filter(area=area, credit_code=code).exists():
        raise Conflict(
            _("An employer with this credit code is already registered in this area."),
            code="employer_exists",
            field="credit_code",
        )
    employer = Employer.objects.create(
        area=area,
        credit_code=code,
        name=required_text(name, "name", max_length=200),
        established_on=established_on,
        registered_on=registered_on,
        late_registration=_is_late(established_on, registered_on),
        industry_risk_class=industry_risk_class,
        address=address.strip(),
        contact_name=contact_name.strip(),
        phone=phone.strip(),
    )
    audit_record(
        actor=actor,
        action="employer.register",
        subject=employer,
        area_code=area.code,
        after=snapshot(employer),
    )
    return employer


@transaction.atomic
def employer_update(*, actor: User, employer: Employer, **changes: Any) -> Employer:
    require(actor, "employer.update", area_code=employer.area_id)
    editable = {
        "name": _text("name", 200, required=True),
        "address": _text("address", 200),
        "contact_name": _text("contact_name", 100),
        "phone": _text("phone", 32),
        "industry_risk_class": _risk_class,
        "status": _choice("status", EmployerStatus),
    }
    return _change(
        actor=actor,
        instance=employer,
        action="employer.update",
        area_code=employer.area_id,
        changes=changes,
        editable=editable,
    )


# --- employments -----------------------------------------------------------


@transaction.atomic
def employment_register(
    *,
    actor: User,
    employer: Employer,
    id_number: str,
    start_date: dt.date,
    name: str = "",
    registered_on: dt.date | None = None,
) -> Employment:
    """Register that a person works for `employer` from `start_date` (art. 58).

    A person not yet registered in the area is registered on the way, from
    the name given. Registration more than 30 days after the start is
    accepted and flagged late.
    """
    require(actor, "employment.register", area_code=employer.area_id, employer_id=employer.pk)
    identity = parse_identity_number(id_number)
    registered_on = registered_on or timezone.localdate()
    person = Person.objects.filter(area_id=employer.area_id, id_number=identity.number).first()
    if person is None:
        if not name.strip():
            raise InvalidInput(
                _("This person is not registered yet; give their name to register them."),
                code="name_required",
                field="name",
            )
        person = _person_create(
            actor=actor,
            area=employer.area,
            id_number=identity.number,
            name=name,
            registered_on=registered_on,
        )
    if start_date < person.birth_date + dt.timedelta(days=16 * 365):
        raise InvalidInput(
            _("The person was under 16 on %(date)s; employment cannot start before age 16."),
            code="under_age",
            field="start_date",
            params={"date": start_date.isoformat()},
        )
    overlapping = Employment.objects.filter(
        area_id=employer.area_id, person=person, employer=employer
    ).exclude(end_date__lt=start_date)
    if overlapping.exists():
        raise Conflict(
            _("This person already has an employment with this employer that is open on %(date)s."),
            code="employment_overlap",
            field="start_date",
            params={"date": start_date.isoformat()},
        )
    employment = Employment.objects.create(
        area_id=employer.area_id,
        person=person,
        employer=employer,
        start_date=start_date,
        registered_on=registered_on,
        late_registration=_is_late(start_date, registered_on),
    )
    audit_record(
        actor=actor,
        action="employment.register",
        subject=employment,
        area_code=employer.area_id,
        after=snapshot(employment),
    )
    return employment


@transaction.atomic
def employment_end(
    *, actor: User, employment: Employment, end_date: dt.date, reason: str = ""
) -> Employment:
    require(
        actor, "employment.end", area_code=employment.area_id, employer_id=employment.employer_id
    )
    if employment.end_date is not None:
        raise Conflict(
            _("This employment already ended on %(date)s."),
            code="employment_ended",
            field="end_date",
            params={"date": employment.end_date.isoformat()},
        )
    if end_date < employment.start_date:
        raise InvalidInput(
            _("End date %(end)s is before the start date %(start)s."),
            code="end_before_start",
            field="end_date",
            params={"end": end_date.isoformat(), "start": employment.start_date.isoformat()},
        )
    before = snapshot(employment)
    employment.end_date = end_date
    employment.end_reason = reason.strip()[:200]
    employment.save(update_fields=["end_date", "end_reason"])
    audit_record(
        actor=actor,
        action="employment.end",
        subject=employment,
        area_code=employment.area_id,
        before=before,
        after=snapshot(employment),
    )
    return employment
