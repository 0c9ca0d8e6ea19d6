"""Internal control procedures (DOMAIN.md §2, condition d): separation of duties,
the daily reconciliations and the verification of the audit chain.

Separation of duties is enforced where each duty is done, not here; this
module keeps the table of the rules (`SEPARATION_RULES`: code, what it
forbids, the function that refuses, the area setting that switches it, if
any), which the control pages show and the tests walk. Contributions have
no write-off, so "who records a payment never approves its write-off" has
nothing to guard yet.

The reconciliations call the card and fee reconciliations that already exist
(`cards.production.card_reconciliation`, `cards.fees.fees_daily_reconciliation`)
and keep their differences, one row per area, day and kind; running a day
again replaces that day's rows. The card and stock reconciliations are of
the books as they stand when the run is made; the fee reconciliation is of
the given day's money.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.models import ChainCheck, Reconciliation, ReconciliationKind
from shebao.audit.services import audit_record, audit_verify_chain, json_value
from shebao.cards import fees, production
from shebao.registry.models import Area, Outlet

# --- separation of duties ----------------------------------------------------------


@dataclass(frozen=True)
class SeparationRule:
    code: str
    description: Any  # lazy translation
    enforced_in: str  # dotted path of the function that refuses
    error_code: str  # the code of its refusal
    setting: str | None = None  # the area setting that switches it, if an area may


SEPARATION_RULES: tuple[SeparationRule, ...] = (
    SeparationRule(
        "card.submitter_not_approver",
        _("The officer who submitted a card application never approves it."),
        "shebao.cards.services.card_approve",
        "same_officer",
    ),
    SeparationRule(
        "fee.applicant_not_cashier",
        _(
            "Whoever took part in a card's application (took, submitted or approved it) "
            "never collects its fee."
        ),
        "shebao.cards.fees.fee_pay",
        "separation_of_duties",
    ),
    SeparationRule(
        "fee.applicant_not_waiver",
        _("The officer who took a card's application never waives its fee."),
        "shebao.cards.fees.fee_waive",
        "separation_of_duties",
    ),
    SeparationRule(
        "card.custodian_not_issuer",
        _(
            "The officer who received a card into an outlet's stock does not hand it over "
            "to the holder."
        ),
        "shebao.cards.services.card_hand_over",
        "separation_of_duties",
        setting="stock_handover_separation",
    ),
    SeparationRule(
        "alert.subject_not_handler",
        _("An auditor never acknowledges or dismisses an alert about their own actions."),
        "shebao.audit.alerts.alert_handle",
        "separation_of_duties",
    ),
    SeparationRule(
        "sample.actor_not_checker",
        _(
            "An auditor's own actions are never in the samples they draw, and nobody checks "
            "a sampled action of their own."
        ),
        "shebao.audit.sampling.sample_mark",
        "separation_of_duties",
    ),
)


def separation_rule(code: str) -> SeparationRule:
    return next(rule for rule in SEPARATION_RULES if rule.code == code)


# --- the reader of the books --------------------------------------------------------


def books_reader(area: Area) -> User:
    """Whom the nightly run reads an area's books as: an unsaved auditor of the area.

    The reconciliations are selectors scoped to a user; the run is made by the
    system (or by whoever starts it, who need not hold every read right), so it
    reads with exactly an auditor's rights in that area. This user is never
    saved and never recorded as acting: writes name the real actor or "system".
    """
    return User(username="system", role=Role.AUDITOR, area_id=area.code, is_active=True)


def require_run(actor: User | None, area_code: str) -> None:
    """The nightly run's parts are started by the system (no actor) or by someone
    who may run the area's controls."""
    if actor is not None:
        require(actor, "control.run", area_code=area_code)


# --- reconciliations --------------------------------------------------------------

# Differences of a stock count: they belong to the stock reconciliation.
COUNT_CODES = frozenset({"missing_at_count", "found_at_count"})


def _card_difference(difference: production.Discrepancy, **more: Any) -> dict[str, Any]:
    return {
        "code": difference.code,
        "message": difference.message,
        "card": difference.card_id,
        "card_number": difference.card_number,
        "state": difference.state,
        **more,
    }


def _cards(area: Area, reader: User) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    report = production.card_reconciliation(reader, area=area)
    differences = [
        _card_difference(difference)
        for difference in report.discrepancies
        if difference.code not in COUNT_CODES
    ]
    if report.accounted != report.produced:
        differences.append(
            {
                "code": "unaccounted",
                "message": str(
                    _("%(produced)d cards were produced but the lines account for %(accounted)d.")
                    % {"produced": report.produced, "accounted": report.accounted}
                ),
            }
        )
    figures = {
        "produced": report.produced,
        "lines": {line.key: line.count for line in report.lines},
    }
    return differences, figures


def _stock(area: Area, reader: User) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    differences: list[dict[str, Any]] = []
    outlets: dict[str, Any] = {}
    for outlet in Outlet.objects.filter(area_id=area.code).order_by("code"):
        report = production.card_reconciliation(reader, area=area, outlet=outlet)
        in_stock = next(line.count for line in report.lines if line.key == "in_stock")
        found = [
            _card_difference(difference, outlet=outlet.code)
            for difference in report.discrepancies
            if difference.code in COUNT_CODES
        ]
        outlets[outlet.code] = {
            "name": outlet.name,
            "in_stock": in_stock,
            "differences": len(found),
        }
        differences += found
    return differences, {"outlets": outlets}


def _fees(area: Area, reader: User, day: dt.date) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    report = fees.fees_daily_reconciliation(actor=reader, area=area, day=day)
    differences = [
        {
            "code": difference.code,
            "message": difference.message,
            "card": difference.card_id,
            "card_number": difference.card_number,
            "fee": difference.fee_id,
            "amount": difference.amount,
        }
        for difference in report.differences
    ]
    figures = {
        "receipts": len(report.receipts),
        "total": report.total,
        "per_cashier": report.per_cashier,
        "due": len(report.due),
        "due_total": report.due_total,
    }
    return differences, figures


@transaction.atomic
def reconciliations_run(
    *, actor: User | None, area: Area, day: dt.date
) -> dict[str, Reconciliation]:
    """Run the area's card, stock and fee reconciliations for `day` and keep them.

    A day run again replaces its rows (one per area, day and kind), so the
    nightly run can be repeated; each run is an audit event.
    """
    require_run(actor, area.code)
    reader = books_reader(area)
    results = {
        ReconciliationKind.CARDS: _cards(area, reader),
        ReconciliationKind.STOCK: _stock(area, reader),
        ReconciliationKind.FEES: _fees(area, reader, day),
    }
    now = timezone.now()
    kept: dict[str, Reconciliation] = {}
    for kind, (differences, figures) in results.items():
        row, _created = Reconciliation.objects.update_or_create(
            area=area,
            day=day,
            kind=kind,
            defaults={
                "ok": not differences,
                "differences": json_value(differences),
                "figures": json_value(figures),
                "run_at": now,
            },
        )
        kept[kind] = row
    audit_record(
        actor=actor,
        action="reconciliation.run",
        subject=area,
        area_code=area.code,
        after={
            "day": day,
            "differences": {kind: len(row.differences) for kind, row in kept.items()},
        },
    )
    return kept


# --- the audit chain ---------------------------------------------------------------


@transaction.atomic
def chain_check_run(*, actor: User | None, chain: str, day: dt.date) -> ChainCheck:
    """Verify one audit chain from its start and keep the result as the day's check.

    The chain is read before the check's own event is appended to it; a check
    of a broken chain is recorded too (the break stays where it is).
    """
    require_run(actor, chain)
    checked, broken = audit_verify_chain(chain)
    check, _created = ChainCheck.objects.update_or_create(
        chain=chain,
        day=day,
        defaults={
            "checked": checked,
            "ok": broken is None,
            "breaks": [] if broken is None else [{"seq": broken.seq, "reason": broken.reason}],
            "at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action="audit_chain.verify",
        subject=check,
        area_code=chain,
        after={"day": day, "checked": checked, "ok": check.ok, "breaks": check.breaks},
    )
    return check
