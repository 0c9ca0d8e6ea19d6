"""The checklist engine: conditions (a)–(e) an area's systems can prove live.

Any app registers a check of its own data here, imported from its
AppConfig.ready:

    from shebao.approval.checks import register, CheckResult

    @register("b.trained_staff", condition="b", title=gettext_lazy("..."))
    def trained_staff(area: Area) -> CheckResult:
        ...

A check takes the area and returns a CheckResult; it reads, never writes.
`run_checks(area)` runs them all, in code order; a check that fails with an
exception is reported as not met (with the error), so one broken check never
hides the others. The approval workflow (shebao.approval.services) records
these results on an application's checklist when it is submitted and again
when the ministry decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy

CONDITIONS = ("a", "b", "c", "d", "e")


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    code: str
    condition: str
    title: Any  # lazy translation
    function: Callable[[Any], CheckResult]


CHECKS: dict[str, Check] = {}


def register(
    code: str, *, condition: str, title: Any
) -> Callable[[Callable[[Any], CheckResult]], Callable[[Any], CheckResult]]:
    """Register `function(area) -> CheckResult` as the live check `code` of a condition."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")

    def decorate(function: Callable[[Any], CheckResult]) -> Callable[[Any], CheckResult]:
        CHECKS[code] = Check(code=code, condition=condition, title=title, function=function)
        return function

    return decorate


def run_check(check: Check, area: Any) -> CheckResult:
    try:
        # A savepoint: a check whose query fails leaves the caller's transaction usable.
        with transaction.atomic():
            return check.function(area)
    except Exception as error:
        return CheckResult(False, f"{type(error).__name__}: {error}", {"error": True})


def run_checks(area: Any) -> dict[str, CheckResult]:
    """Every registered check's result for the area, in code order."""
    return {code: run_check(CHECKS[code], area) for code in sorted(CHECKS)}


# --- the checks of this app ------------------------------------------------------
# Imported lazily inside each check: this module is imported by every app's
# ready(), before anything else may be.


def _area_setting(area: Any, key: str) -> Any:
    from shebao.registry.selectors import area_setting

    return area_setting(area.code, key)


@register("a.database", condition="a", title=gettext_lazy("The database answers"))
def database_reachable(area: Any) -> CheckResult:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        answer = cursor.fetchone()
    ok = answer is not None and answer[0] == 1
    return CheckResult(
        ok, f"{connection.vendor}: SELECT 1 → {answer}", {"engine": connection.vendor}
    )


@register(
    "a.backup",
    condition="a",
    title=gettext_lazy("A verified backup was made recently"),
)
def backup_recent(area: Any) -> CheckResult:
    from shebao.emergency.backup import backup_age, latest_verified_backup

    days = int(_area_setting(area, "approval_backup_max_age_days"))
    age = backup_age()
    if age is None:
        return CheckResult(
            False,
            str(gettext_lazy("No verified backup exists (run `shebao backup`).")),
            {"max_age_days": days},
        )
    latest = latest_verified_backup()
    evidence = {
        "max_age_days": days,
        "age_hours": round(age.total_seconds() / 3600, 1),
        "file": latest[0].name if latest else "",
        "created_at": latest[1].created_at if latest else "",
    }
    ok = age <= dt.timedelta(days=days)
    template = (
        gettext_lazy("The newest verified backup is %(hours)s hours old (at most %(days)d days).")
        if ok
        else gettext_lazy(
            "The newest verified backup is %(hours)s hours old: older than %(days)d days."
        )
    )
    return CheckResult(ok, str(template) % {"hours": evidence["age_hours"], "days": days}, evidence)


# What the public and machine clients depend on, each with the answer it must
# give in-process: the API's description resolves (building it takes seconds,
# so it is resolved, not built); the API's public keys for checking e-card
# codes offline and the two public verification pages answer 200.
API_DESCRIPTION = "/api/v1/openapi.json"
ENDPOINTS: tuple[tuple[str, int], ...] = (
    ("/api/v1/ecard/keys", 200),
    ("web:statement_verify_form", 200),
    ("web:verify_ecard", 200),
)


def _test_host() -> str:
    from django.conf import settings

    for host in settings.ALLOWED_HOSTS:
        if host and "*" not in host:
            return host.lstrip(".")
    return "localhost"


@register(
    "a.endpoints",
    condition="a",
    title=gettext_lazy("The API and the public verification pages respond"),
)
def endpoints_healthy(area: Any) -> CheckResult:
    """Each address is requested in-process through the whole stack (no network)."""
    from django.conf import settings
    from django.test import Client
    from django.urls import Resolver404, resolve, reverse

    answers: dict[str, Any] = {}
    failing: list[str] = []
    try:
        resolve(API_DESCRIPTION)
        answers[API_DESCRIPTION] = "resolves"
    except Resolver404:
        answers[API_DESCRIPTION] = "404"
        failing.append(API_DESCRIPTION)
    client = Client(HTTP_HOST=_test_host())
    for endpoint, expected in ENDPOINTS:
        path = endpoint if endpoint.startswith("/") else reverse(endpoint)
        status = client.get(path, secure=bool(settings.SECURE_SSL_REDIRECT)).status_code
        answers[path] = status
        if status != expected:
            failing.append(path)
    detail = ", ".join(f"{path} → {answer}" for path, answer in answers.items())
    return CheckResult(not failing, detail, {"answers": answers, "failing": sorted(failing)})


@register(
    "a.audit_chain",
    condition="a",
    title=gettext_lazy("The area's audit chain verifies"),
)
def audit_chain_verifies(area: Any) -> CheckResult:
    from shebao.audit.services import audit_verify_chain

    checked, broken = audit_verify_chain(area.code)
    if broken is not None:
        return CheckResult(
            False, str(broken), {"checked": checked, "seq": broken.seq, "reason": broken.reason}
        )
    return CheckResult(
        True,
        str(gettext_lazy("%(count)d events checked, no break.")) % {"count": checked},
        {"checked": checked},
    )


@register(
    "b.outlets",
    condition="b",
    title=gettext_lazy("Service outlets are registered and active"),
)
def outlets_active(area: Any) -> CheckResult:
    from shebao.registry.models import Outlet

    outlets = Outlet.objects.filter(area_id=area.code)
    total = outlets.count()
    active = outlets.filter(active=True).count()
    return CheckResult(
        active > 0,
        str(gettext_lazy("%(active)d of %(total)d outlets active."))
        % {"active": active, "total": total},
        {"active": active, "total": total},
    )


def _documents_on_file(area: Any, kinds: tuple[str, ...]) -> CheckResult:
    from shebao.approval.models import ApplicationDocument, DocumentKind

    found = dict(
        ApplicationDocument.objects.filter(area_id=area.code, kind__in=kinds)
        .values("kind")
        .annotate(version=Max("version"))
        .values_list("kind", "version")
    )
    missing = [kind for kind in kinds if kind not in found]
    labels = dict(DocumentKind.choices)
    if missing:
        detail = str(gettext_lazy("Missing: %(kinds)s.")) % {
            "kinds": ", ".join(str(labels[kind]) for kind in missing)
        }
    else:
        detail = ", ".join(f"{labels[kind]} v{found[kind]}" for kind in kinds)
    return CheckResult(not missing, detail, {"versions": found, "missing": missing})


@register(
    "c.card_design_documents",
    condition="c",
    title=gettext_lazy("The card-face design and the card file structure are on file"),
)
def card_design_documents(area: Any) -> CheckResult:
    return _documents_on_file(area, ("card_face", "file_structure"))


@register(
    "d.local_rules",
    condition="d",
    title=gettext_lazy("The area's card management rules are on file"),
)
def local_rules(area: Any) -> CheckResult:
    return _documents_on_file(area, ("local_rules",))


def internal_control_settings() -> list[str]:
    """The on/off area settings of separation of duties, by their key."""
    from shebao.registry.area_settings import CATALOGUE

    return sorted(
        key for key, spec in CATALOGUE.items() if spec.kind is bool and "separation" in key
    )


@register(
    "d.internal_control",
    condition="d",
    title=gettext_lazy("Internal control: separation of duties is switched on"),
)
def internal_control_on(area: Any) -> CheckResult:
    """A card application is always approved by a second officer (enforced in
    cards.services.card_approve, no setting); the separation rules that an area
    can switch off must be on."""
    keys = internal_control_settings()
    values = {key: bool(_area_setting(area, key)) for key in keys}
    off = [key for key, on in values.items() if not on]
    if off:
        detail = str(gettext_lazy("Switched off: %(keys)s.")) % {"keys": ", ".join(off)}
    else:
        detail = str(
            gettext_lazy(
                "Second-officer approval of card applications is always enforced; "
                "separation settings on: %(keys)s."
            )
        ) % {"keys": ", ".join(keys) or "—"}
    return CheckResult(not off, detail, {"settings": values})


@register(
    "d.drill",
    condition="d",
    title=gettext_lazy("An emergency drill was done and passed recently"),
)
def drill_recent(area: Any) -> CheckResult:
    from django.utils import timezone

    from shebao.approval.models import DrillOutcome, DrillRecord
    from shebao.core.dates import add_months

    months = int(_area_setting(area, "approval_drill_max_age_months"))
    since = add_months(timezone.localdate(), -months)
    latest = (
        DrillRecord.objects.filter(area_id=area.code, outcome=DrillOutcome.PASSED)
        .order_by("-done_at", "-pk")
        .first()
    )
    if latest is None or timezone.localdate(latest.done_at) < since:
        last = timezone.localdate(latest.done_at).isoformat() if latest else "—"
        return CheckResult(
            False,
            str(gettext_lazy("No passed drill since %(since)s (last: %(last)s)."))
            % {
                "since": since.isoformat(),
                "last": last,
            },
            {"since": since.isoformat(), "max_age_months": months},
        )
    return CheckResult(
        True,
        f"{latest.get_kind_display()} {timezone.localdate(latest.done_at).isoformat()}",
        {"drill": latest.pk, "since": since.isoformat(), "max_age_months": months},
    )
