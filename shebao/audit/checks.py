"""Condition (d) of an area's approval, internal control, as live checks (see
shebao.approval.checks): the area's audit chain was verified lately without a
break, the reconciliations ran for yesterday, and no alert waits too long.

Imported by AuditConfig.ready; the models are imported inside each check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from shebao.approval.checks import CheckResult, register

CHAIN_CHECK_WITHIN = dt.timedelta(days=2)
ALERT_OPEN_AT_MOST = dt.timedelta(days=7)


@register(
    "d.chain_checked",
    condition="d",
    title=gettext_lazy("The audit chain was verified in the last 2 days, without a break"),
)
def chain_checked(area: Any) -> CheckResult:
    from shebao.audit.models import ChainCheck

    since = timezone.now() - CHAIN_CHECK_WITHIN
    recent = list(ChainCheck.objects.filter(chain=area.code, at__gte=since).order_by("-at"))
    if not recent:
        last = ChainCheck.objects.filter(chain=area.code).order_by("-at").first()
        return CheckResult(
            False,
            str(
                gettext_lazy("Not verified since %(since)s (last: %(last)s); run `shebao nightly`.")
            )
            % {
                "since": timezone.localtime(since).strftime("%Y-%m-%d %H:%M"),
                "last": timezone.localtime(last.at).strftime("%Y-%m-%d %H:%M") if last else "—",
            },
            {"checks": 0},
        )
    broken = [check for check in recent if not check.ok]
    evidence = {
        "checks": len(recent),
        "latest": recent[0].at,
        "checked": recent[0].checked,
        "broken": [check.breaks for check in broken],
    }
    if broken:
        return CheckResult(
            False,
            str(gettext_lazy("A verification of %(day)s found a break: %(reason)s."))
            % {"day": broken[0].day.isoformat(), "reason": broken[0].breaks[0]["reason"]},
            evidence,
        )
    return CheckResult(
        True,
        str(gettext_lazy("Verified %(at)s: %(count)d events, no break."))
        % {
            "at": timezone.localtime(recent[0].at).strftime("%Y-%m-%d %H:%M"),
            "count": recent[0].checked,
        },
        evidence,
    )


@register(
    "d.reconciliations_ran",
    condition="d",
    title=gettext_lazy("The card, stock and fee reconciliations ran yesterday"),
)
def reconciliations_ran(area: Any) -> CheckResult:
    from shebao.audit.models import Reconciliation, ReconciliationKind

    day = timezone.localdate() - dt.timedelta(days=1)
    rows = {row.kind: row for row in Reconciliation.objects.filter(area_id=area.code, day=day)}
    missing = [kind for kind in ReconciliationKind.values if kind not in rows]
    evidence = {
        "day": day.isoformat(),
        "missing": missing,
        "differences": {kind: len(row.differences) for kind, row in rows.items()},
    }
    if missing:
        return CheckResult(
            False,
            str(gettext_lazy("Not run for %(day)s: %(kinds)s."))
            % {
                "day": day.isoformat(),
                "kinds": ", ".join(missing),
            },
            evidence,
        )
    return CheckResult(
        True,
        str(gettext_lazy("Ran for %(day)s; differences: %(differences)s."))
        % {
            "day": day.isoformat(),
            "differences": ", ".join(
                f"{kind} {len(rows[kind].differences)}" for kind in ReconciliationKind.values
            ),
        },
        evidence,
    )


@register(
    "d.alerts_handled",
    condition="d",
    title=gettext_lazy("No alert has waited for an auditor longer than 7 days"),
)
def alerts_handled(area: Any) -> CheckResult:
    from shebao.audit.models import Alert, AlertStatus

    cutoff = timezone.now() - ALERT_OPEN_AT_MOST
    waiting = Alert.objects.filter(area_id=area.code, status=AlertStatus.OPEN)
    stale = waiting.filter(raised_at__lt=cutoff)
    count, open_count = stale.count(), waiting.count()
    oldest = stale.order_by("raised_at").first()
    evidence = {"open": open_count, "stale": count}
    if oldest is not None:
        return CheckResult(
            False,
            str(gettext_lazy("%(count)d alerts open longer than 7 days, the oldest raised %(at)s."))
            % {"count": count, "at": timezone.localtime(oldest.raised_at).strftime("%Y-%m-%d")},
            {**evidence, "oldest": oldest.pk},
        )
    return CheckResult(
        True,
        str(gettext_lazy("%(count)d alerts open, none older than 7 days.")) % {"count": open_count},
        evidence,
    )
