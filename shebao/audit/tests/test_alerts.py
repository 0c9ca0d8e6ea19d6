"""Alerts: each detector on a worked example, and a second run that adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit import alerts
from shebao.audit.models import AccessEvent, Alert, AlertKind, AlertStatus, AuditEvent
from shebao.audit.services import access_record
from shebao.cards.models import Card, CardKind, CardState
from shebao.cards.testing import make_card
from shebao.contributions import declarations
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.identifiers import make_identity_number
from shebao.registry.services import area_setting_set, person_register

pytestmark = pytest.mark.django_db


def detect(area, day, kind):
    return alerts.alerts_detect(actor=None, area=area, day=day, kinds=[kind])


# --- repeated replacements -------------------------------------------------------------


def replacement(person, officer, submitted, state=CardState.CANCELLED):
    card = make_card(
        person, state, submitted_by=officer, kind=CardKind.REPLACEMENT, replacement_reason="loss"
    )
    Card.objects.filter(pk=card.pk).update(
        submitted_at=timezone.make_aware(dt.datetime.fromisoformat(submitted))
    )
    return card


def test_a_second_replacement_within_twelve_months_raises_an_alert(area, person, card_officer):
    # 张伟 lost his card in January 2026 and again in November: the November
    # application is his second replacement in twelve months.
    replacement(person, card_officer, "2026-01-15 10:00")
    november = replacement(person, card_officer, "2026-11-20 15:00", state=CardState.APPLIED)
    assert detect(area, dt.date(2026, 11, 19), AlertKind.REPEATED_REPLACEMENTS) == []
    [alert] = detect(area, dt.date(2026, 11, 20), AlertKind.REPEATED_REPLACEMENTS)
    assert (alert.kind, alert.subject, alert.day) == (
        AlertKind.REPEATED_REPLACEMENTS,
        f"person:{person.pk}",
        dt.date(2026, 11, 20),
    )
    assert alert.status == AlertStatus.OPEN
    assert alert.detail["count"] == 2 and alert.detail["threshold"] == 2
    assert [entry["card"] for entry in alert.detail["applications"]][-1] == november.pk
    # Run again: the same subject on the same day is not alerted twice.
    assert detect(area, dt.date(2026, 11, 20), AlertKind.REPEATED_REPLACEMENTS) == []
    assert Alert.objects.count() == 1
    assert AuditEvent.objects.filter(action="alert.raise").count() == 1


def test_replacements_further_apart_than_a_year_or_under_the_threshold_raise_nothing(
    area, area_admin, person, card_officer
):
    replacement(person, card_officer, "2025-11-20 09:00")  # twelve months and more before
    replacement(person, card_officer, "2026-11-21 09:00", state=CardState.APPLIED)
    assert detect(area, dt.date(2026, 11, 21), AlertKind.REPEATED_REPLACEMENTS) == []
    # An area that looks for three finds nothing in two within the year either.
    replacement(person, card_officer, "2026-03-01 09:00")
    area_setting_set(
        actor=area_admin,
        area=area,
        key="alert_replacements",
        value=3,
        valid_from=dt.date(2026, 1, 1),
    )
    assert detect(area, dt.date(2026, 11, 21), AlertKind.REPEATED_REPLACEMENTS) == []
    replacement(person, card_officer, "2026-06-01 09:00")
    [alert] = detect(area, dt.date(2026, 11, 21), AlertKind.REPEATED_REPLACEMENTS)
    assert alert.detail["count"] == 3


# --- bulk reads ----------------------------------------------------------------------


def read(clock, actor, area, at, persons):
    clock(at)
    access_record(actor=actor, action="person.search", area_code=area.code, person_ids=persons)


def test_two_hundred_persons_read_within_one_hour_raise_an_alert(
    area, owner, colleague, stranger, other_area, clock
):
    # The registrar searches twice between 10:05 and 10:40 and is shown 120 and
    # 90 persons, 10 of them twice: 200 different persons within the hour.
    read(clock, owner, area, "2026-11-25 10:05", range(1, 121))
    read(clock, owner, area, "2026-11-25 10:40", range(111, 201))
    # A card officer is shown 100 at 10:50 and 100 more at 11:10: 200 within
    # twenty minutes, though in two clock hours.
    read(clock, colleague, area, "2026-11-25 10:50", range(1000, 1100))
    read(clock, colleague, area, "2026-11-25 11:10", range(1100, 1200))
    # Beijing's registrar reads 300 of Beijing's, which is not Nanjing's affair.
    read(clock, stranger, other_area, "2026-11-25 10:10", range(1, 301))
    alerts = detect(area, dt.date(2026, 11, 25), AlertKind.BULK_READS)
    assert [a.subject for a in alerts] == [f"user:{owner.pk}", f"user:{colleague.pk}"]
    registrar, officer = (a.detail for a in alerts)
    assert registrar["username"] == "owner"
    assert registrar["spans"] == [
        {"from": "2026-11-25T10:05:00+08:00", "to": "2026-11-25T10:40:00+08:00", "persons": 200}
    ]
    assert (registrar["most"], registrar["access_events"]) == (200, 2)
    assert officer["spans"] == [
        {"from": "2026-11-25T10:50:00+08:00", "to": "2026-11-25T11:10:00+08:00", "persons": 200}
    ]
    assert detect(area, dt.date(2026, 11, 25), AlertKind.BULK_READS) == []
    assert detect(area, dt.date(2026, 11, 26), AlertKind.BULK_READS) == []
    [beijing] = detect(other_area, dt.date(2026, 11, 25), AlertKind.BULK_READS)
    assert beijing.subject == f"user:{stranger.pk}"
    assert AccessEvent.objects.count() == 5


def test_reads_a_full_hour_apart_are_not_within_the_hour(area, owner, clock):
    read(clock, owner, area, "2026-11-25 10:00", range(1, 101))
    read(clock, owner, area, "2026-11-25 11:00", range(101, 201))
    read(clock, owner, area, "2026-11-25 12:00", range(1, 101))  # the first 100 again
    assert detect(area, dt.date(2026, 11, 25), AlertKind.BULK_READS) == []
    # 100 more at 12:30: 200 different persons between 11:00 (exclusive) and 12:30.
    read(clock, owner, area, "2026-11-25 12:30", range(201, 301))
    [alert] = detect(area, dt.date(2026, 11, 25), AlertKind.BULK_READS)
    assert alert.detail["spans"] == [
        {"from": "2026-11-25T12:00:00+08:00", "to": "2026-11-25T12:30:00+08:00", "persons": 200}
    ]


def test_the_day_is_local_time(area, owner, clock):
    # 00:30 local on the 26th is 16:30 UTC on the 25th: it belongs to the 26th.
    read(clock, owner, area, "2026-11-26 00:30", range(1, 251))
    assert detect(area, dt.date(2026, 11, 25), AlertKind.BULK_READS) == []
    [alert] = detect(area, dt.date(2026, 11, 26), AlertKind.BULK_READS)
    assert alert.detail["spans"][0]["from"] == "2026-11-26T00:30:00+08:00"
    assert alert.detail["most"] == 250


# --- back-dated corrections ----------------------------------------------------------


def test_a_correction_more_than_three_months_back_raises_an_alert(
    area, employer, employer_user, person, employment, clock
):
    clock("2026-11-10 10:00")
    july, august = dt.date(2026, 7, 1), dt.date(2026, 8, 1)
    lines = {
        month: declarations.declaration_declare(
            actor=employer_user, employer=employer, person=person, period=month, wage="9000"
        )
        for month in (july, august)
    }
    # On 20 November the employer corrects July (four months back) and August
    # (three months back, not more): only July is back-dated.
    clock("2026-11-20 14:00")
    for line in lines.values():
        declarations.declaration_correct(
            actor=employer_user, line=line, wage="9500", reason="补发奖金"
        )
    assert detect(area, dt.date(2026, 11, 10), AlertKind.BACKDATED_CORRECTIONS) == []
    [alert] = detect(area, dt.date(2026, 11, 20), AlertKind.BACKDATED_CORRECTIONS)
    assert alert.subject == f"employer:{employer.pk}"
    assert alert.detail["corrections"] == 1
    assert alert.detail["earliest_month"] == "2026-07-01"
    [line] = alert.detail["lines"]
    assert (line["reverses"], line["period"], line["wage"], line["by"]) == (
        lines[july].pk,
        "2026-07-01",
        "9000.00",
        "employer",
    )
    assert detect(area, dt.date(2026, 11, 20), AlertKind.BACKDATED_CORRECTIONS) == []


# --- out of hours ------------------------------------------------------------------------


_born = iter(range(1, 1000))


def register(clock, actor, area, at):
    """`actor` registers a new person at local time `at`."""
    clock(at)
    number = make_identity_number("110105", dt.date(1980, 1, 1), next(_born))
    return person_register(actor=actor, area=area, id_number=number, name="王强")


def test_staff_actions_outside_working_hours_raise_one_alert_per_person(
    area, owner, area_admin, clock
):
    # Wednesday 25 November 2026; the area works 08:30–17:30 Monday to Friday.
    register(clock, owner, area, "2026-11-25 08:29")
    register(clock, owner, area, "2026-11-25 09:15")
    register(clock, owner, area, "2026-11-25 17:29")
    register(clock, area_admin, area, "2026-11-25 12:00")
    register(clock, owner, area, "2026-11-25 21:40")
    register(clock, owner, area, "2026-11-25 23:05")
    [alert] = detect(area, dt.date(2026, 11, 25), AlertKind.OUT_OF_HOURS)
    assert alert.subject == f"user:{owner.pk}"
    assert alert.detail["events"] == 3
    assert alert.detail["first"] == "2026-11-25T08:29:00+08:00"
    assert alert.detail["last"] == "2026-11-25T23:05:00+08:00"
    assert alert.detail["actions"] == {"person.register": 3}
    assert alert.detail["working_day"] is True
    assert detect(area, dt.date(2026, 11, 25), AlertKind.OUT_OF_HOURS) == []


def test_a_saturday_is_outside_working_hours_all_day_unless_the_area_works_it(
    area, area_admin, owner, clock
):
    register(clock, owner, area, "2026-11-28 10:00")
    [alert] = detect(area, dt.date(2026, 11, 28), AlertKind.OUT_OF_HOURS)
    assert alert.detail["working_day"] is False and alert.detail["events"] == 1
    area_setting_set(
        actor=area_admin,
        area=area,
        key="working_days",
        value="1,2,3,4,5,6",
        valid_from=dt.date(2026, 11, 1),
    )
    register(clock, owner, area, "2026-12-05 10:00")
    assert detect(area, dt.date(2026, 12, 5), AlertKind.OUT_OF_HOURS) == []


def set_for_2026(actor, area, key, value):
    return area_setting_set(
        actor=actor, area=area, key=key, value=value, valid_from=dt.date(2026, 1, 1)
    )


def test_a_public_holiday_is_outside_working_hours_and_a_makeup_saturday_inside(
    area, area_admin, owner, clock
):
    # Thursday 1 October 2026 is National Day; Saturday 10 October is worked in its place.
    set_for_2026(area_admin, area, "public_holidays", "2026-10-01, 2026-10-02")
    set_for_2026(area_admin, area, "makeup_working_days", "2026-10-10")
    register(clock, owner, area, "2026-10-01 10:00")
    [alert] = detect(area, dt.date(2026, 10, 1), AlertKind.OUT_OF_HOURS)
    assert alert.detail["working_day"] is False and alert.detail["events"] == 1
    register(clock, owner, area, "2026-10-10 10:00")
    assert detect(area, dt.date(2026, 10, 10), AlertKind.OUT_OF_HOURS) == []
    register(clock, owner, area, "2026-10-10 19:00")
    [late] = detect(area, dt.date(2026, 10, 10), AlertKind.OUT_OF_HOURS)
    assert late.detail["working_day"] is True and late.detail["events"] == 1


def test_a_malformed_holiday_list_is_refused_at_the_bad_date(area, area_admin):
    with pytest.raises(InvalidInput) as caught:
        set_for_2026(area_admin, area, "public_holidays", "2026-10-01,2026-10-32")
    assert (caught.value.code, caught.value.field) == ("setting_value", "public_holidays")
    assert "2026-10-32" in caught.value.message
    with pytest.raises(InvalidInput) as weekdays:
        set_for_2026(area_admin, area, "working_days", "1,2,8")
    assert weekdays.value.field == "working_days"


def test_system_and_setup_events_are_not_staff_actions(area, clock):
    clock("2026-11-25 23:00")
    make_user("night", Role.REGISTRAR, area)  # created by the set-up path: no actor
    assert AuditEvent.objects.filter(chain=area.code).exists()
    assert detect(area, dt.date(2026, 11, 25), AlertKind.OUT_OF_HOURS) == []


def test_a_malformed_working_hours_setting_is_reported(area, area_admin, owner, clock):
    area_setting_set(
        actor=area_admin,
        area=area,
        key="working_hours_end",
        value="half past five",
        valid_from=dt.date(2026, 11, 1),
    )
    register(clock, owner, area, "2026-11-25 21:40")
    with pytest.raises(InvalidInput) as caught:
        detect(area, dt.date(2026, 11, 25), AlertKind.OUT_OF_HOURS)
    assert (caught.value.code, caught.value.field) == ("setting_value", "working_hours_end")


# --- handling ----------------------------------------------------------------------------


@pytest.fixture
def alert(area, owner):
    return Alert.objects.create(
        area=area,
        kind=AlertKind.BULK_READS,
        subject=f"user:{owner.pk}",
        day=dt.date(2026, 11, 25),
        raised_at=timezone.now(),
    )


def test_an_auditor_acknowledges_an_alert_once(alert, auditor):
    alerts.alert_acknowledge(actor=auditor, alert=alert, note="已约谈，系批量核对参保信息")
    alert.refresh_from_db()
    assert (alert.status, alert.handled_by, alert.note) == (
        AlertStatus.ACKNOWLEDGED,
        auditor,
        "已约谈，系批量核对参保信息",
    )
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert (event.before or {})["status"] == "open"
    assert (event.after or {})["status"] == "acknowledged"
    with pytest.raises(Conflict) as caught:
        alerts.alert_dismiss(actor=auditor, alert=alert, note="x")
    assert caught.value.code == "alert_handled"


def test_a_dismissal_says_why(alert, auditor):
    with pytest.raises(InvalidInput) as caught:
        alerts.alert_dismiss(actor=auditor, alert=alert, note="  ")
    assert (caught.value.code, caught.value.field) == ("note_required", "note")
    with translation.override("en"):
        assert caught.value.message == "Say why the alert is dismissed."
    alerts.alert_dismiss(actor=auditor, alert=alert, note="年度对账，经批准")
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.DISMISSED


def test_only_an_auditor_of_the_area_handles_alerts(alert, area_admin, owner, other_area):
    beijing_auditor = make_user("auditor-bj", Role.AUDITOR, other_area)
    for someone in (area_admin, owner, beijing_auditor):
        with pytest.raises(Forbidden):
            alerts.alert_acknowledge(actor=someone, alert=alert)
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
