"""A realistic demo area, generated from the identifier algorithms.

Identity numbers and credit codes are built with the real check algorithms
and real GB/T 2260 division codes, so every one of them passes validation.
Rows are written with bulk inserts (the registry services would audit each
of a hundred thousand rows one by one); the load itself is one audit event
recording who loaded what, with which seed. Demo users, in contrast, are
created through the account service like any others.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.services import audit_record
from shebao.core.progress import Progress
from shebao.registry.identifiers import (
    current_divisions,
    make_identity_number,
    random_credit_code,
)
from shebao.registry.models import (
    REGISTRATION_DEADLINE_DAYS,
    Area,
    Employer,
    Employment,
    Outlet,
    Person,
    PersonStatus,
)

DEMO_AREA_CODE = "320100"
DEMO_AREA_NAME = "南京市"
DEMO_PASSWORD = "shebao-demo-2026"

# (user name, role, full name) — one account per role.
DEMO_USERS = [
    ("ministry", Role.MINISTRY_ADMIN, "部级管理员"),
    ("areaadmin", Role.AREA_ADMIN, "王建国"),
    ("registrar", Role.REGISTRAR, "李秀英"),
    ("cardofficer", Role.CARD_OFFICER, "张伟"),
    ("contrib", Role.CONTRIBUTIONS_OFFICER, "刘洋"),
    ("cashier", Role.CASHIER, "陈静"),
    ("auditor", Role.AUDITOR, "杨帆"),
    ("consultant", Role.CONSULTANT, "赵敏"),
    ("employer", Role.EMPLOYER, "单位经办人"),
    ("person", Role.INDIVIDUAL, ""),
]

# Common surnames, weighted roughly by frequency.
SURNAMES = (
    "王" * 8
    + "李" * 8
    + "张" * 7
    + "刘" * 6
    + "陈" * 5
    + "杨" * 3
    + "黄" * 2
    + "赵" * 2
    + "吴" * 2
    + "周" * 2
    + "徐许孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董萧程曹袁邓傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国建华志强海燕晓东文博雨欣子涵浩然梓轩思远一诺欣怡佳琪宇航俊杰天佑嘉怡"
DISTRICTS = [
    "玄武区",
    "秦淮区",
    "建邺区",
    "鼓楼区",
    "浦口区",
    "栖霞区",
    "雨花台区",
    "江宁区",
    "六合区",
    "溧水区",
    "高淳区",
]
ROADS = [
    "中山路",
    "北京东路",
    "汉中路",
    "中央路",
    "龙蟠路",
    "江东中路",
    "广州路",
    "湖南路",
    "珠江路",
    "太平南路",
    "应天大街",
    "集庆路",
]
TRADES = [
    "科技",
    "信息",
    "建设",
    "商贸",
    "物流",
    "餐饮",
    "医药",
    "电子",
    "文化",
    "机械",
    "环保",
    "教育",
    "咨询",
    "食品",
    "纺织",
]
FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
BRANDS = "金陵钟山秦淮紫金扬子石城新街长江玄武栖霞明远华东苏宁凤凰龙江鼎盛恒通宏达瑞丰嘉禾诚信博远"


@dataclass
class DemoResult:
    area: Area
    persons: int = 0
    employers: int = 0
    employments: int = 0
    users: list[tuple[str, str, str]] = field(default_factory=list)


# Plain row inserts: building a model object per row would double the load time.
PERSON_INSERT = (
    f"INSERT INTO {Person._meta.db_table} (area_id, id_number, name, birth_date, sex, phone, "  # noqa: S608
    "address, status, registered_on, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
EMPLOYMENT_INSERT = (
    f"INSERT INTO {Employment._meta.db_table} (area_id, person_id, employer_id, start_date, "  # noqa: S608
    "end_date, end_reason, registered_on, late_registration, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _insert(sql: str, rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _name(rng: random.Random) -> str:
    surname = rng.choice(SURNAMES)
    length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN) for _ in range(length))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


def _address(rng: random.Random) -> str:
    return f"南京市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 399)}号"


def _registration_delay(rng: random.Random) -> int:
    """Days between the event and its registration: mostly on time, some late."""
    if rng.random() < 0.06:
        return rng.randint(REGISTRATION_DEADLINE_DAYS + 1, 400)
    return rng.randint(0, REGISTRATION_DEADLINE_DAYS)


def demo_exists() -> bool:
    return Area.objects.filter(code=DEMO_AREA_CODE).exists()


@transaction.atomic
def demo_build(
    *,
    persons: int,
    employers: int,
    seed: int,
    stream: Any = None,
    progress: bool = True,
) -> DemoResult:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    today = timezone.localdate()
    now = timezone.now()
    area = Area.objects.create(code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
    result = DemoResult(area=area)

    for outlet_number, district in enumerate(DISTRICTS[:6], start=1):
        Outlet.objects.create(
            area=area,
            code=f"WD{outlet_number:03d}",
            name=f"{district}社会保险服务大厅",
            address=f"南京市{district}{rng.choice(ROADS)}{rng.randint(1, 200)}号",
            phone=f"025-{rng.randint(50000000, 89999999)}",
        )

    local = current_divisions("3201")
    national = current_divisions("")

    # Employers.
    codes: set[str] = set()
    employer_rows: list[Employer] = []
    while len(employer_rows) < employers:
        code = random_credit_code(rng, rng.choice(local))
        if code in codes:
            continue
        codes.add(code)
        established = today - dt.timedelta(days=rng.randint(40, 30 * 365))
        registered = min(established + dt.timedelta(days=_registration_delay(rng)), today)
        employer_rows.append(
            Employer(
                area=area,
                credit_code=code,
                name=f"南京{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(TRADES)}{rng.choice(FORMS)}",
                established_on=established,
                registered_on=registered,
                late_registration=(registered - established).days > REGISTRATION_DEADLINE_DAYS,
                industry_risk_class=rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8]),
                address=_address(rng),
                contact_name=_name(rng),
                phone=_phone(rng),
            )
        )
    Employer.objects.bulk_create(employer_rows, batch_size=2000)
    employer_list = list(Employer.objects.filter(area=area).only("pk", "established_on"))
    result.employers = len(employer_list)

    # Persons, then their working lives.
    seen: set[str] = set()
    batch: list[tuple[Any, ...]] = []
    work: list[tuple[str, dt.date]] = []  # (id_number, birth date)
    with Progress("persons", persons, stream=stream, enabled=progress) as bar:
        while len(seen) < persons:
            division = rng.choice(local) if rng.random() < 0.7 else rng.choice(national)
            birth = dt.date.fromordinal(
                rng.randint(dt.date(1962, 1, 1).toordinal(), dt.date(2006, 12, 31).toordinal())
            )
            number = make_identity_number(division, birth, rng.randint(0, 999))
            if number in seen:
                continue
            seen.add(number)
            batch.append(
                (
                    area.code,
                    number,
                    _name(rng),
                    birth,
                    "M" if int(number[16]) % 2 else "F",
                    _phone(rng),
                    _address(rng),
                    PersonStatus.ACTIVE,
                    max(birth + dt.timedelta(days=16 * 365), dt.date(2000, 1, 1)),
                    now,
                )
            )
            work.append((number, birth))
            if len(batch) >= 5000:
                _insert(PERSON_INSERT, batch)
                bar.advance(len(batch))
                batch = []
        if batch:
            _insert(PERSON_INSERT, batch)
            bar.advance(len(batch))
    result.persons = len(seen)
    ids = dict(Person.objects.filter(area=area).values_list("id_number", "pk"))

    jobs: list[tuple[Any, ...]] = []
    with Progress("employments", len(work), stream=stream, enabled=progress) as bar:
        for index, (number, birth) in enumerate(work, start=1):
            start = max(
                birth + dt.timedelta(days=rng.randint(18 * 365, 26 * 365)),
                today - dt.timedelta(days=12 * 365),
            )
            while start <= today and employer_list:
                employer = rng.choice(employer_list)
                start = max(start, employer.established_on)
                span = rng.randint(200, 6 * 365)
                end = start + dt.timedelta(days=span)
                ends = end < today and rng.random() < 0.85
                registered = min(start + dt.timedelta(days=_registration_delay(rng)), today)
                jobs.append(
                    (
                        area.code,
                        ids[number],
                        employer.pk,
                        start,
                        end if ends else None,
                        "合同期满" if ends else "",
                        registered,
                        (registered - start).days > REGISTRATION_DEADLINE_DAYS,
                        now,
                    )
                )
                if not ends:
                    break
                start = end + dt.timedelta(days=rng.randint(1, 180))
            if len(jobs) >= 10000:
                _insert(EMPLOYMENT_INSERT, jobs)
                result.employments += len(jobs)
                jobs = []
            if index % 1000 == 0:
                bar.advance(1000)
        _insert(EMPLOYMENT_INSERT, jobs)
        result.employments += len(jobs)
        bar.advance(len(work) % 1000)

    audit_record(
        actor=None,
        action="demo.load",
        subject=area,
        area_code=area.code,
        after={
            "persons": result.persons,
            "employers": result.employers,
            "employments": result.employments,
            "seed": seed,
        },
    )
    result.users = _demo_users(area, employer_list[0].pk if employer_list else None)
    return result


def _demo_users(area: Area, employer_id: int | None) -> list[tuple[str, str, str]]:
    person_id = None
    if employer_id is not None:
        person_id = (
            Employment.objects.filter(employer_id=employer_id, end_date__isnull=True)
            .values_list("person_id", flat=True)
            .first()
        )
    if person_id is None:
        person_id = Person.objects.filter(area=area).values_list("pk", flat=True).first()
    created = []
    for username, role, full_name in DEMO_USERS:
        if (role == Role.EMPLOYER and employer_id is None) or (
            role == Role.INDIVIDUAL and person_id is None
        ):
            continue
        if role == Role.INDIVIDUAL and person_id is not None:
            full_name = Person.objects.get(pk=person_id).name
        user_create(
            actor=None,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            full_name=full_name,
            check_password=False,
            area_code=None if role == Role.MINISTRY_ADMIN else area.code,
            employer_id=employer_id if role == Role.EMPLOYER else None,
            person_id=person_id if role == Role.INDIVIDUAL else None,
        )
        created.append((username, DEMO_PASSWORD, str(Role(role).label)))
    return created


def demo_logins() -> list[tuple[str, str, str]]:
    users = {
        u.username: u for u in User.objects.filter(username__in=[n for n, _r, _f in DEMO_USERS])
    }
    return [
        (name, DEMO_PASSWORD, str(Role(role).label))
        for name, role, _full in DEMO_USERS
        if name in users
    ]
