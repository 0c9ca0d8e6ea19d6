"""Auditor sampling of staff actions: a reproducible random sample of an area's
audit events, each checked by the auditor as in order or a finding.

The population is the audit events of the area's chain in the period (whole
local days) done by members of the area's staff, except the auditor drawing:
nobody samples their own actions (separation of duties). Each event's draw
number is the SHA-256 of the seed and the event's id; the sample is the N
events with the lowest numbers. The seed is kept with the sample, and the
audit chain is append-only, so anyone can redraw it (`sample_redraw`) and
must find the same events, whatever the Python version or the order of rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import secrets

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import AREA_STAFF, require
from shebao.audit.models import AuditEvent, Sample, SampleItem, SampleVerdict
from shebao.audit.services import audit_record, snapshot
from shebao.cards.fees import day_bounds
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import Area

MAX_SAMPLE = 500
MAX_PERIOD_DAYS = 366
SEED_LIMIT = 2**63  # a signed 64-bit column holds it


def sample_population(
    area_code: str, start: dt.date, end: dt.date, *, drawn_by_id: int
) -> QuerySet[AuditEvent]:
    """The staff events of the area's chain from `start` to `end` (local days, inclusive)."""
    since, _end_of_first = day_bounds(start)
    _start_of_last, until = day_bounds(end)
    return (
        AuditEvent.objects.filter(
            chain=area_code,
            at__gte=since,
            at__lt=until,
            actor__role__in=AREA_STAFF,
            actor__area_id=area_code,
        )
        .exclude(actor_id=drawn_by_id)
        .order_by("seq")
    )


def draw_number(seed: int, event_id: int) -> str:
    return hashlib.sha256(f"{seed}:{event_id}".encode()).hexdigest()


def sample_pick(event_ids: list[int], seed: int, size: int) -> list[int]:
    """The `size` events with the lowest draw numbers, in the order of their ids."""
    lowest = heapq.nsmallest(size, event_ids, key=lambda event_id: draw_number(seed, event_id))
    return sorted(lowest)


def population_digest(event_ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(event_ids))).encode()).hexdigest()


def _check_request(start: dt.date, end: dt.date, size: int, seed: int | None) -> None:
    if start > end:
        raise InvalidInput(
            _("The period ends before it begins."), code="period_order", field="period_end"
        )
    if end >= timezone.localdate():
        raise InvalidInput(
            _("Sample a period that is over: its last day is yesterday at the latest."),
            code="period_not_over",
            field="period_end",
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            _("A sample covers at most %(days)d days."),
            code="period_too_long",
            field="period_start",
            params={"days": MAX_PERIOD_DAYS},
        )
    if not 1 <= size <= MAX_SAMPLE:
        raise InvalidInput(
            _("Draw between 1 and %(most)d events."),
            code="sample_size",
            field="size",
            params={"most": MAX_SAMPLE},
        )
    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise InvalidInput(
            _("The seed is a whole number from 0 to 2⁶³−1."), code="seed_range", field="seed"
        )


@transaction.atomic
def sample_draw(
    *,
    actor: User,
    area: Area,
    period_start: dt.date,
    period_end: dt.date,
    size: int,
    seed: int | None = None,
) -> Sample:
    """Draw `size` staff actions of the period at random; a seed given redoes a draw."""
    require(actor, "sample.draw", area_code=area.code)
    _check_request(period_start, period_end, size, seed)
    seed = secrets.randbelow(SEED_LIMIT) if seed is None else seed
    event_ids = list(
        sample_population(area.code, period_start, period_end, drawn_by_id=actor.pk).values_list(
            "pk", flat=True
        )
    )
    if not event_ids:
        raise Conflict(
            _("No staff action of the area falls in this period; there is nothing to sample."),
            code="sample_empty",
        )
    picked = sample_pick(event_ids, seed, size)
    sample = Sample.objects.create(
        area=area,
        period_start=period_start,
        period_end=period_end,
        size=size,
        seed=seed,
        population=len(event_ids),
        population_sha256=population_digest(event_ids),
        drawn_by=actor,
        drawn_at=timezone.now(),
    )
    SampleItem.objects.bulk_create(
        SampleItem(sample=sample, position=position, event_id=event_id)
        for position, event_id in enumerate(picked, start=1)
    )
    audit_record(
        actor=actor,
        action="sample.draw",
        subject=sample,
        area_code=area.code,
        after={
            **snapshot(sample, ["period_start", "period_end", "size", "seed", "population"]),
            "population_sha256": sample.population_sha256,
            "events": picked,
        },
    )
    return sample


def sample_redraw(sample: Sample) -> tuple[bool, list[int]]:
    """Draw the sample again from its seed: (same population?, the events drawn)."""
    event_ids = list(
        sample_population(
            sample.area_id, sample.period_start, sample.period_end, drawn_by_id=sample.drawn_by_id
        ).values_list("pk", flat=True)
    )
    same = population_digest(event_ids) == sample.population_sha256
    return same, sample_pick(event_ids, sample.seed, sample.size)


ITEM_FIELDS = ["verdict", "note", "checked_by_id", "checked_at"]


@transaction.atomic
def sample_mark(*, actor: User, item: SampleItem, verdict: str, note: str = "") -> SampleItem:
    """The auditor's verdict on one sampled action: in order, or a finding (with a note)."""
    locked = (
        SampleItem.objects.select_for_update(of=("self",))
        .select_related("sample", "event")
        .get(pk=item.pk)
    )
    require(actor, "sample.draw", area_code=locked.sample.area_id)
    if locked.event.actor_id == actor.pk:
        raise Forbidden(
            _("This action is your own; another auditor checks it."),
            code="separation_of_duties",
        )
    if verdict not in (SampleVerdict.OK, SampleVerdict.FINDING):
        raise InvalidInput(
            _("Mark the action checked OK or a finding."), code="verdict", field="verdict"
        )
    note = (note or "").strip()
    if verdict == SampleVerdict.FINDING and not note:
        raise InvalidInput(_("Describe the finding."), code="note_required", field="note")
    if locked.verdict != SampleVerdict.PENDING:
        raise Conflict(
            _("This action was already checked (%(verdict)s)."),
            code="already_checked",
            params={"verdict": SampleVerdict(locked.verdict).label},
        )
    before = snapshot(locked, ITEM_FIELDS)
    locked.verdict = verdict
    locked.note = note[:2000]
    locked.checked_by = actor
    locked.checked_at = timezone.now()
    locked.save(update_fields=["verdict", "note", "checked_by", "checked_at"])
    audit_record(
        actor=actor,
        action="sample.mark",
        subject=locked,
        area_code=locked.sample.area_id,
        before=before,
        after={**snapshot(locked, ITEM_FIELDS), "event": locked.event_id},
    )
    item.__dict__.update(locked.__dict__)
    return item
