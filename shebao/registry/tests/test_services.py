"""Registry writes: derivation from the identity number, late registration
flags (SIL arts. 57, 58), settings with validity periods, rights."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from shebao.audit.models import AuditEvent
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry import services
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Person
from shebao.registry.selectors import area_setting

pytestmark = pytest.mark.django_db


def test_it_derives_birth_date_and_sex_from_the_identity_number(owner, area):
    person = services.person_register(
        actor=owner, area=area, id_number="11010519491231002x", name="李秀英"
    )
    assert person.id_number == "11010519491231002X"
    assert person.birth_date == dt.date(1949, 12, 31)
    assert person.sex == "F"


def test_it_audits_the_registration_in_the_same_transaction(owner, area):
    person = services.person_register(
        actor=owner, area=area, id_number="320106198503023314", name="张伟"
    )
    event = AuditEvent.objects.get(action="person.register")
    assert event.actor == owner
    assert event.chain == area.code
    assert event.subject_id == str(person.pk)
    assert event.after is not None
    assert event.after["id_number"] == "320106198503023314"


def test_it_refuses_a_second_registration_of_the_same_number(owner, area, person):
    with pytest.raises(Conflict) as caught:
        services.person_register(actor=owner, area=area, id_number=person.id_number, name="x")
    assert caught.value.code == "person_exists"


def test_it_writes_nothing_when_the_input_is_invalid(owner, area):
    events_before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as caught:
        services.person_register(actor=owner, area=area, id_number="110105194912310021", name="李")
    assert caught.value.field == "id_number"
    assert not Person.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_it_refuses_a_registration_in_another_area(stranger, area):
    with pytest.raises(Forbidden):
        services.person_register(
            actor=stranger, area=area, id_number="320106198503023314", name="张伟"
        )


def test_it_refuses_roles_without_the_right(colleague, area):
    with pytest.raises(Forbidden):
        services.person_register(
            actor=colleague, area=area, id_number="320106198503023314", name="张伟"
        )


def test_an_employer_registered_on_day_30_is_on_time_and_on_day_31_late(owner, area):
    established = dt.date(2026, 1, 1)
    on_time = services.employer_register(
        actor=owner,
        area=area,
        credit_code=make_credit_code("320102", "MA1000001"),
        name="甲公司",
        established_on=established,
        registered_on=dt.date(2026, 1, 31),
    )
    late = services.employer_register(
        actor=owner,
        area=area,
        credit_code=make_credit_code("320102", "MA1000002"),
        name="乙公司",
        established_on=established,
        registered_on=dt.date(2026, 2, 1),
    )
    assert not on_time.late_registration
    assert late.late_registration


def test_an_employment_registered_more_than_30_days_after_the_start_is_flagged(
    owner, employer, person
):
    employment = services.employment_register(
        actor=owner,
        employer=employer,
        id_number=person.id_number,
        start_date=dt.date(2026, 3, 1),
        registered_on=dt.date(2026, 4, 15),
    )
    assert employment.late_registration


def test_an_employer_registers_a_new_employee_and_the_person_with_it(employer_user, employer):
    employment = services.employment_register(
        actor=employer_user,
        employer=employer,
        id_number="11010519491231002X",
        name="李秀英",
        start_date=dt.date(2020, 1, 1),
    )
    assert employment.person.name == "李秀英"
    assert employment.person.birth_date == dt.date(1949, 12, 31)


def test_an_employer_cannot_register_staff_for_another_employer(employer_user, area, owner):
    other = services.employer_register(
        actor=owner,
        area=area,
        credit_code=make_credit_code("320102", "MA1000003"),
        name="丙公司",
        established_on=dt.date(2020, 1, 1),
    )
    with pytest.raises(Forbidden):
        services.employment_register(
            actor=employer_user,
            employer=other,
            id_number="11010519491231002X",
            name="李秀英",
            start_date=dt.date(2021, 1, 1),
        )


def test_it_refuses_overlapping_employment_with_the_same_employer(owner, employment):
    with pytest.raises(Conflict) as caught:
        services.employment_register(
            actor=owner,
            employer=employment.employer,
            id_number=employment.person.id_number,
            start_date=dt.date(2020, 1, 1),
        )
    assert caught.value.code == "employment_overlap"


def test_it_ends_an_employment_once(owner, employment):
    services.employment_end(actor=owner, employment=employment, end_date=dt.date(2024, 6, 30))
    with pytest.raises(Conflict):
        services.employment_end(actor=owner, employment=employment, end_date=dt.date(2024, 7, 1))


def test_it_refuses_an_end_before_the_start(owner, employment):
    with pytest.raises(InvalidInput) as caught:
        services.employment_end(actor=owner, employment=employment, end_date=dt.date(2000, 1, 1))
    assert caught.value.field == "end_date"


def test_an_area_setting_has_a_value_for_each_period(area_admin, area):
    assert area_setting(area.code, "temporary_loss_days") == 10  # national default
    services.area_setting_set(
        actor=area_admin,
        area=area,
        key="temporary_loss_days",
        value=7,
        valid_from=dt.date(2026, 1, 1),
    )
    services.area_setting_set(
        actor=area_admin,
        area=area,
        key="temporary_loss_days",
        value=15,
        valid_from=dt.date(2026, 7, 1),
    )
    assert area_setting(area.code, "temporary_loss_days", dt.date(2025, 12, 31)) == 10
    assert area_setting(area.code, "temporary_loss_days", dt.date(2026, 6, 30)) == 7
    assert area_setting(area.code, "temporary_loss_days", dt.date(2026, 7, 1)) == 15


def test_it_refuses_a_setting_value_of_the_wrong_type_or_range(area_admin, area):
    with pytest.raises(InvalidInput) as caught:
        services.area_setting_set(
            actor=area_admin,
            area=area,
            key="temporary_loss_days",
            value="ten",
            valid_from=dt.date(2026, 1, 1),
        )
    assert caught.value.code == "setting_type"
    with pytest.raises(InvalidInput) as caught:
        services.area_setting_set(
            actor=area_admin,
            area=area,
            key="temporary_loss_days",
            value=90,
            valid_from=dt.date(2026, 1, 1),
        )
    with translation.override("en"):
        assert "between 1 and 60" in caught.value.message


def test_it_refuses_an_unknown_setting(area_admin, area):
    with pytest.raises(InvalidInput) as caught:
        services.area_setting_set(
            actor=area_admin, area=area, key="colour", value=1, valid_from=dt.date(2026, 1, 1)
        )
    assert caught.value.code == "setting_unknown"


def test_only_the_ministry_creates_areas(ministry, owner):
    area = services.area_create(actor=ministry, code="440300", name="深圳市")
    assert area.status == "preparing" and area.issuer_id is None
    with pytest.raises(Forbidden):
        services.area_create(actor=owner, code="440100", name="广州市")
    with pytest.raises(InvalidInput):
        services.area_create(actor=ministry, code="999999", name="无")


def test_an_update_changes_only_editable_fields_and_audits_them(owner, employer, person):
    services.employer_update(
        actor=owner, employer=employer, phone=" 025-1234 ", industry_risk_class=3
    )
    employer.refresh_from_db()
    assert (employer.phone, employer.industry_risk_class) == ("025-1234", 3)
    event = AuditEvent.objects.get(action="employer.update")
    assert event.before is not None and event.before["industry_risk_class"] == 1
    with pytest.raises(InvalidInput) as caught:
        services.employer_update(actor=owner, employer=employer, credit_code="91110000600037341L")
    assert caught.value.code == "not_editable"
    with pytest.raises(InvalidInput) as caught:
        services.employer_update(actor=owner, employer=employer, industry_risk_class=9)
    assert caught.value.field == "industry_risk_class"
    with pytest.raises(InvalidInput) as caught:
        services.person_update(actor=owner, person=person, name=" ")
    assert caught.value.code == "required"


def test_an_empty_update_writes_nothing(owner, person):
    before = AuditEvent.objects.count()
    services.person_update(actor=owner, person=person)
    assert AuditEvent.objects.count() == before
