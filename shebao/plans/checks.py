"""Live checks of conditions (b) staff and equipment and (c) implementation
plans, registered into the approval checklist (`approval.checks`).

Staff are bound to an issuing area, not to an outlet, so "trained staff per
outlet" is counted per area: at least as many card officers with a valid
card-issuance training as the area has active outlets (and at least one).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from shebao.approval.checks import CheckResult, register

# The checks of this module, in the order the plans overview shows them.
CODES = ("b.counters_and_readers", "b.trained_staff", "c.plans")


@register(
    "b.counters_and_readers",
    condition="b",
    title=gettext_lazy("Each active outlet has an open counter and a working card reader"),
)
def counters_and_readers(area: Any) -> CheckResult:
    from shebao.plans.figures import outlet_readiness

    outlets = outlet_readiness(area.code)
    missing = [row.outlet.code for row in outlets if not row.ready]
    evidence = {
        "outlets": {
            row.outlet.code: {"counters": row.counters, "card_readers": row.card_readers}
            for row in outlets
        },
        "missing": missing,
    }
    if not outlets:
        return CheckResult(False, str(gettext_lazy("The area has no active outlet.")), evidence)
    if missing:
        detail = str(
            gettext_lazy("Without an open counter or a working card reader: %(outlets)s.")
        ) % {"outlets": ", ".join(missing)}
    else:
        detail = str(
            gettext_lazy("%(count)d active outlets, each with a counter and a card reader.")
        ) % {"count": len(outlets)}
    return CheckResult(not missing, detail, evidence)


@register(
    "b.trained_staff",
    condition="b",
    title=gettext_lazy("Card officers with a valid card-issuance training"),
)
def trained_staff(area: Any) -> CheckResult:
    from shebao.plans.figures import trained_officers
    from shebao.registry.models import Outlet

    today = timezone.localdate()
    trained = trained_officers(area.code, today).count()
    outlets = Outlet.objects.filter(area_id=area.code, active=True).count()
    needed = max(outlets, 1)
    detail = str(
        gettext_lazy(
            "%(trained)d card officers with a valid training for %(outlets)d active outlets "
            "(staff are bound to the area, not to an outlet, so they are counted per area)."
        )
    ) % {"trained": trained, "outlets": outlets}
    return CheckResult(
        trained >= needed,
        detail,
        {"trained_officers": trained, "active_outlets": outlets, "on": today.isoformat()},
    )


@register(
    "c.plans",
    condition="c",
    title=gettext_lazy(
        "Application design, cost, information collection and distribution plans for this year"
    ),
)
def plans_present(area: Any) -> CheckResult:
    from shebao.plans.figures import plans_in_force
    from shebao.plans.models import PlanKind

    today = timezone.localdate()
    found = plans_in_force(area.code, today.year, today)
    missing = [kind for kind in PlanKind.values if kind not in found]
    labels = dict(PlanKind.choices)
    if missing:
        detail = str(gettext_lazy("Missing for %(year)d: %(plans)s.")) % {
            "year": today.year,
            "plans": ", ".join(str(labels[kind]) for kind in missing),
        }
    else:
        detail = ", ".join(f"{labels[kind]} v{found[kind].version}" for kind in PlanKind.values)
    return CheckResult(
        not missing,
        detail,
        {
            "year": today.year,
            "versions": {kind: plan.version for kind, plan in found.items()},
            "missing": missing,
        },
    )
