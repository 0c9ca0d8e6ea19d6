"""REST endpoints: internal control (condition d of an area's approval).

The auditors' queue of alerts (acknowledge, dismiss with a note), the day's
reconciliations with their differences, the audit chain checks, samples of
staff actions (draw, mark each action), and the nightly run of an area.
Thin: scoping in `audit.selectors`, rules in `audit.alerts`,
`audit.sampling` and `audit.nightly`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from shebao.accounts.roles import require
from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, acting_area, actor, responses
from shebao.audit import alerts, sampling, selectors
from shebao.audit.models import (
    Alert,
    AlertKind,
    AlertStatus,
    ReconciliationKind,
    Sample,
    SampleItem,
)
from shebao.audit.nightly import nightly_run

router = Router(tags=["internal control"])


# --- schemas ---------------------------------------------------------------------------


class AlertOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    kind: str = Field(
        description="repeated_replacements, bulk_reads, backdated_corrections, out_of_hours"
    )
    subject: str = Field(description="What it is about: person:<id>, user:<id>, employer:<id>")
    day: dt.date
    detail: dict[str, Any] = Field(description="The figures the detector found")
    raised_at: dt.datetime
    status: str = Field(description="open, acknowledged or dismissed")
    note: str
    handled_by: str | None = None
    handled_at: dt.datetime | None

    @staticmethod
    def resolve_handled_by(obj: Alert) -> str | None:
        return obj.handled_by.username if obj.handled_by else None


class AlertQuery(PageQuery):
    area: str | None = Field(None, description="Ministry: one area's alerts")
    kind: AlertKind | None = None
    status: AlertStatus | None = None
    day: dt.date | None = None


class NoteIn(Schema):
    note: str = Field("", description="The auditor's note; required to dismiss")


class ReconciliationOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    day: dt.date
    kind: str = Field(description="cards, stock or fees")
    ok: bool
    differences: list[dict[str, Any]] = Field(description="Each with a code and a message")
    figures: dict[str, Any]
    run_at: dt.datetime


class ReconciliationQuery(PageQuery):
    area: str | None = None
    day: dt.date | None = None
    kind: ReconciliationKind | None = None
    ok: bool | None = None


class ChainCheckOut(Schema):
    id: int
    chain: str = Field(description="The area's code (its audit chain)")
    day: dt.date
    checked: int = Field(description="Events verified")
    ok: bool
    breaks: list[dict[str, Any]] = Field(description="The first break: seq and reason")
    at: dt.datetime


class ChainCheckQuery(PageQuery):
    area: str | None = None
    ok: bool | None = None


class SampleOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    period_start: dt.date
    period_end: dt.date
    size: int
    seed: int = Field(description="Redrawing with this seed finds the same actions")
    population: int = Field(description="Staff actions in the period")
    drawn_by: str
    drawn_at: dt.datetime
    checked: int = Field(0, description="Actions marked so far")
    findings: int = 0

    @staticmethod
    def resolve_drawn_by(obj: Sample) -> str:
        return obj.drawn_by.username


class SampleItemOut(Schema):
    id: int
    position: int
    event: int = Field(alias="event_id")
    seq: int = Field(alias="event.seq")
    at: dt.datetime = Field(alias="event.at")
    actor: str = Field(alias="event.actor_name")
    action: str = Field(alias="event.action")
    subject_type: str = Field(alias="event.subject_type")
    subject_id: str = Field(alias="event.subject_id")
    verdict: str = Field(description="pending, ok or finding")
    note: str
    checked_by: str | None = None
    checked_at: dt.datetime | None

    @staticmethod
    def resolve_checked_by(obj: SampleItem) -> str | None:
        return obj.checked_by.username if obj.checked_by else None


class SampleDetailOut(SampleOut):
    items: list[SampleItemOut]

    @staticmethod
    def resolve_items(obj: Sample) -> list[SampleItem]:
        return list(selectors.sample_items(obj))


class SampleIn(Schema):
    period_start: dt.date
    period_end: dt.date = Field(description="Yesterday at the latest")
    size: int = Field(description=f"1 to {sampling.MAX_SAMPLE} actions")
    seed: int | None = Field(None, description="Give a sample's seed to redo its draw")


class SampleQuery(PageQuery):
    area: str | None = None


class MarkIn(Schema):
    verdict: str = Field(description="ok or finding")
    note: str = Field("", description="Required for a finding")


class NightlyIn(Schema):
    area: str | None = Field(None, description="Area code; defaults to the caller's area")
    day: dt.date | None = Field(None, description="Defaults to yesterday")


class NightlyOut(Schema):
    area: str
    day: dt.date
    chain: ChainCheckOut
    reconciliations: list[ReconciliationOut]
    new_alerts: list[AlertOut]


def _reader(request: HttpRequest) -> Any:
    user = actor(request)
    require(user, "control.read")
    return user


def _with_counts(samples: Any) -> Any:
    return samples.annotate(
        checked=Count("items", filter=~Q(items__verdict="pending")),
        findings=Count("items", filter=Q(items__verdict="finding")),
    )


# --- alerts ------------------------------------------------------------------------------


@router.get(
    "/control/alerts",
    response=responses(200, page_of(AlertOut)),
    summary="The auditors' queue: alerts of unusual patterns (auditors, administrators, ministry)",
)
def alert_list(request: HttpRequest, query: Query[AlertQuery]) -> Any:
    rows = selectors.alerts_for(_reader(request))
    filters = {"area_id": query.area, "kind": query.kind, "status": query.status, "day": query.day}
    rows = rows.filter(**{key: value for key, value in filters.items() if value is not None})
    return paginate(rows.order_by("-raised_at", "-pk"), query.page, query.page_size)


@router.post(
    "/control/alerts/{alert_id}/acknowledge",
    response=responses(200, AlertOut),
    summary="Acknowledge an open alert, with an optional note (auditor)",
)
def alert_acknowledge(request: HttpRequest, alert_id: int, payload: NoteIn) -> Any:
    alert = selectors.alert_get(actor(request), alert_id)
    return alerts.alert_acknowledge(actor=actor(request), alert=alert, note=payload.note)


@router.post(
    "/control/alerts/{alert_id}/dismiss",
    response=responses(200, AlertOut),
    summary="Dismiss an open alert, saying why (auditor)",
)
def alert_dismiss(request: HttpRequest, alert_id: int, payload: NoteIn) -> Any:
    alert = selectors.alert_get(actor(request), alert_id)
    return alerts.alert_dismiss(actor=actor(request), alert=alert, note=payload.note)


# --- reconciliations and chain checks ----------------------------------------------------


@router.get(
    "/control/reconciliations",
    response=responses(200, page_of(ReconciliationOut)),
    summary="The daily card, stock and fee reconciliations with their differences",
)
def reconciliation_list(request: HttpRequest, query: Query[ReconciliationQuery]) -> Any:
    rows = selectors.reconciliations_for(_reader(request))
    filters = {"area_id": query.area, "day": query.day, "kind": query.kind, "ok": query.ok}
    rows = rows.filter(**{key: value for key, value in filters.items() if value is not None})
    return paginate(rows.order_by("-day", "area_id", "kind"), query.page, query.page_size)


@router.get(
    "/control/chain-checks",
    response=responses(200, page_of(ChainCheckOut)),
    summary="The verifications of the audit chains, newest first",
)
def chain_check_list(request: HttpRequest, query: Query[ChainCheckQuery]) -> Any:
    rows = selectors.chain_checks_for(_reader(request))
    filters = {"chain": query.area, "ok": query.ok}
    rows = rows.filter(**{key: value for key, value in filters.items() if value is not None})
    return paginate(rows.order_by("-at", "-pk"), query.page, query.page_size)


@router.post(
    "/control/nightly",
    response=responses(200, NightlyOut),
    summary="Run an area's nightly controls for a day: chain, reconciliations, alerts",
)
def nightly(request: HttpRequest, payload: NightlyIn) -> Any:
    user = actor(request)
    area = acting_area(request, payload.area)
    report = nightly_run(actor=user, area=area, day=payload.day)
    return {
        "area": report.area,
        "day": report.day,
        "chain": report.chain,
        "reconciliations": list(report.reconciliations.values()),
        "new_alerts": report.new_alerts,
    }


# --- samples -------------------------------------------------------------------------


@router.get(
    "/control/samples",
    response=responses(200, page_of(SampleOut)),
    summary="Samples of staff actions drawn by the auditors",
)
def sample_list(request: HttpRequest, query: Query[SampleQuery]) -> Any:
    rows = selectors.samples_for(_reader(request))
    if query.area:
        rows = rows.filter(area_id=query.area)
    return paginate(_with_counts(rows).order_by("-drawn_at", "-pk"), query.page, query.page_size)


@router.post(
    "/control/samples",
    response=responses(201, SampleDetailOut),
    summary="Draw a random sample of the area's staff actions in a period (auditor)",
)
def sample_draw(request: HttpRequest, payload: SampleIn) -> Any:
    user = actor(request)
    sample = sampling.sample_draw(
        actor=user,
        area=acting_area(request, None),
        period_start=payload.period_start,
        period_end=payload.period_end,
        size=payload.size,
        seed=payload.seed,
    )
    return Status(201, _with_counts(selectors.samples_for(user)).get(pk=sample.pk))


@router.get(
    "/control/samples/{sample_id}",
    response=responses(200, SampleDetailOut),
    summary="A sample with its drawn actions and the verdicts so far",
)
def sample_detail(request: HttpRequest, sample_id: int) -> Any:
    user = actor(request)
    selectors.sample_get(user, sample_id)
    return _with_counts(selectors.samples_for(user)).get(pk=sample_id)


@router.post(
    "/control/samples/{sample_id}/items/{item_id}/mark",
    response=responses(200, SampleItemOut),
    summary="Mark one sampled action checked OK or a finding, with a note (auditor)",
)
def sample_mark(request: HttpRequest, sample_id: int, item_id: int, payload: MarkIn) -> Any:
    user = actor(request)
    item = selectors.sample_item_get(selectors.sample_get(user, sample_id), item_id)
    return sampling.sample_mark(actor=user, item=item, verdict=payload.verdict, note=payload.note)
