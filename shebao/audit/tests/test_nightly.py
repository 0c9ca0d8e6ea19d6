"""The nightly control run: chain verified, reconciliations kept, detectors run;
the same day run twice leaves the same records; the approval checks read them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from shebao.approval.checks import CHECKS, run_check
from shebao.audit.models import (
    NATIONAL_CHAIN,
    Alert,
    AlertKind,
    AlertStatus,
    AuditEvent,
    ChainCheck,
    Reconciliation,
)
from shebao.audit.nightly import nightly_run, yesterday
from shebao.audit.services import access_record
from shebao.cards import production
from shebao.cards.models import Card, CardFee, CardKind, CardState
from shebao.cards.production import RECONCILIATION_LINES
from shebao.cards.testing import make_card
from shebao.core.errors import Forbidden

pytestmark = pytest.mark.django_db

LINE_KEYS = [key for key, _label, _condition in RECONCILIATION_LINES]


def nightly(*args):
    out = io.StringIO()
    call_command("nightly", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def books(area, outlet, person, owner, card_officer, clock):
    """Nanjing's books on Wednesday 25 November 2026 at 10:00, with one difference of
    each kind, and a registrar shown 300 persons' records."""
    clock("2026-11-25 10:00")
    # A card at the outlet with no production result recorded (cards), which
    # the outlet's count then did not find (stock).
    stray = make_card(person, CardState.AT_OUTLET, submitted_by=card_officer, outlet=outlet)
    production.stock_count(actor=card_officer, outlet=outlet, card_numbers=[])
    # The fee of a replacement application that was rejected, still due (fees).
    ended = make_card(
        person, CardState.REJECTED, submitted_by=card_officer, kind=CardKind.REPLACEMENT
    )
    CardFee.objects.create(
        area=area, card=ended, reason="loss", amount="20.00", handled_by=card_officer
    )
    access_record(actor=owner, action="person.search", area_code=area.code, person_ids=range(300))
    return {"stray": stray, "ended": ended}


def test_it_verifies_reconciles_and_raises_alerts_for_a_day(books, area, owner):
    today = timezone.localdate()
    out = nightly("--area", area.code, "--day", today.isoformat())
    assert f"{area.code} {today}: chain intact" in out
    assert "cards 1 differences, stock 1 differences, fees 1 differences" in out
    assert "new alerts: 1 (bulk_reads 1)" in out

    check = ChainCheck.objects.get(chain=area.code, day=today)
    assert check.ok and check.breaks == [] and check.checked > 0
    rows = {row.kind: row for row in Reconciliation.objects.filter(area=area, day=today)}
    assert {kind: row.ok for kind, row in rows.items()} == {
        "cards": False,
        "stock": False,
        "fees": False,
    }
    [cards] = rows["cards"].differences
    assert (cards["code"], cards["card"]) == ("no_production_record", books["stray"].pk)
    [stock] = rows["stock"].differences
    assert (stock["code"], stock["outlet"]) == ("missing_at_count", "WD001")
    [fee] = rows["fees"].differences
    assert (fee["code"], fee["card"], fee["amount"]) == (
        "fee_of_ended_application",
        books["ended"].pk,
        "20.00",
    )
    # Never produced, the stray card is in no line of either reconciliation.
    assert rows["stock"].figures["outlets"]["WD001"] == {
        "name": "玄武区社会保险服务大厅",
        "in_stock": 0,
        "differences": 1,
    }
    assert rows["cards"].figures == {"produced": 0, "lines": dict.fromkeys(LINE_KEYS, 0)}
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.subject) == (AlertKind.BULK_READS, f"user:{owner.pk}")
    actions = set(AuditEvent.objects.filter(chain=area.code).values_list("action", flat=True))
    assert {"audit_chain.verify", "reconciliation.run", "alert.raise"} <= actions


def test_the_same_day_run_twice_leaves_the_same_records(books, area):
    day = timezone.localdate().isoformat()
    nightly("--area", area.code, "--day", day)
    first = (
        ChainCheck.objects.count(),
        list(Reconciliation.objects.order_by("kind").values_list("kind", "ok")),
        list(Alert.objects.values_list("kind", "subject", "day")),
    )
    out = nightly("--area", area.code, "--day", day)
    assert "new alerts: 0" in out
    assert (
        ChainCheck.objects.count(),
        list(Reconciliation.objects.order_by("kind").values_list("kind", "ok")),
        list(Alert.objects.values_list("kind", "subject", "day")),
    ) == first
    # The fee is waived meanwhile: the day's fee reconciliation is replaced, not added.
    CardFee.objects.filter(card=books["ended"]).update(status="waived")
    nightly("--area", area.code, "--day", day)
    assert Reconciliation.objects.get(area=area, kind="fees").ok


def test_without_an_area_every_area_and_the_national_chain_are_run(
    area, other_area, ministry, owner, stranger, clock
):
    clock("2026-11-25 10:00")
    from shebao.registry.services import area_approve

    area_approve(actor=ministry, area=area, issuer_id="320100A1")
    out = nightly()
    day = yesterday()
    assert f"110100 {day}: chain intact" in out and f"320100 {day}: chain intact" in out
    assert f"{NATIONAL_CHAIN} {day}: chain intact" in out
    assert set(ChainCheck.objects.values_list("chain", flat=True)) == {
        "110100",
        "320100",
        NATIONAL_CHAIN,
    }
    assert Reconciliation.objects.filter(day=day).count() == 6


def test_a_broken_chain_is_recorded_and_fails_the_command(area, owner, person):
    from shebao.registry.services import person_update

    person_update(actor=owner, person=person, phone="13900000000")
    target = AuditEvent.objects.filter(chain=area.code).order_by("seq")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_name = %s WHERE id = %s", ["someone", target.pk]
        )
    with pytest.raises(CommandError) as caught:
        nightly("--area", area.code)
    assert "audit chain broken: 320100" in str(caught.value)
    check = ChainCheck.objects.get(chain=area.code)
    assert not check.ok
    assert check.breaks == [
        {"seq": target.seq, "reason": "content was altered after it was written"}
    ]


def test_a_stranger_may_not_run_another_areas_night(area, stranger, auditor):
    with pytest.raises(Forbidden):
        nightly_run(actor=stranger, area=area)
    with pytest.raises(CommandError):
        nightly("--area", area.code, "--as", "nobody")
    out = nightly("--area", area.code, "--as", auditor.username)
    assert "chain intact" in out
    event = AuditEvent.objects.filter(action="reconciliation.run").get()
    assert event.actor == auditor


def checks(area):
    return {
        code: run_check(CHECKS[code], area)
        for code in ("d.chain_checked", "d.reconciliations_ran", "d.alerts_handled")
    }


def test_the_approval_checks_of_internal_control(books, area, auditor):
    before = checks(area)
    assert not before["d.chain_checked"].ok and "shebao nightly" in before["d.chain_checked"].detail
    assert not before["d.reconciliations_ran"].ok
    assert before["d.alerts_handled"].ok

    nightly("--area", area.code)  # yesterday, as cron runs it after midnight
    after = checks(area)
    assert after["d.chain_checked"].ok, after["d.chain_checked"].detail
    assert after["d.reconciliations_ran"].ok, after["d.reconciliations_ran"].detail
    assert after["d.reconciliations_ran"].evidence["differences"] == {
        "cards": 1,
        "stock": 1,
        "fees": 1,
    }

    # An alert nobody looked at for eight days fails the last check.
    Alert.objects.create(
        area=area,
        kind=AlertKind.REPEATED_REPLACEMENTS,
        subject="person:1",
        day=timezone.localdate() - dt.timedelta(days=8),
        raised_at=timezone.now() - dt.timedelta(days=8),
    )
    stale = checks(area)["d.alerts_handled"]
    assert not stale.ok and stale.evidence["stale"] == 1
    from shebao.audit.alerts import alert_acknowledge

    alert_acknowledge(actor=auditor, alert=Alert.objects.get(subject="person:1"), note="已处理")
    assert checks(area)["d.alerts_handled"].ok
    assert not Alert.objects.filter(status=AlertStatus.OPEN).exists()


def test_a_chain_check_older_than_two_days_or_broken_fails(area):
    ChainCheck.objects.create(
        chain=area.code,
        day=timezone.localdate() - dt.timedelta(days=4),
        checked=10,
        ok=True,
        at=timezone.now() - dt.timedelta(days=3),
    )
    assert not checks(area)["d.chain_checked"].ok
    ChainCheck.objects.create(
        chain=area.code,
        day=timezone.localdate() - dt.timedelta(days=1),
        checked=10,
        ok=False,
        breaks=[{"seq": 4, "reason": "event missing (next present is #5)"}],
        at=timezone.now() - dt.timedelta(hours=20),
    )
    result = checks(area)["d.chain_checked"]
    assert not result.ok and "event missing" in result.detail
    assert Card.objects.count() == 0
