"""Writes of the approval workflow. Each checks the actor's right, validates,
writes and appends the audit event in the same transaction.

An application moves by one table, `TRANSITIONS` (state, operation) → state:

    draft      submit    → submitted
    draft      withdraw  → withdrawn
    submitted  withdraw  → withdrawn
    submitted  approve   → approved   (a filing: acknowledged)
    submitted  reject    → rejected

A rejected or withdrawn application stays as it is; the area starts a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.approval.checks import CHECKS, run_checks
from shebao.approval.models import (
    CHECKED_KINDS,
    OPEN_STATUSES,
    REAPPROVAL_DOCUMENTS,
    ApplicationDocument,
    ApplicationKind,
    ApplicationStatus,
    AreaApplication,
    ConditionItem,
    DocumentKind,
    DrillKind,
    DrillOutcome,
    DrillRecord,
    ExtraCondition,
    ItemSource,
    ItemStatus,
    ReapprovalHold,
)
from shebao.audit.services import audit_record, snapshot
from shebao.core.errors import Conflict, InvalidInput
from shebao.core.text import required_text
from shebao.registry.models import Area, AreaStatus
from shebao.registry.services import area_approve

S = ApplicationStatus
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.DRAFT, "withdraw"): S.WITHDRAWN,
    (S.SUBMITTED, "withdraw"): S.WITHDRAWN,
    (S.SUBMITTED, "approve"): S.APPROVED,
    (S.SUBMITTED, "reject"): S.REJECTED,
}

# Conditions whose substance (people, equipment, plans) this app does not hold:
# the area evidences them by hand unless another app registers checks for them.
MANUAL_ITEMS: dict[str, str] = {
    "b": gettext_noop("Technical staff and equipment able to support card management"),
    "c": gettext_noop(
        "Implementation plans: application design, cost, information collection, distribution"
    ),
}

MAX_NOTE = 2000


# --- helpers -------------------------------------------------------------------------


def _application_snapshot(application: AreaApplication) -> dict[str, Any]:
    return snapshot(
        application,
        [
            "area_id",
            "kind",
            "status",
            "vendor",
            "added_volume",
            "submitted_by_id",
            "decided_by_id",
            "reasons",
            "override_reason",
            "issuer_id",
        ],
    )


def _lock(application: AreaApplication) -> AreaApplication:
    return AreaApplication.objects.select_for_update().get(pk=application.pk)


def _next_status(application: AreaApplication, operation: str) -> str:
    try:
        return TRANSITIONS[(application.status, operation)]
    except KeyError:
        raise Conflict(
            _("An application that is %(status)s cannot be %(operation)s."),
            code="application_state",
            params={
                "status": application.get_status_display(),
                "operation": {
                    "submit": _("submitted"),
                    "withdraw": _("withdrawn"),
                    "approve": _("approved"),
                    "reject": _("rejected"),
                }[operation],
            },
        ) from None


def _text(value: Any, field: str, max_length: int) -> str:
    text = str(value or "").strip()
    if len(text) > max_length:
        raise InvalidInput(
            _("At most %(max)d characters are allowed, got %(length)d."),
            code="too_long",
            field=field,
            params={"max": max_length, "length": len(text)},
        )
    return text


def _choice(value: Any, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            _("%(value)s is not one of %(choices)s."),
            code="invalid_choice",
            field=field,
            params={"value": value, "choices": ", ".join(choices.values)},
        )
    return str(value)


def _source_text(title: Any) -> str:
    """The untranslated text of a (lazy) title, as stored on an item."""
    with translation.override(None):
        return str(title)[:200]


def extra_conditions_of(area_code: str) -> list[ExtraCondition]:
    """The ministry's active extra conditions that apply to the area."""
    rows = ExtraCondition.objects.filter(active=True).prefetch_related("areas")
    return [
        row
        for row in rows.order_by("pk")
        if row.all_areas or any(area.code == area_code for area in row.areas.all())
    ]


def expected_items(area_code: str) -> list[dict[str, Any]]:
    """The checklist an application of this area has today, item by item."""
    items: list[dict[str, Any]] = [
        {
            "code": check.code,
            "condition": check.condition,
            "title": _source_text(check.title),
            "source": ItemSource.CHECK,
        }
        for check in sorted(CHECKS.values(), key=lambda check: check.code)
    ]
    covered_elsewhere = {
        check.condition
        for check in CHECKS.values()
        if check.function.__module__ != "shebao.approval.checks"
    }
    items += [
        {
            "code": f"{letter}.evidence",
            "condition": letter,
            "title": title,
            "source": ItemSource.MANUAL,
        }
        for letter, title in MANUAL_ITEMS.items()
        if letter not in covered_elsewhere
    ]
    items += [
        {
            "code": extra.item_code,
            "condition": "e",
            "title": extra.title,
            "source": ItemSource.EXTRA,
            "extra_condition": extra,
        }
        for extra in extra_conditions_of(area_code)
    ]
    return items


def _sync_items(application: AreaApplication) -> None:
    """Add the items the checklist lacks; drop items of extra conditions withdrawn
    since, while nobody evidenced them yet."""
    if application.kind not in CHECKED_KINDS:
        return
    expected = expected_items(application.area_id)
    present = set(application.items.values_list("code", flat=True))
    ConditionItem.objects.bulk_create(
        [
            ConditionItem(application=application, **item)
            for item in expected
            if item["code"] not in present
        ]
    )
    extra_codes = {item["code"] for item in expected if item["source"] == ItemSource.EXTRA}
    application.items.filter(source=ItemSource.EXTRA, status=ItemStatus.NOT_CHECKED).exclude(
        code__in=extra_codes
    ).delete()


def _record_checks(application: AreaApplication, actor: User) -> dict[str, int]:
    """Run the live checks and record each result on its item; the tally by status."""
    results = run_checks(application.area)
    now = timezone.now()
    for item in application.items.filter(source=ItemSource.CHECK):
        result = results.get(item.code)
        if result is None:
            item.status, item.evidence, item.evidence_data = ItemStatus.NOT_CHECKED, "", {}
        else:
            item.status = ItemStatus.MET if result.ok else ItemStatus.NOT_MET
            item.evidence = result.detail
            item.evidence_data = result.evidence
        item.checked_by, item.checked_at = actor, now
        item.save(update_fields=["status", "evidence", "evidence_data", "checked_by", "checked_at"])
    tally = {status: 0 for status in ItemStatus.values}
    for status in application.items.values_list("status", flat=True):
        tally[status] += 1
    return tally


# --- applications -------------------------------------------------------------------------


@transaction.atomic
def application_create(
    *,
    actor: User,
    area: Area,
    kind: str,
    vendor: str = "",
    added_volume: int | None = None,
    note: str = "",
) -> AreaApplication:
    """Start an application: initial approval, re-approval or a filing."""
    require(actor, "approval.apply", area_code=area.code)
    kind = _choice(kind, ApplicationKind, "kind")
    area = Area.objects.select_for_update().get(pk=area.pk)
    vendor = _text(vendor, "vendor", 100)
    note = _text(note, "note", MAX_NOTE)
    approved = area.status == AreaStatus.APPROVED
    if kind == ApplicationKind.INITIAL and approved:
        raise Conflict(
            _(
                "%(area)s is approved already (issuer ID %(issuer_id)s); after a change of the "
                "card face or file structure apply for re-approval, for a new vendor or more "
                "cards make a filing."
            ),
            code="area_already_approved",
            field="kind",
            params={"area": area.name, "issuer_id": area.issuer_id},
        )
    if kind != ApplicationKind.INITIAL and not approved:
        raise Conflict(
            _("%(area)s is not approved yet: apply for initial approval first."),
            code="area_not_approved",
            field="kind",
            params={"area": area.name},
        )
    if added_volume is not None and (isinstance(added_volume, bool) or added_volume < 1):
        raise InvalidInput(
            _("The added volume is a number of cards: a whole number from 1."),
            code="added_volume",
            field="added_volume",
        )
    if kind == ApplicationKind.FILING and not vendor and added_volume is None:
        raise InvalidInput(
            _("A filing names the new vendor or product, or the added volume of cards."),
            code="filing_empty",
            field="vendor",
        )
    if (
        kind in CHECKED_KINDS
        and AreaApplication.objects.filter(
            area=area, kind__in=CHECKED_KINDS, status__in=OPEN_STATUSES
        ).exists()
    ):
        raise Conflict(
            _(
                "%(area)s has an approval application in progress already; finish or withdraw "
                "it first."
            ),
            code="application_open",
            params={"area": area.name},
        )
    application = AreaApplication.objects.create(
        area=area,
        kind=kind,
        vendor=vendor,
        added_volume=added_volume if kind == ApplicationKind.FILING else None,
        note=note,
        created_by=actor,
    )
    _sync_items(application)
    audit_record(
        actor=actor,
        action="approval.application.create",
        subject=application,
        area_code=area.code,
        after=_application_snapshot(application),
    )
    return application


def _clean_name(name: str) -> str:
    base = Path(str(name or "").replace("\\", "/")).name
    return required_text(base, "file", max_length=200)


def _store(area_code: str, data: bytes, sha256: str) -> str:
    """Keep the bytes under APPROVAL_DOCUMENTS_DIR/<area>/<sha256>; the same bytes
    are stored once, and a stored file is never written again."""
    relative = f"{area_code}/{sha256}"
    path = Path(settings.APPROVAL_DOCUMENTS_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("xb") as stream:
            stream.write(data)
    except FileExistsError:
        pass
    return relative


def document_path(document: ApplicationDocument) -> Path:
    return Path(settings.APPROVAL_DOCUMENTS_DIR) / document.path


@transaction.atomic
def document_upload(
    *,
    actor: User,
    application: AreaApplication,
    kind: str,
    name: str,
    data: bytes,
    content_type: str = "",
) -> ApplicationDocument:
    """Attach a file to a draft application as the next version of its kind.

    A new card face or file structure of an area already approved puts the area
    on hold until a re-approval is approved (DOMAIN.md §2).
    """
    require(actor, "approval.apply", area_code=application.area_id)
    kind = _choice(kind, DocumentKind, "kind")
    name = _clean_name(name)
    area = Area.objects.select_for_update().get(pk=application.area_id)
    application = _lock(application)
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict(
            _("Documents are added while the application is a draft; this one is %(status)s."),
            code="application_not_draft",
            params={"status": application.get_status_display()},
        )
    if kind in REAPPROVAL_DOCUMENTS and application.kind == ApplicationKind.FILING:
        raise InvalidInput(
            _("A new card face or file structure needs re-approval, not a filing."),
            code="needs_reapproval",
            field="kind",
        )
    if not data:
        raise InvalidInput(_("The file is empty."), code="file_empty", field="file")
    if len(data) > settings.APPROVAL_DOCUMENT_MAX_BYTES:
        raise InvalidInput(
            _("The file has %(size)d bytes; at most %(max)d are accepted."),
            code="file_too_large",
            field="file",
            params={"size": len(data), "max": settings.APPROVAL_DOCUMENT_MAX_BYTES},
        )
    sha256 = hashlib.sha256(data).hexdigest()
    latest = ApplicationDocument.objects.filter(area=area, kind=kind).order_by("-version").first()
    document = ApplicationDocument.objects.create(
        area=area,
        application=application,
        kind=kind,
        version=(latest.version if latest else 0) + 1,
        name=name,
        content_type=_text(content_type, "content_type", 100),
        size=len(data),
        sha256=sha256,
        path=_store(area.code, data, sha256),
        uploaded_by=actor,
    )
    audit_record(
        actor=actor,
        action="approval.document.upload",
        subject=document,
        area_code=area.code,
        after=snapshot(
            document, ["application_id", "kind", "version", "name", "size", "sha256", "path"]
        ),
    )
    if kind in REAPPROVAL_DOCUMENTS and area.status == AreaStatus.APPROVED:
        hold = ReapprovalHold.objects.create(area=area, document=document, raised_by=actor)
        audit_record(
            actor=actor,
            action="approval.hold.raise",
            subject=hold,
            area_code=area.code,
            after={"document": document.pk, "kind": kind, "version": document.version},
        )
    return document


def _area_change(
    *, actor: User, area: Area, kind: str, name: str, data: bytes, content_type: str
) -> ApplicationDocument:
    require(actor, "approval.apply", area_code=area.code)
    area = Area.objects.select_for_update().get(pk=area.pk)
    if area.status != AreaStatus.APPROVED:
        raise Conflict(
            _(
                "%(area)s is not approved yet: add the document to its application for "
                "approval instead."
            ),
            code="area_not_approved",
            params={"area": area.name},
        )
    open_application = AreaApplication.objects.filter(
        area=area, kind__in=CHECKED_KINDS, status__in=OPEN_STATUSES
    ).first()
    if open_application is not None and open_application.status != ApplicationStatus.DRAFT:
        raise Conflict(
            _(
                "A re-approval application of %(area)s is with the ministry; withdraw it to "
                "change the documents again."
            ),
            code="application_submitted",
            params={"area": area.name},
        )
    application = open_application or application_create(
        actor=actor, area=area, kind=ApplicationKind.REAPPROVAL
    )
    return document_upload(
        actor=actor,
        application=application,
        kind=kind,
        name=name,
        data=data,
        content_type=content_type,
    )


@transaction.atomic
def area_change_card_face(
    *, actor: User, area: Area, name: str, data: bytes, content_type: str = ""
) -> ApplicationDocument:
    """A new card-face design for an approved area: it goes onto the area's draft
    re-approval application (started if there is none), and card production waits
    until the ministry approves it."""
    return _area_change(
        actor=actor,
        area=area,
        kind=DocumentKind.CARD_FACE,
        name=name,
        data=data,
        content_type=content_type,
    )


@transaction.atomic
def area_change_file_structure(
    *, actor: User, area: Area, name: str, data: bytes, content_type: str = ""
) -> ApplicationDocument:
    """A new card file structure for an approved area; as `area_change_card_face`."""
    return _area_change(
        actor=actor,
        area=area,
        kind=DocumentKind.FILE_STRUCTURE,
        name=name,
        data=data,
        content_type=content_type,
    )


@transaction.atomic
def item_record(
    *,
    actor: User,
    item: ConditionItem,
    status: str,
    evidence: str,
    document: ApplicationDocument | None = None,
) -> ConditionItem:
    """The area's evidence for an item the system cannot check itself."""
    application = _lock(item.application)
    require(actor, "approval.apply", area_code=application.area_id)
    if application.status != ApplicationStatus.DRAFT:
        raise Conflict(
            _("Evidence is recorded while the application is a draft; this one is %(status)s."),
            code="application_not_draft",
            params={"status": application.get_status_display()},
        )
    if item.source == ItemSource.CHECK:
        raise Conflict(
            _("The system checks this item itself; its result cannot be entered."),
            code="item_checked_by_system",
        )
    if status not in (ItemStatus.MET, ItemStatus.NOT_MET):
        raise InvalidInput(_("An item is met or not met."), code="invalid_choice", field="status")
    evidence = _text(evidence, "evidence", MAX_NOTE)
    if status == ItemStatus.MET and not evidence:
        raise InvalidInput(
            _("Say what shows that the condition is met."), code="required", field="evidence"
        )
    if document is not None and document.area_id != application.area_id:
        raise InvalidInput(
            _("The document belongs to another area."), code="document_area", field="document"
        )
    before = snapshot(item, ["status", "evidence", "document_id"])
    item.status, item.evidence, item.document = status, evidence, document
    item.checked_by, item.checked_at = actor, timezone.now()
    item.save(update_fields=["status", "evidence", "document", "checked_by", "checked_at"])
    audit_record(
        actor=actor,
        action="approval.item.record",
        subject=item,
        area_code=application.area_id,
        before=before,
        after=snapshot(item, ["code", "status", "evidence", "document_id"]),
    )
    return item


@transaction.atomic
def application_submit(*, actor: User, application: AreaApplication) -> AreaApplication:
    """Send the application to the ministry; the live checks are recorded on it."""
    require(actor, "approval.apply", area_code=application.area_id)
    application = _lock(application)
    status = _next_status(application, "submit")
    documents = set(application.documents.values_list("kind", flat=True))
    if application.kind == ApplicationKind.INITIAL and (
        DocumentKind.PREPARATION_REPORT not in documents
    ):
        raise Conflict(
            _("Attach the preparation report before submitting."),
            code="preparation_report_missing",
            field="kind",
        )
    if application.kind == ApplicationKind.REAPPROVAL and not documents:
        raise Conflict(
            _("Attach the changed card face or file structure before submitting."),
            code="documents_missing",
            field="kind",
        )
    before = _application_snapshot(application)
    _sync_items(application)
    tally = _record_checks(application, actor) if application.kind in CHECKED_KINDS else {}
    application.status = status
    application.submitted_by, application.submitted_at = actor, timezone.now()
    application.save(update_fields=["status", "submitted_by", "submitted_at"])
    audit_record(
        actor=actor,
        action="approval.application.submit",
        subject=application,
        area_code=application.area_id,
        before=before,
        after={**_application_snapshot(application), "items": tally},
    )
    return application


@transaction.atomic
def application_withdraw(*, actor: User, application: AreaApplication) -> AreaApplication:
    """The area takes its application back. A change of card face or file structure
    it carried is abandoned with it: the holds it raised are lifted, and the
    design approved before stays in force."""
    require(actor, "approval.apply", area_code=application.area_id)
    application = _lock(application)
    before = _application_snapshot(application)
    application.status = _next_status(application, "withdraw")
    application.save(update_fields=["status"])
    lifted = ReapprovalHold.objects.filter(
        area_id=application.area_id, lifted_at__isnull=True, document__application=application
    ).update(lifted_at=timezone.now(), lifted_by_application=application)
    audit_record(
        actor=actor,
        action="approval.application.withdraw",
        subject=application,
        area_code=application.area_id,
        before=before,
        after={**_application_snapshot(application), "holds_lifted": lifted},
    )
    return application


@transaction.atomic
def application_approve(
    *,
    actor: User,
    application: AreaApplication,
    issuer_id: str = "",
    reasons: str = "",
    override_reason: str = "",
) -> AreaApplication:
    """The ministry approves (initial approval or re-approval).

    The live checks are run and recorded again now; approval is refused while
    any item is not met, unless `override_reason` says why the ministry
    approves all the same (it is in the audit event). Initial approval assigns
    the issuer ID (registry.services.area_approve); re-approval lifts the
    area's holds on production.
    """
    require(actor, "approval.decide")
    application = _lock(application)
    if application.kind not in CHECKED_KINDS:
        raise Conflict(_("A filing is acknowledged, not approved."), code="filing_not_approved")
    status = _next_status(application, "approve")
    reasons = _text(reasons, "reasons", MAX_NOTE)
    override_reason = _text(override_reason, "override_reason", MAX_NOTE)
    before = _application_snapshot(application)
    _sync_items(application)
    tally = _record_checks(application, actor)
    unmet = list(
        application.items.exclude(status=ItemStatus.MET)
        .order_by("condition", "code")
        .values_list("code", flat=True)
    )
    if unmet and not override_reason:
        raise Conflict(
            _(
                "%(count)d checklist items are not met (%(codes)s). Approve only when all are "
                "met, or give the reason the ministry approves all the same."
            ),
            code="conditions_not_met",
            field="override_reason",
            params={"count": len(unmet), "codes": ", ".join(unmet)},
            detail={"unmet": unmet},
        )
    area = application.area
    now = timezone.now()
    if application.kind == ApplicationKind.INITIAL:
        area = area_approve(actor=actor, area=area, issuer_id=issuer_id)
    else:
        lifted = ReapprovalHold.objects.filter(area=area, lifted_at__isnull=True).update(
            lifted_at=now, lifted_by_application=application
        )
        tally["holds_lifted"] = lifted
    application.status = status
    application.decided_by, application.decided_at = actor, now
    application.reasons = reasons
    application.override_reason = override_reason if unmet else ""
    application.issuer_id = area.issuer_id or ""
    application.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "reasons",
            "override_reason",
            "issuer_id",
        ]
    )
    audit_record(
        actor=actor,
        action="approval.application.approve",
        subject=application,
        area_code=application.area_id,
        before=before,
        after={**_application_snapshot(application), "items": tally, "unmet": unmet},
    )
    return application


@transaction.atomic
def application_reject(
    *, actor: User, application: AreaApplication, reasons: str
) -> AreaApplication:
    """The ministry refuses, saying why; the area may apply again."""
    require(actor, "approval.decide")
    reasons = required_text(reasons, "reasons", max_length=MAX_NOTE)
    application = _lock(application)
    before = _application_snapshot(application)
    application.status = _next_status(application, "reject")
    application.decided_by, application.decided_at = actor, timezone.now()
    application.reasons = reasons
    application.save(update_fields=["status", "decided_by", "decided_at", "reasons"])
    audit_record(
        actor=actor,
        action="approval.application.reject",
        subject=application,
        area_code=application.area_id,
        before=before,
        after=_application_snapshot(application),
    )
    return application


@transaction.atomic
def filing_acknowledge(
    *, actor: User, application: AreaApplication, reasons: str = ""
) -> AreaApplication:
    """The ministry acknowledges a filing (a new vendor or product, added volume)."""
    require(actor, "approval.decide")
    application = _lock(application)
    if application.kind != ApplicationKind.FILING:
        raise Conflict(
            _("Only a filing is acknowledged; an application for approval is approved."),
            code="not_a_filing",
        )
    before = _application_snapshot(application)
    application.status = _next_status(application, "approve")
    application.decided_by, application.decided_at = actor, timezone.now()
    application.reasons = _text(reasons, "reasons", MAX_NOTE)
    application.save(update_fields=["status", "decided_by", "decided_at", "reasons"])
    audit_record(
        actor=actor,
        action="approval.filing.acknowledge",
        subject=application,
        area_code=application.area_id,
        before=before,
        after=_application_snapshot(application),
    )
    return application


# --- extra conditions (e) -------------------------------------------------------------


def _open_applications(condition: ExtraCondition) -> list[AreaApplication]:
    rows = AreaApplication.objects.filter(kind__in=CHECKED_KINDS, status__in=OPEN_STATUSES)
    if not condition.all_areas:
        rows = rows.filter(area__in=condition.areas.all())
    return list(rows)


@transaction.atomic
def extra_condition_create(
    *,
    actor: User,
    title: str,
    description: str = "",
    area_codes: list[str] | None = None,
) -> ExtraCondition:
    """A condition (e) of the ministry's: for every area (`area_codes` None or
    empty) or for those listed. It joins every open application's checklist."""
    require(actor, "approval.decide")
    title = required_text(title, "title", max_length=200)
    description = _text(description, "description", MAX_NOTE)
    codes = sorted({code.strip() for code in area_codes or [] if code.strip()})
    areas = list(Area.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {area.code for area in areas})
    if unknown:
        raise InvalidInput(
            _("No issuing area has the code %(codes)s."),
            code="area_unknown",
            field="areas",
            params={"codes": ", ".join(unknown)},
        )
    condition = ExtraCondition.objects.create(
        title=title, description=description, all_areas=not codes, created_by=actor
    )
    condition.areas.set(areas)
    for application in _open_applications(condition):
        _sync_items(application)
    audit_record(
        actor=actor,
        action="approval.extra_condition.create",
        subject=condition,
        area_code=None,
        after={
            **snapshot(condition, ["title", "description", "all_areas", "active"]),
            "areas": codes,
        },
    )
    return condition


@transaction.atomic
def extra_condition_set_active(
    *, actor: User, condition: ExtraCondition, active: bool
) -> ExtraCondition:
    """Switch a condition on or off; open checklists follow (items already
    evidenced stay)."""
    require(actor, "approval.decide")
    condition = ExtraCondition.objects.select_for_update().get(pk=condition.pk)
    if condition.active == bool(active):
        return condition
    before = snapshot(condition, ["active"])
    condition.active = bool(active)
    condition.save(update_fields=["active"])
    for application in _open_applications(condition):
        _sync_items(application)
    audit_record(
        actor=actor,
        action="approval.extra_condition.activate"
        if active
        else "approval.extra_condition.deactivate",
        subject=condition,
        area_code=None,
        before=before,
        after=snapshot(condition, ["active"]),
    )
    return condition


# --- emergency drills (d) --------------------------------------------------------------


@transaction.atomic
def drill_record(
    *,
    actor: User,
    area: Area,
    kind: str,
    done_at: dt.datetime,
    outcome: str,
    evidence: str,
) -> DrillRecord:
    """Record an emergency drill of the area (docs/emergency.md) and its outcome."""
    require(actor, "drill.record", area_code=area.code)
    kind = _choice(kind, DrillKind, "kind")
    outcome = _choice(outcome, DrillOutcome, "outcome")
    evidence = required_text(evidence, "evidence", max_length=MAX_NOTE)
    if timezone.is_naive(done_at):
        done_at = timezone.make_aware(done_at)
    if done_at > timezone.now():
        raise InvalidInput(
            _("The date %(date)s is in the future."),
            code="date_in_future",
            field="done_at",
            params={"date": done_at.isoformat()},
        )
    drill = DrillRecord.objects.create(
        area=area, kind=kind, done_at=done_at, by=actor, outcome=outcome, evidence=evidence
    )
    audit_record(
        actor=actor,
        action="approval.drill.record",
        subject=drill,
        area_code=area.code,
        after=snapshot(drill, ["kind", "done_at", "by_id", "outcome", "evidence"]),
    )
    return drill
