"""Alerts: unusual patterns in an area's records, raised into the auditors' queue.

Each detector looks at one local day of one area with set-based queries and
finds the subjects (a person, a staff member, an employer) that show its
pattern; `alerts_detect` raises one alert per area, kind, subject and day.
The unique index on those four makes a second run of the same day harmless:
it finds the same subjects and adds nothing. Thresholds are area settings.

- repeated_replacements: a person with a replacement application that day and
  at least `alert_replacements` (2) replacement applications in the twelve
  months up to the end of the day.
- bulk_reads: a staff member shown the records of at least
  `alert_bulk_read_persons` (200) distinct persons within any sixty minutes
  (AccessEvent, PIPL art. 51); the alert lists the spans of time in which
  they did, overlapping windows merged.
- backdated_corrections: corrections of wage declarations made that day for a
  month more than `alert_backdated_months` (3) months before the month of the
  correction (their reversal lines); one alert per employer.
- out_of_hours: audit events of staff that day outside the area's working
  days and hours (`working_hours_start`–`working_hours_end`, local time of
  settings.TIME_ZONE; working days by `registry.workdays`: `working_days`
  less `public_holidays` plus `makeup_working_days`); one alert per staff
  member.

An auditor acknowledges an alert (seen, followed up) or dismisses it (not a
problem, with the reason); never one about their own actions.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.db.models.functions import ExtractHour, ExtractMinute
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import STAFF, require
from shebao.audit.controls import require_run
from shebao.audit.models import AccessEvent, Alert, AlertKind, AlertStatus, AuditEvent
from shebao.audit.services import audit_record, json_value, snapshot
from shebao.cards.fees import day_bounds
from shebao.cards.models import Card, CardKind
from shebao.contributions.models import DeclarationLine, LineKind
from shebao.core.dates import add_months
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import Area
from shebao.registry.selectors import area_setting
from shebao.registry.workdays import WorkCalendar

# How many examples an alert keeps in its detail (the counts are always whole).
DETAIL_EXAMPLES = 50


@dataclass(frozen=True)
class Finding:
    subject: str
    detail: dict[str, Any] = field(default_factory=dict)


# --- repeated replacements ------------------------------------------------------------


def repeated_replacements(area: Area, day: dt.date) -> list[Finding]:
    start, end = day_bounds(day)
    threshold = area_setting(area.code, "alert_replacements", on=day)
    since = day_bounds(add_months(day, -12))[1]
    replacements = Card.objects.filter(
        area_id=area.code, kind=CardKind.REPLACEMENT, submitted_at__gte=since, submitted_at__lt=end
    )
    applied_that_day = replacements.filter(submitted_at__gte=start).values("person_id")
    people = (
        replacements.filter(person_id__in=applied_that_day)
        .values("person_id", "person__name")
        .annotate(count=Count("pk"))
        .filter(count__gte=threshold)
        .order_by("person_id")
    )
    found = {row["person_id"]: row for row in people}
    applications: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for card in (
        replacements.filter(person_id__in=list(found))
        .values("pk", "person_id", "submitted_at", "replacement_reason", "state")
        .order_by("person_id", "submitted_at")
    ):
        applications[card["person_id"]].append(
            {
                "card": card["pk"],
                "submitted_at": timezone.localtime(card["submitted_at"]),
                "reason": card["replacement_reason"],
                "state": card["state"],
            }
        )
    return [
        Finding(
            f"person:{person_id}",
            {
                "person": person_id,
                "name": row["person__name"],
                "count": row["count"],
                "threshold": threshold,
                "since": since,
                "applications": applications[person_id][-DETAIL_EXAMPLES:],
            },
        )
        for person_id, row in found.items()
    ]


# --- bulk reads ----------------------------------------------------------------------

# Each person shown to each staff member that day, in time order, from the
# person ids each access event lists (a JSON array); only staff members shown
# at least the threshold of distinct persons in the whole day, which no one
# below it can reach within an hour.
_BULK_READS_SQL = {
    "postgresql": """
        SELECT e.actor_id, e.at, p.person
        FROM audit_accessevent e
        CROSS JOIN LATERAL jsonb_array_elements_text(e.person_ids) AS p(person)
        WHERE e.area_code = %(area)s AND e.at >= %(start)s AND e.at < %(end)s
          AND e.actor_id IN (
              SELECT d.actor_id FROM audit_accessevent d
              CROSS JOIN LATERAL jsonb_array_elements_text(d.person_ids) AS q(person)
              WHERE d.area_code = %(area)s AND d.at >= %(start)s AND d.at < %(end)s
              GROUP BY d.actor_id HAVING COUNT(DISTINCT q.person) >= %(threshold)s)
        ORDER BY e.actor_id, e.at, e.id
    """,
    "sqlite": """
        SELECT e.actor_id, e.at, p.value
        FROM audit_accessevent e, json_each(e.person_ids) AS p
        WHERE e.area_code = %(area)s AND e.at >= %(start)s AND e.at < %(end)s
          AND e.actor_id IN (
              SELECT d.actor_id FROM audit_accessevent d, json_each(d.person_ids) AS q
              WHERE d.area_code = %(area)s AND d.at >= %(start)s AND d.at < %(end)s
              GROUP BY d.actor_id HAVING COUNT(DISTINCT q.value) >= %(threshold)s)
        ORDER BY e.actor_id, e.at, e.id
    """,
}
WINDOW = dt.timedelta(hours=1)


class _Window:
    """Distinct persons shown within the last hour, as reads arrive in time order;
    the spans of time in which they reach the threshold, merged when they meet."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.reads: deque[tuple[dt.datetime, str]] = deque()
        self.times: dict[str, int] = defaultdict(int)  # person → reads in the window
        self.spans: list[dict[str, Any]] = []

    def add(self, at: dt.datetime, person: str) -> None:
        self.reads.append((at, person))
        self.times[person] += 1
        while self.reads[0][0] <= at - WINDOW:
            _, gone = self.reads.popleft()
            self.times[gone] -= 1
            if not self.times[gone]:
                del self.times[gone]
        persons = len(self.times)
        if persons < self.threshold:
            return
        begins = self.reads[0][0]
        last = self.spans[-1] if self.spans else None
        if last is not None and begins <= last["to"]:
            last["to"], last["persons"] = at, max(last["persons"], persons)
        else:
            self.spans.append({"from": begins, "to": at, "persons": persons})


def _instant(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)  # SQLite: stored UTC


def _bulk_read_spans(
    area_code: str, start: dt.datetime, end: dt.datetime, threshold: int
) -> dict[int, list[dict[str, Any]]]:
    """Per staff member, the spans in which they were shown `threshold` or more
    distinct persons within an hour (any hour, not clock hours)."""
    adapt = connection.ops.adapt_datetimefield_value
    params = {"area": area_code, "start": adapt(start), "end": adapt(end), "threshold": threshold}
    spans: dict[int, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_BULK_READS_SQL[connection.vendor], params)
        rows = itertools.chain.from_iterable(iter(lambda: cursor.fetchmany(10_000), []))
        for actor_id, reads in itertools.groupby(rows, key=itemgetter(0)):
            window = _Window(threshold)
            for _actor, at, person in reads:
                window.add(_instant(at), str(person))
            spans[actor_id] = window.spans
    return {
        actor_id: [
            {
                "from": timezone.localtime(span["from"]),
                "to": timezone.localtime(span["to"]),
                "persons": span["persons"],
            }
            for span in found
        ]
        for actor_id, found in spans.items()
        if found
    }


def bulk_reads(area: Area, day: dt.date) -> list[Finding]:
    start, end = day_bounds(day)
    threshold = area_setting(area.code, "alert_bulk_read_persons", on=day)
    spans = _bulk_read_spans(area.code, start, end, threshold)
    names = dict(User.objects.filter(pk__in=list(spans)).values_list("pk", "username"))
    reads = (
        AccessEvent.objects.filter(
            area_code=area.code, at__gte=start, at__lt=end, actor_id__in=list(spans)
        )
        .values("actor_id")
        .annotate(count=Count("pk"))
    )
    events = {row["actor_id"]: row["count"] for row in reads}
    return [
        Finding(
            f"user:{actor_id}",
            {
                "user": actor_id,
                "username": names.get(actor_id, ""),
                "threshold": threshold,
                "spans": found,
                "most": max(span["persons"] for span in found),
                "access_events": events.get(actor_id, 0),
            },
        )
        for actor_id, found in sorted(spans.items())
    ]


# --- back-dated corrections -----------------------------------------------------------


def backdated_corrections(area: Area, day: dt.date) -> list[Finding]:
    start, end = day_bounds(day)
    months = area_setting(area.code, "alert_backdated_months", on=day)
    # More than `months` months back: 3 months before a correction in November
    # is August, so July and earlier are flagged.
    before = add_months(day.replace(day=1), -months)
    reversals = DeclarationLine.objects.filter(
        area_id=area.code,
        kind=LineKind.REVERSAL,
        created_at__gte=start,
        created_at__lt=end,
        period__lt=before,
    )
    employers = (
        reversals.values("employer_id", "employer__name")
        .annotate(count=Count("pk"), earliest=Min("period"))
        .order_by("employer_id")
    )
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in reversals.values(
        "pk", "employer_id", "person_id", "period", "wage", "reverses_id", "created_by__username"
    ).order_by("employer_id", "period", "pk"):
        if len(lines[line["employer_id"]]) < DETAIL_EXAMPLES:
            lines[line["employer_id"]].append(
                {
                    "line": line["pk"],
                    "reverses": line["reverses_id"],
                    "person": line["person_id"],
                    "period": line["period"],
                    "wage": line["wage"],
                    "by": line["created_by__username"],
                }
            )
    return [
        Finding(
            f"employer:{row['employer_id']}",
            {
                "employer": row["employer_id"],
                "name": row["employer__name"],
                "corrections": row["count"],
                "earliest_month": row["earliest"],
                "months": months,
                "before": before,
                "lines": lines[row["employer_id"]],
            },
        )
        for row in employers
    ]


# --- out of hours ------------------------------------------------------------------


def _time_setting(area_code: str, key: str, day: dt.date) -> dt.time:
    value = str(area_setting(area_code, key, on=day))
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("Area setting %(key)s must be a time of day as HH:MM, not %(value)r."),
            code="setting_value",
            field=key,
            params={"key": key, "value": value},
        ) from None


def out_of_hours(area: Area, day: dt.date) -> list[Finding]:
    start, end = day_bounds(day)
    opens = _time_setting(area.code, "working_hours_start", day)
    closes = _time_setting(area.code, "working_hours_end", day)
    workday = WorkCalendar.of(area.code, day).is_working(day)
    events = AuditEvent.objects.filter(
        chain=area.code, at__gte=start, at__lt=end, actor__role__in=STAFF
    )
    if workday:
        local = timezone.get_default_timezone()
        events = events.annotate(
            minute_of_day=ExtractHour("at", tzinfo=local) * 60 + ExtractMinute("at", tzinfo=local)
        ).filter(
            Q(minute_of_day__lt=opens.hour * 60 + opens.minute)
            | Q(minute_of_day__gte=closes.hour * 60 + closes.minute)
        )
    people = (
        events.values("actor_id", username=F("actor__username"))
        .annotate(count=Count("pk"), first=Min("at"), last=Max("at"))
        .order_by("actor_id")
    )
    actions: dict[int, dict[str, int]] = defaultdict(dict)
    for row in events.values("actor_id", "action").annotate(count=Count("pk")).order_by("action"):
        actions[row["actor_id"]][row["action"]] = row["count"]
    return [
        Finding(
            f"user:{row['actor_id']}",
            {
                "user": row["actor_id"],
                "username": row["username"],
                "events": row["count"],
                "first": timezone.localtime(row["first"]),
                "last": timezone.localtime(row["last"]),
                "actions": actions[row["actor_id"]],
                "working_day": workday,
                "hours": f"{opens:%H:%M}–{closes:%H:%M}",
            },
        )
        for row in people
    ]


DETECTORS: dict[str, Callable[[Area, dt.date], list[Finding]]] = {
    AlertKind.REPEATED_REPLACEMENTS: repeated_replacements,
    AlertKind.BULK_READS: bulk_reads,
    AlertKind.BACKDATED_CORRECTIONS: backdated_corrections,
    AlertKind.OUT_OF_HOURS: out_of_hours,
}


# --- raising and handling -----------------------------------------------------------


@transaction.atomic
def alerts_detect(
    *, actor: User | None, area: Area, day: dt.date, kinds: list[str] | None = None
) -> list[Alert]:
    """Run the detectors (all, or `kinds`) over the area's `day`; return the alerts
    that are new. A subject already alerted for that day is not alerted again."""
    require_run(actor, area.code)
    raised: list[Alert] = []
    now = timezone.now()
    for kind, detector in DETECTORS.items():
        if kinds is not None and kind not in kinds:
            continue
        for finding in detector(area, day):
            alert, created = Alert.objects.get_or_create(
                area=area,
                kind=kind,
                subject=finding.subject,
                day=day,
                defaults={"detail": json_value(finding.detail), "raised_at": now},
            )
            if created:
                audit_record(
                    actor=actor,
                    action="alert.raise",
                    subject=alert,
                    area_code=area.code,
                    after=snapshot(alert, ["kind", "subject", "day", "detail"]),
                )
                raised.append(alert)
    return raised


class AlertAction:
    ACKNOWLEDGE = "acknowledge"
    DISMISS = "dismiss"


# The alert's life: an auditor acknowledges it or dismisses it, once.
ALERT_TRANSITIONS: dict[tuple[str, str], str] = {
    (AlertStatus.OPEN, AlertAction.ACKNOWLEDGE): AlertStatus.ACKNOWLEDGED,
    (AlertStatus.OPEN, AlertAction.DISMISS): AlertStatus.DISMISSED,
}
ALERT_FIELDS = ["status", "note", "handled_by_id", "handled_at"]


@transaction.atomic
def alert_handle(*, actor: User, alert: Alert, action: str, note: str = "") -> Alert:
    """Acknowledge or dismiss an open alert; a dismissal says why."""
    require(actor, "alert.handle", area_code=alert.area_id)
    if action not in (AlertAction.ACKNOWLEDGE, AlertAction.DISMISS):
        raise InvalidInput(
            _("An alert is acknowledged or dismissed, not %(action)s."),
            code="alert_action",
            field="action",
            params={"action": action},
        )
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.subject == f"user:{actor.pk}":
        raise Forbidden(
            _("This alert is about your own actions; another auditor handles it."),
            code="separation_of_duties",
        )
    status = ALERT_TRANSITIONS.get((locked.status, action))
    if status is None:
        raise Conflict(
            _("This alert was already handled (%(status)s)."),
            code="alert_handled",
            params={"status": AlertStatus(locked.status).label},
        )
    note = (note or "").strip()
    if action == AlertAction.DISMISS and not note:
        raise InvalidInput(_("Say why the alert is dismissed."), code="note_required", field="note")
    before = snapshot(locked, ALERT_FIELDS)
    locked.status = status
    locked.note = note[:2000]
    locked.handled_by = actor
    locked.handled_at = timezone.now()
    locked.save(update_fields=["status", "note", "handled_by", "handled_at"])
    audit_record(
        actor=actor,
        action=f"alert.{action}",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after=snapshot(locked, ALERT_FIELDS),
    )
    alert.__dict__.update(locked.__dict__)
    return alert


def alert_acknowledge(*, actor: User, alert: Alert, note: str = "") -> Alert:
    return alert_handle(actor=actor, alert=alert, action=AlertAction.ACKNOWLEDGE, note=note)


def alert_dismiss(*, actor: User, alert: Alert, note: str) -> Alert:
    return alert_handle(actor=actor, alert=alert, action=AlertAction.DISMISS, note=note)
