"""The nightly control run of an area: verify its audit chain, reconcile its
cards, stock and fees, and run the alert detectors, all for one local day
(yesterday, when run after midnight).

Each part keeps one result per day (a chain check per chain and day, a
reconciliation per area, day and kind, an alert per area, kind, subject and
day), so running a day again leaves the same rows: the run is idempotent per
day. The parts commit one by one: a detector that fails leaves the chain
check and the reconciliations made before it.

`shebao nightly [--area A] [--day D] [--as USER]` runs it from cron; without
--area every area, then the national chain.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from shebao.accounts.models import User
from shebao.audit.alerts import alerts_detect
from shebao.audit.controls import chain_check_run, reconciliations_run, require_run
from shebao.audit.models import NATIONAL_CHAIN, Alert, ChainCheck, Reconciliation
from shebao.registry.models import Area


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


@dataclass
class NightlyReport:
    area: str
    day: dt.date
    chain: ChainCheck
    reconciliations: dict[str, Reconciliation] = field(default_factory=dict)
    new_alerts: list[Alert] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok

    def summary(self) -> str:
        chain = (
            f"chain intact, {self.chain.checked} events"
            if self.chain.ok
            else f"chain BROKEN at #{self.chain.breaks[0]['seq']}: {self.chain.breaks[0]['reason']}"
        )
        reconciled = ", ".join(
            f"{kind} {'ok' if row.ok else f'{len(row.differences)} differences'}"
            for kind, row in self.reconciliations.items()
        )
        kinds = Counter(alert.kind for alert in self.new_alerts)
        alerts = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        return (
            f"{self.area} {self.day}: {chain}; reconciliations: {reconciled}; "
            f"new alerts: {len(self.new_alerts)}{f' ({alerts})' if alerts else ''}"
        )


def nightly_run(*, actor: User | None, area: Area, day: dt.date | None = None) -> NightlyReport:
    """Run the area's nightly controls for `day` (default yesterday)."""
    require_run(actor, area.code)
    day = day or yesterday()
    report = NightlyReport(
        area=area.code, day=day, chain=chain_check_run(actor=actor, chain=area.code, day=day)
    )
    report.reconciliations = reconciliations_run(actor=actor, area=area, day=day)
    report.new_alerts = alerts_detect(actor=actor, area=area, day=day)
    return report


def national_chain_check(*, day: dt.date | None = None) -> ChainCheck:
    """The national chain (approvals of areas and other national events), by the system."""
    return chain_check_run(actor=None, chain=NATIONAL_CHAIN, day=day or yesterday())
