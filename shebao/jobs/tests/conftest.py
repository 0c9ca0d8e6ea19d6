"""A declaration world for the job tests: an employer with two employees in October."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.registry.models import Employment, Person

OCTOBER = dt.date(2026, 10, 1)


def october_file(*rows: str, name: str = "october.csv") -> SimpleUploadedFile:
    body = "\n".join(["身份证号码,姓名,月工资", *rows]) + "\n"
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


GOOD_ROWS = ("320106198503023314,张伟,9000", "11010519491231002X,李秀英,8000")


@pytest.fixture
def staff(area, employer, employment):
    colleague = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    Employment.objects.create(
        area=area,
        person=colleague,
        employer=employer,
        start_date=dt.date(2020, 1, 1),
        registered_on=dt.date(2020, 1, 5),
    )
    return [employment.person, colleague]


@pytest.fixture
def officer(area):
    return make_user("contrib", Role.CONTRIBUTIONS_OFFICER, area)
