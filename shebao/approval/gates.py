"""What approval decides about card production (DOMAIN.md §2).

`cards.production.batch_create` asks here after its own check that the
area is approved:
- a card face or file structure changed after approval and no re-approval
  has been approved since (an open `ReapprovalHold`): production is refused;
- the batch names a vendor the area never filed: refused, with the advice to
  file it first. The filed vendors are the vendor of the area's approved
  initial or re-approval applications and of its filings (submitted or
  acknowledged: a filing never waits for the ministry). Areas approved
  before this workflow existed, with no approved initial application on
  file, are not held to this rule.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shebao.approval.models import (
    CHECKED_KINDS,
    ApplicationKind,
    ApplicationStatus,
    AreaApplication,
    ReapprovalHold,
)
from shebao.core.errors import Conflict
from shebao.registry.models import Area


def vendor_key(vendor: str) -> str:
    """Vendor names compare without case and with single spaces."""
    return " ".join((vendor or "").split()).casefold()


def open_holds(area_code: str) -> list[ReapprovalHold]:
    return list(
        ReapprovalHold.objects.filter(area_id=area_code, lifted_at__isnull=True)
        .select_related("document")
        .order_by("raised_at", "pk")
    )


def filed_vendor_names(area_code: str) -> dict[str, str]:
    """The vendors the area may produce with: {key: name as first written}."""
    approved = Q(kind__in=CHECKED_KINDS, status=ApplicationStatus.APPROVED)
    filed = Q(
        kind=ApplicationKind.FILING,
        status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED],
    )
    names: dict[str, str] = {}
    for vendor in (
        AreaApplication.objects.filter(approved | filed, area_id=area_code)
        .exclude(vendor="")
        .order_by("pk")
        .values_list("vendor", flat=True)
    ):
        names.setdefault(vendor_key(vendor), " ".join(vendor.split()))
    return names


def vendor_rule_applies(area_code: str) -> bool:
    return AreaApplication.objects.filter(
        area_id=area_code, kind=ApplicationKind.INITIAL, status=ApplicationStatus.APPROVED
    ).exists()


def production_gate(*, area: Area, vendor: str) -> None:
    """Raise Conflict when approval forbids producing cards for the area with this vendor."""
    holds = open_holds(area.code)
    if holds:
        raise Conflict(
            _(
                "%(area)s changed its %(changes)s after approval: no card can be produced "
                "until the ministry approves a re-approval application."
            ),
            code="reapproval_required",
            params={
                "area": area.name,
                "changes": ", ".join(
                    sorted({str(hold.document.get_kind_display()) for hold in holds})
                ),
            },
        )
    key = vendor_key(vendor)
    if key and vendor_rule_applies(area.code) and key not in filed_vendor_names(area.code):
        raise Conflict(
            _(
                "The vendor “%(vendor)s” was never filed for %(area)s. File it with the "
                "ministry first (an application of kind filing), then create the batch."
            ),
            code="vendor_not_filed",
            field="vendor",
            params={"vendor": vendor, "area": area.name},
        )
