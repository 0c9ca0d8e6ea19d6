"""Registry endpoints: areas, outlets, persons, employers, employments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.api.paging import page_of, paginate
from shebao.audit.services import access_record
from shebao.core.errors import InvalidInput
from shebao.registry import selectors, services
from shebao.registry.models import Area, Employer, Employment, Outlet, Person

router = Router(tags=["registry"])


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def acting_area(request: HttpRequest, code: str | None) -> Area:
    """The area a create acts in: the caller's own, or (ministry) the one named."""
    user = actor(request)
    if code is None:
        if user.area_id is None:
            raise InvalidInput(
                _("Name the area (its 6-digit code) to act in."), code="required", field="area"
            )
        code = user.area_id
    return selectors.area_get(user, code)


# --- schemas ---------------------------------------------------------------


class ErrorOut(Schema):
    code: str = Field(description="Stable machine-readable error code")
    message: str = Field(
        description="What was wrong and what is expected, in the request's language"
    )
    field: str | None = Field(None, description="The input field concerned, if any")


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    area: str | None = Field(None, alias="area_id")
    employer: int | None = Field(None, alias="employer_id")
    person: int | None = Field(None, alias="person_id")


class AreaOut(Schema):
    code: str = Field(description="6-digit administrative division code (GB/T 2260)")
    name: str
    issuer_id: str | None = Field(None, description="Assigned by the ministry on approval")
    status: str


class AreaIn(Schema):
    code: str = Field(description="6-digit administrative division code (GB/T 2260)")
    name: str


class AreaPatch(Schema):
    name: str


class SettingOut(Schema):
    key: str
    value: Any
    valid_from: dt.date
    valid_to: dt.date | None


class SettingIn(Schema):
    key: str = Field(description="A key of the settings catalogue, e.g. temporary_loss_days")
    value: Any
    valid_from: dt.date
    note: str = ""


class OutletOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    code: str
    name: str
    address: str
    phone: str
    active: bool


class OutletIn(Schema):
    area: str | None = Field(None, description="Area code; defaults to the caller's area")
    code: str
    name: str
    address: str = ""
    phone: str = ""


class OutletPatch(Schema):
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    active: bool | None = None


class PersonOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    id_number: str = Field(description="Full or masked (1101**********002X) by the caller's role")
    name: str
    birth_date: dt.date = Field(description="Derived from the identity number")
    sex: str = Field(description="M or F, derived from the identity number")
    status: str
    registered_on: dt.date

    @staticmethod
    def resolve_id_number(obj: Person, context: dict[str, Any]) -> str:
        return selectors.display_id_number(context["request"].user, obj)


class PersonDetailOut(PersonOut):
    phone: str
    address: str


class PersonIn(Schema):
    area: str | None = Field(None, description="Area code; defaults to the caller's area")
    id_number: str = Field(description="Resident identity number (GB 11643); lower-case x accepted")
    name: str
    phone: str = ""
    address: str = ""


class PersonPatch(Schema):
    name: str | None = None
    phone: str | None = None
    address: str | None = None


class EmployerOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    credit_code: str = Field(description="Unified social credit code (GB 32100)")
    name: str
    established_on: dt.date
    registered_on: dt.date
    late_registration: bool = Field(
        description="Registered more than 30 days after establishment (SIL art. 57)"
    )
    industry_risk_class: int
    status: str


class EmployerDetailOut(EmployerOut):
    address: str
    contact_name: str
    phone: str


class EmployerIn(Schema):
    area: str | None = Field(None, description="Area code; defaults to the caller's area")
    credit_code: str
    name: str
    established_on: dt.date
    registered_on: dt.date | None = Field(None, description="Defaults to today")
    industry_risk_class: int = Field(1, ge=1, le=8)
    address: str = ""
    contact_name: str = ""
    phone: str = ""


class EmployerPatch(Schema):
    name: str | None = None
    address: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    industry_risk_class: int | None = Field(None, ge=1, le=8)


class EmploymentOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    person: int = Field(alias="person_id")
    person_name: str = Field(alias="person.name")
    employer: int = Field(alias="employer_id")
    employer_name: str = Field(alias="employer.name")
    start_date: dt.date
    end_date: dt.date | None
    end_reason: str
    registered_on: dt.date
    late_registration: bool = Field(
        description="Registered more than 30 days after the start (SIL art. 58)"
    )


class EmploymentIn(Schema):
    employer: int = Field(description="Employer id")
    id_number: str = Field(description="The employee's resident identity number")
    name: str = Field("", description="Needed only when the person is not registered yet")
    start_date: dt.date
    registered_on: dt.date | None = Field(None, description="Defaults to today")


class EmploymentEndIn(Schema):
    end_date: dt.date
    reason: str = ""


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class PersonQuery(PageQuery):
    q: str | None = Field(
        None, description="Identity number, its last digits, or the start of a name"
    )
    area: str | None = None
    status: str | None = None


class EmployerQuery(PageQuery):
    q: str | None = Field(None, description="Credit code or the start of a name")
    area: str | None = None
    late_registration: bool | None = None


class EmploymentQuery(PageQuery):
    employer: int | None = None
    person: int | None = None
    current: bool | None = Field(None, description="true: not ended; false: ended")
    late_registration: bool | None = None


ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def responses(ok: int, schema: Any) -> dict[int, Any]:
    return {ok: schema, **ERRORS}


# --- me --------------------------------------------------------------------


@router.get("/me", response=responses(200, MeOut), summary="The calling user")
def me(request: HttpRequest) -> Any:
    return actor(request)


# --- areas -----------------------------------------------------------------


@router.get("/areas", response=responses(200, page_of(AreaOut)), summary="List issuing areas")
def area_list(request: HttpRequest, query: Query[PageQuery]) -> Any:
    return paginate(selectors.areas_for(actor(request)), query.page, query.page_size)


@router.post(
    "/areas", response=responses(201, AreaOut), summary="Create an issuing area (ministry)"
)
def area_create(request: HttpRequest, payload: AreaIn) -> Any:
    return Status(
        201, services.area_create(actor=actor(request), code=payload.code, name=payload.name)
    )


@router.get("/areas/{code}", response=responses(200, AreaOut), summary="One issuing area")
def area_detail(request: HttpRequest, code: str) -> Any:
    return selectors.area_get(actor(request), code)


@router.patch("/areas/{code}", response=responses(200, AreaOut), summary="Rename an issuing area")
def area_update(request: HttpRequest, code: str, payload: AreaPatch) -> Any:
    area = selectors.area_get(actor(request), code)
    return services.area_update(actor=actor(request), area=area, name=payload.name)


@router.get(
    "/areas/{code}/settings",
    response=responses(200, list[SettingOut]),
    summary="An area's settings with their validity periods",
)
def area_settings(request: HttpRequest, code: str) -> Any:
    return list(selectors.area_get(actor(request), code).settings.all())


@router.post(
    "/areas/{code}/settings",
    response=responses(201, SettingOut),
    summary="Give an area setting a new value from a date on",
)
def area_setting_set(request: HttpRequest, code: str, payload: SettingIn) -> Any:
    area = selectors.area_get(actor(request), code)
    return Status(
        201,
        services.area_setting_set(
            actor=actor(request),
            area=area,
            key=payload.key,
            value=payload.value,
            valid_from=payload.valid_from,
            note=payload.note,
        ),
    )


# --- outlets ---------------------------------------------------------------


@router.get("/outlets", response=responses(200, page_of(OutletOut)), summary="List service outlets")
def outlet_list(request: HttpRequest, query: Query[PageQuery]) -> Any:
    return paginate(
        selectors.outlets_for(actor(request)).order_by("area_id", "code"),
        query.page,
        query.page_size,
    )


@router.post("/outlets", response=responses(201, OutletOut), summary="Open a service outlet")
def outlet_create(request: HttpRequest, payload: OutletIn) -> Any:
    area = acting_area(request, payload.area)
    return Status(
        201,
        services.outlet_create(
            actor=actor(request),
            area=area,
            code=payload.code,
            name=payload.name,
            address=payload.address,
            phone=payload.phone,
        ),
    )


@router.get("/outlets/{outlet_id}", response=responses(200, OutletOut), summary="One outlet")
def outlet_detail(request: HttpRequest, outlet_id: int) -> Outlet:
    return selectors.outlet_get(actor(request), outlet_id)


@router.patch(
    "/outlets/{outlet_id}", response=responses(200, OutletOut), summary="Change an outlet"
)
def outlet_update(request: HttpRequest, outlet_id: int, payload: OutletPatch) -> Outlet:
    outlet = selectors.outlet_get(actor(request), outlet_id)
    return services.outlet_update(
        actor=actor(request), outlet=outlet, **payload.dict(exclude_none=True)
    )


# --- persons ---------------------------------------------------------------


@router.get(
    "/persons",
    response=responses(200, page_of(PersonOut)),
    summary="List or search insured persons",
)
def person_list(request: HttpRequest, query: Query[PersonQuery]) -> Any:
    user = actor(request)
    rows = selectors.persons_for(user)
    if query.q:
        found = selectors.person_search(user, query.q, limit=query.page_size)
        return {"items": found, "count": len(found), "page": 1, "pages": 1}
    if query.area:
        rows = rows.filter(area_id=query.area)
    if query.status:
        rows = rows.filter(status=query.status)
    page = paginate(rows.order_by("area_id", "pk"), query.page, query.page_size)
    if page["items"] and user.role != Role.INDIVIDUAL:
        access_record(
            actor=user,
            action="person.list",
            area_code=page["items"][0].area_id,
            person_ids=[p.pk for p in page["items"]],
            page=query.page,
        )
    return page


@router.post("/persons", response=responses(201, PersonDetailOut), summary="Register a person")
def person_create(request: HttpRequest, payload: PersonIn) -> Any:
    area = acting_area(request, payload.area)
    return Status(
        201,
        services.person_register(
            actor=actor(request),
            area=area,
            id_number=payload.id_number,
            name=payload.name,
            phone=payload.phone,
            address=payload.address,
        ),
    )


@router.get(
    "/persons/{person_id}",
    response=responses(200, PersonDetailOut),
    summary="One person's registration record (the read is logged)",
)
def person_detail(request: HttpRequest, person_id: int) -> Person:
    return selectors.person_get(actor(request), person_id)


@router.patch(
    "/persons/{person_id}",
    response=responses(200, PersonDetailOut),
    summary="Change a person's name or contact details",
)
def person_update(request: HttpRequest, person_id: int, payload: PersonPatch) -> Person:
    person = selectors.person_get(actor(request), person_id, purpose="person.update")
    return services.person_update(
        actor=actor(request), person=person, **payload.dict(exclude_none=True)
    )


# --- employers -------------------------------------------------------------


@router.get("/employers", response=responses(200, page_of(EmployerOut)), summary="List employers")
def employer_list(request: HttpRequest, query: Query[EmployerQuery]) -> Any:
    rows = selectors.employers_for(actor(request))
    if query.q:
        text = query.q.strip()
        rows = (
            rows.filter(credit_code=text.upper())
            if len(text) == 18
            else rows.filter(name__contains=text)
        )
    if query.area:
        rows = rows.filter(area_id=query.area)
    if query.late_registration is not None:
        rows = rows.filter(late_registration=query.late_registration)
    return paginate(rows.order_by("area_id", "name", "pk"), query.page, query.page_size)


@router.post(
    "/employers", response=responses(201, EmployerDetailOut), summary="Register an employer"
)
def employer_create(request: HttpRequest, payload: EmployerIn) -> Any:
    area = acting_area(request, payload.area)
    data = payload.dict(exclude={"area"})
    return Status(201, services.employer_register(actor=actor(request), area=area, **data))


@router.get(
    "/employers/{employer_id}", response=responses(200, EmployerDetailOut), summary="One employer"
)
def employer_detail(request: HttpRequest, employer_id: int) -> Employer:
    return selectors.employer_get(actor(request), employer_id)


@router.patch(
    "/employers/{employer_id}",
    response=responses(200, EmployerDetailOut),
    summary="Change an employer's details",
)
def employer_update(request: HttpRequest, employer_id: int, payload: EmployerPatch) -> Employer:
    employer = selectors.employer_get(actor(request), employer_id)
    return services.employer_update(
        actor=actor(request), employer=employer, **payload.dict(exclude_none=True)
    )


# --- employments -----------------------------------------------------------


@router.get(
    "/employments", response=responses(200, page_of(EmploymentOut)), summary="List employments"
)
def employment_list(request: HttpRequest, query: Query[EmploymentQuery]) -> Any:
    rows = selectors.employments_for(actor(request))
    if query.employer is not None:
        rows = rows.filter(employer_id=query.employer)
    if query.person is not None:
        rows = rows.filter(person_id=query.person)
    if query.current is not None:
        rows = rows.filter(end_date__isnull=query.current)
    if query.late_registration is not None:
        rows = rows.filter(late_registration=query.late_registration)
    return paginate(rows.order_by("area_id", "-start_date", "pk"), query.page, query.page_size)


@router.post(
    "/employments",
    response=responses(201, EmploymentOut),
    summary="Register an employment (and the person, if new)",
)
def employment_create(request: HttpRequest, payload: EmploymentIn) -> Any:
    employer = selectors.employer_get(actor(request), payload.employer)
    return Status(
        201,
        services.employment_register(
            actor=actor(request),
            employer=employer,
            id_number=payload.id_number,
            name=payload.name,
            start_date=payload.start_date,
            registered_on=payload.registered_on,
        ),
    )


@router.get(
    "/employments/{employment_id}", response=responses(200, EmploymentOut), summary="One employment"
)
def employment_detail(request: HttpRequest, employment_id: int) -> Employment:
    return selectors.employment_get(actor(request), employment_id)


@router.post(
    "/employments/{employment_id}/end",
    response=responses(200, EmploymentOut),
    summary="End an employment",
)
def employment_end(
    request: HttpRequest, employment_id: int, payload: EmploymentEndIn
) -> Employment:
    employment = selectors.employment_get(actor(request), employment_id)
    return services.employment_end(
        actor=actor(request),
        employment=employment,
        end_date=payload.end_date,
        reason=payload.reason,
    )
