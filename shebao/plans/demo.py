"""Staff, equipment and plans for the demo area, so that the plans pages and
the approval checks of conditions (b) and (c) have something to show: two
counters and their devices at every outlet (an instant-issuance counter at
the first), one card reader reported faulty, a trained card officer per
outlet, and the four plans of the current year sized to the area's people."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.cards.models import Card
from shebao.plans import services
from shebao.plans.figures import year_bounds
from shebao.plans.models import MONTHS, Plan
from shebao.registry.models import Area, Outlet, Person

# Counter staff besides the demo card officer; they have no demo login.
COUNTER_STAFF = ["周婷", "吴磊", "孙丽", "马超", "朱红", "胡军", "郭敏", "何斌"]
VENDORS = {"金卡科技": Decimal("17.50"), "华虹智能卡": Decimal("18.80")}


def _counter_staff(area: Area, admin: User, count: int) -> list[User]:
    staff = []
    for index, name in enumerate(COUNTER_STAFF[:count], start=2):
        staff.append(
            user_create(
                actor=admin,
                username=f"cardofficer{index}",
                password=secrets.token_urlsafe(24),
                role=Role.CARD_OFFICER,
                full_name=name,
                area_code=area.code,
                check_password=False,
            )
        )
    return staff


@transaction.atomic
def demo_plans(*, area: Area, admin: User, officer: User) -> list[Plan]:
    """Counters, devices, trainings and this year's four plans of the demo area."""
    today = timezone.localdate()
    outlets = list(Outlet.objects.filter(area=area, active=True).order_by("code"))
    for number, outlet in enumerate(outlets, start=1):
        counters = [
            services.counter_register(actor=admin, outlet=outlet, number=f"{n:02d}") for n in (1, 2)
        ]
        if number == 1:
            instant = services.counter_register(
                actor=admin, outlet=outlet, number="03", kind="instant"
            )
            services.device_register(
                actor=admin,
                outlet=outlet,
                counter=instant,
                kind="card_printer",
                serial_number=f"CP-{outlet.code}-03",
            )
            counters.append(instant)
        for counter in counters:
            for kind, prefix in (("card_reader", "CR"), ("pin_pad", "PP")):
                services.device_register(
                    actor=admin,
                    outlet=outlet,
                    counter=counter,
                    kind=kind,
                    serial_number=f"{prefix}-{outlet.code}-{counter.number}",
                )
        for kind, prefix in (("photo_camera", "PC"), ("scanner", "SC")):
            services.device_register(
                actor=admin, outlet=outlet, kind=kind, serial_number=f"{prefix}-{outlet.code}"
            )
    if outlets:
        faulty = outlets[-1].devices.get(kind="card_reader", counter__number="02")
        services.device_set_status(
            actor=admin, device=faulty, status="faulty", reason="读卡模块故障，已报修"
        )

    completed = today - dt.timedelta(days=200)
    for user in [officer, *_counter_staff(area, admin, max(len(outlets) - 1, 0))]:
        services.training_record(
            actor=admin,
            user=user,
            course="card_issuance",
            completed_on=completed,
            valid_until=completed + dt.timedelta(days=3 * 365),
            certificate=f"NJSB-{completed:%Y}-{user.pk:04d}",
        )
    services.training_record(
        actor=admin,
        user=officer,
        course="equipment",
        completed_on=today - dt.timedelta(days=800),
        valid_until=today - dt.timedelta(days=70),
        certificate="NJSB-EQ-0001",
    )
    services.training_record(
        actor=admin,
        user=admin,
        course="information_security",
        completed_on=today - dt.timedelta(days=90),
        valid_until=today + dt.timedelta(days=640),
    )
    return _plans(area, admin, outlets, today)


def _channel_targets(area: Area, year: int) -> dict[str, int]:
    """A tenth above what the demo's cards show for the year (its cards are all
    dated this year), and a twentieth more for instant issuance."""
    start, end = year_bounds(year)
    applied = dict(
        Card.objects.filter(area=area, submitted_at__gte=start, submitted_at__lt=end)
        .order_by()
        .values_list("channel")
        .annotate(count=Count("pk"))
    )
    targets = {
        channel: max(applied.get(channel, 0) * 11 // 10, 10)
        for channel in ("counter", "online", "employer")
    }
    targets["instant"] = max(sum(targets.values()) // 20, 5)
    return targets


def _plans(area: Area, admin: User, outlets: list[Outlet], today: dt.date) -> list[Plan]:
    year, start = today.year, dt.date(today.year, 1, 1)
    people = Person.objects.filter(area=area).count()
    # About a tenth of the area applies in a year (renewals, replacements, newcomers).
    cards = max(people // 10, 12)
    plans = [
        services.plan_set(
            actor=admin,
            area=area,
            year=year,
            kind="application",
            valid_from=start,
            note="柜台为主，网上和单位代办并行；一号网点试点即时制卡。",
            channels=_channel_targets(area, year),
        ),
        services.plan_set(
            actor=admin,
            area=area,
            year=year,
            kind="cost",
            valid_from=start,
            budget_per_card=Decimal("18.00"),
            budget_total=Decimal("18.00") * cards,
            expected_fee_income=Decimal(20) * (cards // 20),
            vendor_costs=VENDORS,
        ),
        services.plan_set(
            actor=admin,
            area=area,
            year=year,
            kind="collection",
            valid_from=start,
            target_population=people,
            collection_targets={month: people * month // 12 for month in MONTHS},
        ),
    ]
    if outlets:
        monthly = max(cards // (12 * len(outlets)), 1)
        plans.append(
            services.plan_set(
                actor=admin,
                area=area,
                year=year,
                kind="distribution",
                valid_from=start,
                distribution_targets={
                    (outlet.pk, month): monthly for outlet in outlets for month in MONTHS
                },
            )
        )
    return plans
