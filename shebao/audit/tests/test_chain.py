"""The audit chain: every write leaves a linked event, and any edit, deletion
or truncation of the stored events is found by `shebao audit verify`."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from shebao.audit.models import NATIONAL_CHAIN, AuditEvent, AuditHead
from shebao.audit.services import audit_verify, audit_verify_chain
from shebao.registry import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(owner, area):
    """The area's chain: the owner's account, then three registrations."""
    for number, name in [
        ("320106198503023314", "张伟"),
        ("11010519491231002X", "李秀英"),
        ("110105198001010016", "王强"),
    ]:
        services.person_register(actor=owner, area=area, id_number=number, name=name)
    return list(AuditEvent.objects.filter(chain=area.code).order_by("seq"))


def raw_sql(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_each_event_links_to_the_one_before(history):
    assert history[0].seq == 1
    for previous, event in itertools.pairwise(history):
        assert event.seq == previous.seq + 1
        assert event.prev_hash == previous.hash
        assert event.hash == event.compute_hash()


def test_an_intact_chain_verifies(history, area):
    checked, broken = audit_verify_chain(area.code)
    assert broken is None
    assert checked == len(history)


def test_editing_one_row_is_detected(history, area):
    target = history[1]
    raw_sql(
        "UPDATE audit_auditevent SET after = %s WHERE id = %s",
        ['{"name": "someone else"}', target.pk],
    )
    _checked, broken = audit_verify_chain(area.code)
    assert broken is not None
    assert broken.seq == target.seq
    assert "altered" in broken.reason


def test_editing_a_row_and_its_hash_is_detected_at_the_next_link(history, area):
    target = history[1]
    target.after = {"name": "someone else"}
    forged = target.compute_hash()
    raw_sql(
        "UPDATE audit_auditevent SET after = %s, hash = %s WHERE id = %s",
        ['{"name": "someone else"}', forged, target.pk],
    )
    _checked, broken = audit_verify_chain(area.code)
    assert broken is not None
    assert broken.seq == target.seq + 1
    assert "predecessor" in broken.reason


def test_deleting_one_row_is_detected(history, area):
    target = history[1]
    raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    _checked, broken = audit_verify_chain(area.code)
    assert broken is not None
    assert broken.seq == target.seq
    assert "missing" in broken.reason


def test_cutting_off_the_newest_row_is_detected(history, area):
    raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [history[-1].pk])
    _checked, broken = audit_verify_chain(area.code)
    assert broken is not None
    assert broken.seq == history[-1].seq


def test_the_command_reports_the_first_broken_link_and_fails(history, area, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    raw_sql("UPDATE audit_auditevent SET actor_name = %s WHERE id = %s", ["mallory", history[0].pk])
    with pytest.raises(CommandError):
        call_command("audit", "verify")
    assert f"chain {area.code}: broken at event #{history[0].seq}" in capsys.readouterr().err


def test_the_application_cannot_update_or_delete_events(history):
    event = history[0]
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_national_events_have_their_own_chain(ministry):
    services.area_create(actor=ministry, code="440300", name="深圳市")
    assert AuditEvent.objects.filter(chain=NATIONAL_CHAIN, action="area.create").exists()
    total, breaks = audit_verify()
    assert breaks == []
    assert total == AuditEvent.objects.count()
    assert AuditHead.objects.get(chain=NATIONAL_CHAIN).seq >= 1


def test_each_write_records_before_and_after(owner, person):
    services.person_update(actor=owner, person=person, phone="13900000000")
    event = AuditEvent.objects.get(action="person.update")
    assert event.before is not None and event.before["phone"] == "13800000000"
    assert event.after is not None and event.after["phone"] == "13900000000"
    assert event.actor_name == "owner"
    assert event.at.date() <= dt.date.today() + dt.timedelta(days=1)
