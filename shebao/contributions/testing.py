"""Building a contributions world for tests: an area with a policy and an employer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.contributions.services import policy_set
from shebao.registry.identifiers import make_credit_code, make_identity_number
from shebao.registry.models import Area, Employer, Employment, Person

# DOMAIN.md §3: pension 16%/8%, medical 6%/2%, unemployment 0.5%/0.5%, maternity
# 0.8%; work injury 0.2%-1.9% by risk class.
RATES: dict[str, tuple[Decimal | str, Decimal | str]] = {
    "pension": ("0.16", "0.08"),
    "medical": ("0.06", "0.02"),
    "unemployment": ("0.005", "0.005"),
    "maternity": ("0.008", "0"),
}
INJURY: dict[int, Decimal | str] = {
    1: "0.002",
    2: "0.004",
    3: "0.007",
    4: "0.009",
    5: "0.011",
    6: "0.013",
    7: "0.016",
    8: "0.019",
}


def contribution_world(average_monthly_wage: str = "8000") -> tuple[Area, User, Employer]:
    """Beijing (110100) with a 2026 policy, a contributions officer and one employer."""
    area = Area.objects.create(code="110100", name="北京市")
    officer = user_create(
        actor=None,
        username="c",
        password="x",
        role=Role.CONTRIBUTIONS_OFFICER,
        area_code=area.code,
        check_password=False,
    )
    policy_set(
        actor=officer,
        area=area,
        valid_from=dt.date(2026, 1, 1),
        average_monthly_wage=average_monthly_wage,
        rates=RATES,
        work_injury_rates=INJURY,
    )
    employer = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("110105", "MA1000001"),
        name="x",
        established_on=dt.date(2000, 1, 1),
        registered_on=dt.date(2000, 1, 1),
    )
    return area, officer, employer


def hire(
    employer: Employer,
    name: str,
    sequence: int,
    start: dt.date = dt.date(2020, 1, 1),
    end: dt.date | None = None,
    *,
    division: str = "320106",
) -> Person:
    """A person of the employer's area (born 1990-01-01 in `division`, `sequence`
    0-999, odd for men) employed by it from `start`."""
    person = Person.objects.create(
        area_id=employer.area_id,
        id_number=make_identity_number(division, dt.date(1990, 1, 1), sequence),
        name=name,
        birth_date=dt.date(1990, 1, 1),
        sex="M" if sequence % 2 else "F",
        registered_on=dt.date(2010, 1, 1),
    )
    Employment.objects.create(
        area_id=employer.area_id,
        person=person,
        employer=employer,
        start_date=start,
        end_date=end,
        registered_on=start,
    )
    return person
