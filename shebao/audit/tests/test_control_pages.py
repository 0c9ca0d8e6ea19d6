"""The internal control pages: the auditors' queue, reconciliations, samples and the
chain checks; who sees them and what the auditor does there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit import sampling
from shebao.audit.models import (
    AccessEvent,
    Alert,
    AlertKind,
    AlertStatus,
    ChainCheck,
    Reconciliation,
    SampleItem,
)
from shebao.audit.nightly import nightly_run
from shebao.registry.services import person_register

pytestmark = pytest.mark.django_db

PAGES = ["web:control", "web:control_reconciliations", "web:control_samples", "web:control_chain"]


def signed_in(user, language=None):
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def english(client, name, *args, **query):
    """The page as a user who switched to English sees it."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(reverse(name, args=args), query)


@pytest.fixture
def control(area, person, owner, auditor, clock):
    """Wednesday 25 November: a registration at 22:10, the night's run, a repeated
    replacement alert of the 24th; on the 26th, a sample of the 25th."""
    clock("2026-11-25 22:10")
    person_register(actor=owner, area=area, id_number="11010519491231002X", name="李秀英")
    clock("2026-11-26 01:00")
    nightly_run(actor=None, area=area, day=dt.date(2026, 11, 25))
    replacement = Alert.objects.create(
        area=area,
        kind=AlertKind.REPEATED_REPLACEMENTS,
        subject=f"person:{person.pk}",
        day=dt.date(2026, 11, 24),
        detail={"person": person.pk, "name": "张伟", "count": 3, "threshold": 2},
        raised_at=timezone.now(),
    )
    clock("2026-11-26 09:00")
    sample = sampling.sample_draw(
        actor=auditor,
        area=area,
        period_start=dt.date(2026, 11, 25),
        period_end=dt.date(2026, 11, 25),
        size=5,
        seed=3,
    )
    return {"replacement": replacement, "sample": sample}


def test_only_auditors_administrators_and_the_ministry_see_the_pages(
    control, area, owner, card_officer, stranger, other_area, auditor, area_admin, ministry
):
    sample = control["sample"]
    for someone in (owner, card_officer, stranger):
        client = signed_in(someone)
        for name in PAGES:
            assert client.get(reverse(name)).status_code == 404, (someone, name)
        assert client.get(reverse("web:control_sample", args=[sample.pk])).status_code == 404
    beijing = signed_in(make_user("auditor-bj", Role.AUDITOR, other_area))
    assert beijing.get(reverse("web:control_sample", args=[sample.pk])).status_code == 404
    assert "张伟" not in beijing.get(reverse("web:control"), {"status": ""}).content.decode()
    for someone in (auditor, area_admin, ministry):
        client = signed_in(someone)
        for name in PAGES:
            assert client.get(reverse(name)).status_code == 200, (someone, name)
    assert Client().get(reverse("web:control")).status_code == 302  # to the login page


def test_the_queue_shows_open_alerts_and_logs_the_persons_shown(control, owner, auditor):
    page = english(signed_in(auditor), "web:control").content.decode()
    assert "张伟: 3 replacement applications in twelve months (alert from 2)." in page
    assert "owner: 1 actions outside working hours (08:30–17:30), from 22:10 to 22:10." in page
    assert page.count('class="diff"') == 2  # both open
    access = AccessEvent.objects.get(action="alert.list")
    assert access.person_ids == [control["replacement"].detail["person"]]
    only = english(signed_in(auditor), "web:control", kind="out_of_hours").content.decode()
    assert "张伟" not in only and "owner: 1 actions" in only


def test_the_auditor_acknowledges_and_dismisses_with_a_note(control, auditor):
    client = signed_in(auditor, "en")
    alert = control["replacement"]
    url = reverse("web:control_alert_action", args=[alert.pk, "dismiss"])
    refused = client.post(url, {"note": ""})
    assert refused.status_code == 400
    assert "Say why the alert is dismissed." in refused.content.decode()
    assert f'id="id_alert_{alert.pk}_note-error"' in refused.content.decode()
    done = client.post(url, {"note": "三次均为银行卡面质量问题"})
    assert done.status_code == 302 and done["Location"].endswith(f"#alert-{alert.pk}")
    alert.refresh_from_db()
    assert (alert.status, alert.note, alert.handled_by) == (
        AlertStatus.DISMISSED,
        "三次均为银行卡面质量问题",
        auditor,
    )
    other = Alert.objects.get(kind=AlertKind.OUT_OF_HOURS)
    ack = client.post(reverse("web:control_alert_action", args=[other.pk, "acknowledge"]), {})
    assert ack.status_code == 302
    assert Alert.objects.get(pk=other.pk).status == AlertStatus.ACKNOWLEDGED
    bogus = client.post(reverse("web:control_alert_action", args=[other.pk, "delete"]), {})
    assert bogus.status_code == 404


def test_the_administrator_reads_the_queue_without_buttons(control, area_admin):
    client = signed_in(area_admin)
    page = client.get(reverse("web:control")).content.decode()
    assert "formaction" not in page
    alert = control["replacement"]
    refused = client.post(
        reverse("web:control_alert_action", args=[alert.pk, "acknowledge"]), {"note": "x"}
    )
    assert refused.status_code == 400
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN


def test_the_reconciliations_page_highlights_days_with_differences(control, area, auditor):
    Reconciliation.objects.filter(kind="stock").update(
        ok=False,
        differences=[
            {"code": "missing_at_count", "message": "盘点时缺失", "card_number": "A00000001"}
        ],
    )
    client = signed_in(auditor)
    page = english(client, "web:control_reconciliations").content.decode()
    assert 'class="diff"' in page and "1 difference" in page and "agrees" in page
    day = english(client, "web:control_reconciliations", day="2026-11-25").content.decode()
    assert "Differences of 2026-11-25" in day
    assert "missing_at_count" in day and "A00000001" in day and "盘点时缺失" in day


def test_the_auditor_draws_a_sample_and_marks_an_action_on_the_page(control, auditor, clock):
    clock("2026-11-26 09:30")
    client = signed_in(auditor)
    refused = client.post(
        reverse("web:control_sample_draw"),
        {"period_start": "2026-11-25", "period_end": "2026-11-26", "size": 5},
    )
    assert refused.status_code == 400
    assert 'id="id_period_end-error"' in refused.content.decode()
    drawn = client.post(
        reverse("web:control_sample_draw"),
        {"period_start": "2026-11-25", "period_end": "2026-11-25", "size": 5, "seed": 3},
    )
    assert drawn.status_code == 302
    sample_id = int(drawn["Location"].rstrip("/").split("/")[-1])
    item = SampleItem.objects.get(sample_id=sample_id)
    assert item.event_id == control["sample"].items.get().event_id  # same seed, same action
    page = english(client, "web:control_sample", sample_id, redraw="1")
    assert "Drawn again from the seed: the same actions." in page.content.decode()
    mark = reverse("web:control_sample_mark", args=[sample_id, item.pk])
    missing = client.post(mark, {"verdict": "finding", "note": ""})
    assert missing.status_code == 400
    assert f'id="id_item_{item.pk}_note-error"' in missing.content.decode()
    done = client.post(mark, {"verdict": "finding", "note": "夜间登记未见审批单"})
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.verdict, item.checked_by) == ("finding", auditor)


def test_the_chain_page_lists_checks_and_the_rules(control, area, area_admin, auditor):
    from shebao.registry.services import area_setting_set

    area_setting_set(
        actor=area_admin,
        area=area,
        key="stock_handover_separation",
        value=False,
        valid_from=dt.date(2026, 11, 26),
    )
    page = english(signed_in(auditor), "web:control_chain").content.decode()
    check = ChainCheck.objects.get()
    assert check.chain in page and "intact" in page
    assert "card.custodian_not_issuer" in page and "shebao.cards.services.card_hand_over" in page
    assert "stock_handover_separation" in page and ">off<" in page


def test_the_ministry_narrows_to_one_area(control, ministry, other_area):
    client = signed_in(ministry)
    everything = client.get(reverse("web:control"), {"status": ""}).content.decode()
    assert "张伟" in everything
    beijing = client.get(reverse("web:control"), {"status": "", "area": other_area.code})
    assert "张伟" not in beijing.content.decode()
    assert 'href="/control/?area=' not in everything
