"""Auditor sampling: a seeded draw of staff actions that anyone can redo, and the
auditor's verdict on each drawn action."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit import sampling
from shebao.audit.models import AuditEvent, Sample, SampleItem, SampleVerdict
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.identifiers import make_identity_number
from shebao.registry.services import person_register

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


@pytest.fixture
def week(area, owner, area_admin, clock):
    """Monday: the registrar registers 30 persons, the administrator 10; Tuesday 5 more."""
    for sequence in range(40):
        clock(f"2026-11-23 {9 + sequence // 10:02d}:{sequence % 10:02d}")
        person_register(
            actor=owner if sequence < 30 else area_admin,
            area=area,
            id_number=make_identity_number("320106", dt.date(1985, 3, 2), sequence),
            name=f"参保人{sequence}",
        )
    for sequence in range(40, 45):
        clock(f"2026-11-24 10:{sequence:02d}")
        person_register(
            actor=owner,
            area=area,
            id_number=make_identity_number("320106", dt.date(1985, 3, 2), sequence),
            name=f"参保人{sequence}",
        )
    clock("2026-11-26 09:00")


def drawn(sample):
    return list(sample.items.order_by("position").values_list("event_id", flat=True))


def test_the_same_seed_draws_the_same_actions(week, area, auditor):
    first = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=8, seed=20261123
    )
    assert (first.population, first.seed, first.items.count()) == (40, 20261123, 8)
    again = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=8, seed=20261123
    )
    assert drawn(again) == drawn(first)
    assert sampling.sample_redraw(first) == (True, drawn(first))
    other = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=8, seed=7
    )
    assert drawn(other) != drawn(first)
    # Every drawn action is a staff action of Monday in the area's chain.
    events = AuditEvent.objects.filter(pk__in=drawn(first))
    assert {event.chain for event in events} == {area.code}
    assert {event.action for event in events} == {"person.register"}
    assert all(event.at.date() == MONDAY for event in events)


def test_the_draw_does_not_depend_on_the_order_of_the_rows():
    ids = list(range(1000, 1400))
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    assert sampling.sample_pick(shuffled, 42, 25) == sampling.sample_pick(ids, 42, 25)
    assert len(sampling.sample_pick(ids, 42, 25)) == 25
    assert sampling.sample_pick(ids, 42, 25) != sampling.sample_pick(ids, 43, 25)


def test_without_a_seed_one_is_chosen_and_kept(week, area, auditor):
    sample = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=TUESDAY, size=100
    )
    assert sample.population == 45 and sample.items.count() == 45  # all, when fewer
    after = AuditEvent.objects.get(action="sample.draw").after or {}
    assert after["seed"] == sample.seed and after["events"] == drawn(sample)
    assert sampling.sample_redraw(sample) == (True, drawn(sample))


def test_a_changed_population_is_found_on_redraw(week, area, auditor):
    sample = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=5, seed=1
    )
    AuditEvent.objects.filter(pk=drawn(sample)[0]).update(actor=None)  # tampered with
    same, _events = sampling.sample_redraw(sample)
    assert same is False


def test_the_request_is_checked(week, area, auditor, clock):
    def draw(**values):
        request = {"period_start": MONDAY, "period_end": MONDAY, "size": 5, **values}
        return sampling.sample_draw(actor=auditor, area=area, **request)

    cases: list[tuple[dict[str, Any], str]] = [
        ({"period_end": dt.date(2026, 11, 22)}, "period_order"),
        ({"period_end": dt.date(2026, 11, 26)}, "period_not_over"),
        ({"period_start": dt.date(2025, 1, 1)}, "period_too_long"),
        ({"size": 0}, "sample_size"),
        ({"size": 501}, "sample_size"),
        ({"seed": -1}, "seed_range"),
    ]
    for values, code in cases:
        with pytest.raises(InvalidInput) as caught:
            draw(**values)
        assert caught.value.code == code, values
    with pytest.raises(Conflict) as empty:
        draw(period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 1))
    assert empty.value.code == "sample_empty"
    assert not Sample.objects.exists()


def test_only_the_areas_auditor_draws_and_marks(week, area, auditor, area_admin, other_area):
    beijing_auditor = make_user("auditor-bj", Role.AUDITOR, other_area)
    for someone in (area_admin, beijing_auditor):
        with pytest.raises(Forbidden):
            sampling.sample_draw(
                actor=someone, area=area, period_start=MONDAY, period_end=MONDAY, size=3
            )
    sample = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=3
    )
    item = sample.items.all()[0]
    with pytest.raises(Forbidden):
        sampling.sample_mark(actor=beijing_auditor, item=item, verdict="ok")


def test_the_auditor_marks_each_action_ok_or_a_finding_with_a_note(week, area, auditor):
    sample = sampling.sample_draw(
        actor=auditor, area=area, period_start=MONDAY, period_end=MONDAY, size=3, seed=5
    )
    first, second, _third = sample.items.order_by("position")
    sampling.sample_mark(actor=auditor, item=first, verdict=SampleVerdict.OK)
    with pytest.raises(InvalidInput) as caught:
        sampling.sample_mark(actor=auditor, item=second, verdict=SampleVerdict.FINDING, note=" ")
    assert (caught.value.code, caught.value.field) == ("note_required", "note")
    with pytest.raises(InvalidInput):
        sampling.sample_mark(actor=auditor, item=second, verdict="maybe")
    sampling.sample_mark(
        actor=auditor, item=second, verdict=SampleVerdict.FINDING, note="登记材料缺户口簿复印件"
    )
    with pytest.raises(Conflict) as again:
        sampling.sample_mark(actor=auditor, item=first, verdict=SampleVerdict.FINDING, note="x")
    assert again.value.code == "already_checked"
    verdicts = dict(SampleItem.objects.filter(sample=sample).values_list("pk", "verdict"))
    assert sorted(verdicts.values()) == ["finding", "ok", "pending"]
    after = AuditEvent.objects.filter(action="sample.mark").latest("seq").after or {}
    assert after["verdict"] == "finding" and after["event"] == second.event_id
