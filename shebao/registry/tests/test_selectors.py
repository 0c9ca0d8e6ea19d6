"""Object-level scoping: each role sees exactly its own part of the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from shebao.audit.models import AccessEvent
from shebao.core.errors import NotFound
from shebao.registry import selectors
from shebao.registry.models import Employer, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def far_person(other_area):
    return Person.objects.create(
        area=other_area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )


def test_area_staff_see_only_their_area(owner, person, far_person):
    assert list(selectors.persons_for(owner)) == [person]
    with pytest.raises(NotFound):
        selectors.person_get(owner, far_person.pk)


def test_the_ministry_sees_every_area(ministry, person, far_person):
    assert set(selectors.persons_for(ministry)) == {person, far_person}


def test_an_employer_sees_only_its_own_employees(employer_user, employment, area):
    stranger_person = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    assert list(selectors.persons_for(employer_user)) == [employment.person]
    assert stranger_person not in selectors.persons_for(employer_user)
    assert list(selectors.employers_for(employer_user)) == [employment.employer]


def test_an_employer_does_not_see_other_employers(employer_user, area):
    other = Employer.objects.create(
        area=area,
        credit_code="91110000600037341L",
        name="其他",
        established_on=dt.date(2000, 1, 1),
        registered_on=dt.date(2000, 1, 1),
    )
    with pytest.raises(NotFound):
        selectors.employer_get(employer_user, other.pk)


def test_an_individual_sees_only_themselves(individual, person, area):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    assert list(selectors.persons_for(individual)) == [person]
    with pytest.raises(NotFound):
        selectors.person_get(individual, other.pk)


def test_a_staff_read_of_a_person_is_logged_but_a_self_read_is_not(owner, individual, person):
    selectors.person_get(individual, person.pk)
    assert not AccessEvent.objects.exists()
    selectors.person_get(owner, person.pk)
    event = AccessEvent.objects.get()
    assert event.actor == owner
    assert event.person_ids == [person.pk]
    assert event.action == "person.view"


def test_a_search_logs_whom_it_showed_without_the_full_number(owner, person):
    found = selectors.person_search(owner, "3314")
    assert found == [person]
    event = AccessEvent.objects.get(action="person.search")
    assert event.person_ids == [person.pk]
    assert person.id_number not in str(event.detail)


def test_search_finds_by_full_number_suffix_and_name(owner, person):
    assert selectors.person_search(owner, person.id_number) == [person]
    assert selectors.person_search(owner, "张") == [person]
    assert selectors.person_search(owner, "王") == []


def test_ids_are_masked_for_roles_that_do_not_need_them(owner, auditor, individual, person):
    assert selectors.display_id_number(owner, person) == person.id_number
    assert selectors.display_id_number(auditor, person) == "3201**********3314"
    assert selectors.display_id_number(individual, person) == person.id_number
