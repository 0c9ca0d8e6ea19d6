"""Complaint services: filing, recording, and each step of handling a case.

Every write locks the case, asks `lifecycle.next_status` what the operation
leads to, appends a `ComplaintEvent` and an audit event, all in one
transaction. Two officers acting on one case at once: the second waits for
the lock, then finds the case changed and is refused by the table.

Who may act (internal control):
- the person files online about an employer of their own employments (a
  complaint of kind "other" may name any employer of their area, or none);
- staff who record complaints take down one received by phone, letter or at
  the counter, for a registered person, a named outsider or anonymously;
- staff of the *handling area* who handle complaints accept, investigate,
  resolve, reject, transfer and comment; once a case is assigned, only its
  assignee or the area administrator acts on it;
- the area administrator assigns cases to the area's handlers;
- the complainant may add a comment to their own open case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, can, require
from shebao.audit.services import audit_record, snapshot
from shebao.complaints.lifecycle import NEW, Op, next_status
from shebao.complaints.models import (
    CLOSED_STATUSES,
    EMPLOYER_KINDS,
    Complaint,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintKind,
)
from shebao.complaints.selectors import Flag, supervision_for
from shebao.core.errors import Forbidden, InvalidInput
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Area, Employer, Employment, Person
from shebao.registry.selectors import area_setting

REFERENCE_DIGITS = 6
MAX_TEXT = 4000
MAX_NOTE = 2000
STAFF_CHANNELS = (ComplaintChannel.COUNTER, ComplaintChannel.PHONE, ComplaintChannel.LETTER)
# What the audit keeps of a case at each step.
COMPLAINT_FIELDS = [
    "reference",
    "status",
    "kind",
    "person_id",
    "employer_id",
    "assignee_id",
    "deadline",
    "outcome",
    "transferred_from_id",
    "closed_at",
]


# --- shared steps -------------------------------------------------------------------


def _text(value: Any, *, field: str, required: Any, maximum: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(required, code=f"{field}_required", field=field)
    if len(text) > maximum:
        raise InvalidInput(
            _("Write at most %(max)s characters."),
            code=f"{field}_too_long",
            field=field,
            params={"max": maximum},
        )
    return text


def _kind(value: str) -> str:
    if value not in ComplaintKind.values:
        raise InvalidInput(
            _("Choose the kind of complaint: %(kinds)s."),
            code="kind",
            field="kind",
            params={"kinds": ", ".join(ComplaintKind.values)},
        )
    return value


def _month(value: dt.date) -> dt.date:
    return value.replace(day=1)


def _next_reference(area_code: str, now: dt.datetime) -> str:
    """The next reference of the area's year; call with the area row locked."""
    prefix = f"{area_code}-{timezone.localdate(now):%Y}-"
    last = (
        Complaint.objects.filter(area_id=area_code, reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:0{REFERENCE_DIGITS}d}"


def complaint_deadline(area_code: str, received_on: dt.date) -> dt.date:
    """The day a case received on `received_on` is to be handled by (area setting)."""
    days = area_setting(area_code, "complaint_handling_days", received_on)
    return received_on + dt.timedelta(days=days)


def _event(
    *,
    complaint: Complaint,
    actor: User,
    operation: str,
    from_status: str,
    to_status: str,
    at: dt.datetime,
    note: str = "",
    document: str = "",
) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        area_id=complaint.area_id,
        complaint=complaint,
        at=at,
        actor=actor,
        operation=operation,
        from_status=from_status,
        to_status=to_status,
        note=note,
        document=document,
    )


def _create(
    *,
    actor: User,
    area_code: str,
    operation: str,
    channel: str,
    note: str = "",
    **fields: Any,
) -> Complaint:
    status = next_status(NEW, operation)
    now = timezone.now()
    # One reference sequence per area and year: cases of an area are numbered
    # with its row locked, so two at once never draw the same number. NO KEY:
    # rows that merely refer to the area are not held up.
    Area.objects.select_for_update(no_key=True).filter(code=area_code).first()
    complaint = Complaint.objects.create(
        area_id=area_code,
        reference=_next_reference(area_code, now),
        status=status,
        channel=channel,
        deadline=complaint_deadline(area_code, timezone.localdate(now)),
        filed_by=actor,
        created_at=now,
        **fields,
    )
    _event(
        complaint=complaint,
        actor=actor,
        operation=operation,
        from_status=NEW,
        to_status=status,
        at=now,
        note=note,
    )
    audit_record(
        actor=actor,
        action=f"complaint.{operation}",
        subject=complaint,
        area_code=area_code,
        after={**snapshot(complaint, COMPLAINT_FIELDS), "channel": channel},
    )
    return complaint


def _evidence(
    actor: User, person: Person, employer: Employer, months: Iterable[dt.date], on: dt.date | None
) -> list[dict[str, Any]]:
    """The chosen months as the person's record flags them, for this employer.

    Taken from the record, never from what the complainant typed: a month the
    record does not flag for the employer is refused, naming it.
    """
    wanted = sorted({_month(month) for month in months})
    if not wanted:
        return []
    record = supervision_for(actor, person, on=on, since=wanted[0], until=wanted[-1])
    flagged = {m.period: m for m in record.flagged_of(employer.pk)}
    missing = [month for month in wanted if month not in flagged]
    if missing:
        raise InvalidInput(
            _("Your record flags nothing for %(employer)s in %(months)s."),
            code="month_not_flagged",
            field="months",
            params={
                "employer": employer.name,
                "months": ", ".join(f"{m:%Y-%m}" for m in missing),
            },
        )
    return [flagged[month].as_evidence() for month in reversed(wanted)]


def _lock(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _require_handler(actor: User, complaint: Complaint) -> None:
    """A handler of the case's own area; once assigned, the assignee or the administrator."""
    require(actor, "complaint.handle", area_code=complaint.area_id)
    if (
        complaint.assignee_id is not None
        and complaint.assignee_id != actor.pk
        and actor.role != Role.AREA_ADMIN
    ):
        raise Forbidden(
            _(
                "This case is assigned to %(assignee)s; only the assignee or the area "
                "administrator acts on it."
            ),
            code="not_assignee",
            params={"assignee": str(complaint.assignee)},
        )


def _step(
    *,
    actor: User,
    complaint: Complaint,
    operation: str,
    note: str = "",
    document: str = "",
    change: dict[str, Any] | None = None,
    locked: Complaint | None = None,
    audited: dict[str, Any] | None = None,
) -> Complaint:
    """Apply one operation of the table to a locked case: new status, the
    changed fields, the event and the audit record."""
    locked = locked or _lock(complaint)
    before = snapshot(locked, COMPLAINT_FIELDS)
    new = next_status(locked.status, operation)
    now = timezone.now()
    from_status = locked.status
    for name, value in (change or {}).items():
        setattr(locked, name, value)
    locked.status = new
    if new in CLOSED_STATUSES and locked.closed_at is None:
        locked.closed_at = now
    locked.save()
    _event(
        complaint=locked,
        actor=actor,
        operation=operation,
        from_status=from_status,
        to_status=new,
        at=now,
        note=note,
        document=document,
    )
    audit_record(
        actor=actor,
        action=f"complaint.{operation}",
        subject=locked,
        area_code=locked.area_id,
        before=before,
        after={
            **snapshot(locked, COMPLAINT_FIELDS),
            **({"note": note} if note else {}),
            **(audited or {}),
        },
    )
    return locked


# --- filing ---------------------------------------------------------------------------


@transaction.atomic
def complaint_file(
    *,
    actor: User,
    kind: str,
    text: str,
    employer: Employer | None = None,
    months: Iterable[dt.date] = (),
    on: dt.date | None = None,
) -> Complaint:
    """The person files a complaint online about an employer of their own
    employments (any of their area's employers, or none, for kind "other").

    `months` are the flagged months of the supervision table the complaint is
    about; their figures are copied from the record into `evidence` (as of
    `on`, default today).
    """
    require(actor, "complaint.file", area_code=actor.area_id)
    person = Person.objects.get(pk=actor.person_id or 0)
    kind = _kind(kind)
    text = _text(text, field="text", required=_("Say what happened."))
    months = list(months)
    if employer is None and (kind in EMPLOYER_KINDS or months):
        raise InvalidInput(
            _("Name the employer the complaint is about."),
            code="employer_required",
            field="employer",
        )
    if employer is not None:
        own = Employment.objects.filter(
            area_id=person.area_id, person=person, employer=employer
        ).exists()
        if kind != ComplaintKind.OTHER and not own:
            raise Forbidden(
                _(
                    "You have no employment with %(employer)s on record. Complain about an "
                    "employer you work or worked for, or choose the kind “other”."
                ),
                code="not_your_employer",
                field="employer",
                params={"employer": employer.name},
            )
        if employer.area_id != person.area_id:
            raise Forbidden(
                _("That employer belongs to another issuing area."), code="employer_area"
            )
    evidence = _evidence(actor, person, employer, months, on) if employer is not None else []
    return _create(
        actor=actor,
        area_code=person.area_id,
        operation=Op.FILE,
        channel=ComplaintChannel.ONLINE,
        person=person,
        employer=employer,
        kind=kind,
        text=text,
        evidence=evidence,
    )


@transaction.atomic
def complaint_record(
    *,
    actor: User,
    kind: str,
    text: str,
    channel: str,
    person: Person | None = None,
    complainant_name: str = "",
    contact: str = "",
    employer: Employer | None = None,
    months: Iterable[dt.date] = (),
    on: dt.date | None = None,
) -> Complaint:
    """Staff record a complaint received by phone, letter or at the counter.

    The complainant is a registered person of the area, or a name and a
    contact, or nobody: an anonymous report is taken like any other (SIL
    art. 82: anyone may report). `months` attach the flagged months of a
    registered person's record, as when the person files.
    """
    require(actor, "complaint.record", area_code=actor.area_id)
    area_code = str(actor.area_id)
    kind = _kind(kind)
    text = _text(text, field="text", required=_("Write down what the complainant said."))
    if channel not in STAFF_CHANNELS:
        raise InvalidInput(
            _("Say how the complaint arrived: %(channels)s."),
            code="channel",
            field="channel",
            params={"channels": ", ".join(STAFF_CHANNELS)},
        )
    for record in (person, employer):
        if record is not None and record.area_id != area_code:
            raise Forbidden(_("This record belongs to another issuing area."))
    if employer is None and kind in EMPLOYER_KINDS:
        raise InvalidInput(
            _("Name the employer the complaint is about."),
            code="employer_required",
            field="employer",
        )
    months = list(months)
    if months and (person is None or employer is None):
        raise InvalidInput(
            _("Months of the record can be attached only for a registered person and employer."),
            code="evidence_needs_person",
            field="months",
        )
    evidence = (
        _evidence(actor, person, employer, months, on)
        if person is not None and employer is not None
        else []
    )
    return _create(
        actor=actor,
        area_code=area_code,
        operation=Op.RECORD,
        channel=channel,
        person=person,
        complainant_name="" if person is not None else str(complainant_name or "").strip()[:100],
        contact=str(contact or "").strip()[:100],
        employer=employer,
        kind=kind,
        text=text,
        evidence=evidence,
    )


# --- handling ---------------------------------------------------------------------------


@transaction.atomic
def complaint_assign(*, actor: User, complaint: Complaint, assignee: User) -> Complaint:
    """The area administrator gives an open case to one of the area's handlers."""
    require(actor, "complaint.assign", area_code=complaint.area_id)
    if not (
        assignee.is_active
        and assignee.area_id == complaint.area_id
        and can(assignee, "complaint.handle")
    ):
        raise InvalidInput(
            _("%(user)s does not handle complaints of this area."),
            code="assignee_not_handler",
            field="assignee",
            params={"user": str(assignee)},
        )
    return _step(
        actor=actor,
        complaint=complaint,
        operation=Op.ASSIGN,
        note=str(assignee),
        change={"assignee": assignee},
    )


@transaction.atomic
def complaint_accept(*, actor: User, complaint: Complaint, note: str = "") -> Complaint:
    """Take the case on: the area has jurisdiction and the complaint is admissible.
    An unassigned case is assigned to whoever accepts it."""
    locked = _lock(complaint)
    _require_handler(actor, locked)
    change = {"assignee": actor} if locked.assignee_id is None else {}
    return _step(
        actor=actor,
        complaint=locked,
        operation=Op.ACCEPT,
        note=str(note or "").strip()[:MAX_NOTE],
        change=change,
        locked=locked,
    )


@transaction.atomic
def complaint_investigate(*, actor: User, complaint: Complaint, note: str = "") -> Complaint:
    """Start the investigation (inspection of the employer's records, hearing it)."""
    locked = _lock(complaint)
    _require_handler(actor, locked)
    return _step(
        actor=actor,
        complaint=locked,
        operation=Op.INVESTIGATE,
        note=str(note or "").strip()[:MAX_NOTE],
        locked=locked,
    )


@transaction.atomic
def complaint_resolve(*, actor: User, complaint: Complaint, outcome: str) -> Complaint:
    """Close the case with its outcome (what was found and done), which the
    complainant reads; whoever disagrees may seek mediation, arbitration or go
    to court (SIL art. 83)."""
    locked = _lock(complaint)
    _require_handler(actor, locked)
    text = _text(outcome, field="outcome", required=_("Write the outcome for the complainant."))
    return _step(
        actor=actor,
        complaint=locked,
        operation=Op.RESOLVE,
        note=text,
        change={"outcome": text},
        locked=locked,
    )


@transaction.atomic
def complaint_reject(*, actor: User, complaint: Complaint, reason: str) -> Complaint:
    """Refuse the case (not admissible, nothing to investigate), with the reason
    the complainant reads."""
    locked = _lock(complaint)
    _require_handler(actor, locked)
    text = _text(reason, field="reason", required=_("Give the complainant the reason."))
    return _step(
        actor=actor,
        complaint=locked,
        operation=Op.REJECT,
        note=text,
        change={"outcome": text},
        locked=locked,
    )


@transaction.atomic
def complaint_comment(*, actor: User, complaint: Complaint, note: str) -> Complaint:
    """A note on an open case: by its handlers, or by the complainant adding
    information."""
    locked = _lock(complaint)
    if actor.role == Role.INDIVIDUAL:
        if not (actor.is_active and locked.person_id and actor.person_id == locked.person_id):
            raise Forbidden(_("You may comment only on your own complaints."))
    else:
        require(actor, "complaint.handle", area_code=locked.area_id)
    text = _text(note, field="note", required=_("Write the comment."), maximum=MAX_NOTE)
    return _step(actor=actor, complaint=locked, operation=Op.COMMENT, note=text, locked=locked)


# --- transfer ---------------------------------------------------------------------------


def _letter(
    *,
    complaint: Complaint,
    continuation: Complaint,
    to_area: Area,
    reason: str,
    actor: User,
    on: dt.date,
) -> str:
    """The transfer letter, in the agency's language whatever the sender's screen shows."""
    with translation.override(settings.LANGUAGE_CODE):
        from_area = Area.objects.get(pk=complaint.area_id)
        person = complaint.person
        if person is not None:
            complainant = f"{person.name} ({mask_identity_number(person.id_number)})"
        else:
            complainant = complaint.complainant_name or _g("anonymous")
        contact = complaint.contact or (person.phone if person is not None else "")
        employer = complaint.employer
        out = [
            _g("Letter transferring a social insurance complaint"),
            "",
            _g("To: the social insurance agency of %(area)s (%(code)s)")
            % {"area": to_area.name, "code": to_area.code},
            _g("From: the social insurance agency of %(area)s (%(code)s)")
            % {"area": from_area.name, "code": from_area.code},
            _g("Date: %(day)s") % {"day": on.isoformat()},
            _g("Our reference: %(reference)s") % {"reference": complaint.reference},
            _g("Your reference: %(reference)s") % {"reference": continuation.reference},
            "",
            _g(
                "Under article 82 of the Social Insurance Law, a body that receives a report or "
                "complaint outside its jurisdiction transfers it in writing to the body that has "
                "jurisdiction. We transfer to you the complaint below and have told the "
                "complainant so."
            ),
            "",
            _g("Complainant: %(name)s") % {"name": complainant},
            _g("Contact: %(contact)s") % {"contact": contact or "-"},
            _g("Employer complained about: %(employer)s")
            % {
                "employer": f"{employer.name} ({employer.credit_code})"
                if employer is not None
                else "-"
            },
            _g("Kind: %(kind)s") % {"kind": ComplaintKind(complaint.kind).label},
            _g("Received: %(day)s (%(channel)s)")
            % {
                "day": timezone.localdate(complaint.created_at).isoformat(),
                "channel": ComplaintChannel(complaint.channel).label,
            },
            "",
            _g("What the complainant states:"),
            complaint.text,
        ]
        if complaint.evidence:
            out += ["", _g("Months flagged on the complainant's record:")]
            for row in complaint.evidence:
                out.append(
                    " | ".join(
                        [
                            str(row.get("period")),
                            str(row.get("employer_name")),
                            _g("declared %(wage)s") % {"wage": row.get("declared_wage") or "-"},
                            _g("billed %(employer)s + %(individual)s")
                            % {
                                "employer": row.get("billed_employer"),
                                "individual": row.get("billed_individual"),
                            },
                            ", ".join(
                                str(Flag(flag).label)
                                for flag in row.get("flags", [])
                                if flag in Flag.values
                            ),
                        ]
                    )
                )
        out += [
            "",
            _g("Reason for the transfer:"),
            reason,
            "",
            _g("Transferred by: %(name)s") % {"name": actor.full_name or actor.username},
        ]
        return "\n".join(out) + "\n"


@transaction.atomic
def complaint_transfer(
    *, actor: User, complaint: Complaint, to_area: Area, reason: str
) -> Complaint:
    """Transfer the case in writing to the area that has jurisdiction (SIL art. 82).

    The original is closed as "transferred", its transfer event holding the
    letter; the receiving area continues the case as a new one — its own
    reference and deadline, the same complainant, employer, text and
    evidence — linked back to the original. Returns the continuation.
    """
    locked = _lock(complaint)
    _require_handler(actor, locked)
    text = _text(reason, field="reason", required=_("Say why the case goes to that area."))
    if to_area.code == locked.area_id:
        raise InvalidInput(
            _("The case is already handled by %(area)s; choose the area that has jurisdiction."),
            code="same_area",
            field="to_area",
            params={"area": to_area.name},
        )
    next_status(locked.status, Op.TRANSFER)  # refused before anything is written
    continuation = _create(
        actor=actor,
        area_code=to_area.code,
        operation=Op.TRANSFER_IN,
        channel=ComplaintChannel.TRANSFER,
        note=text,
        person=locked.person,
        complainant_name=locked.complainant_name,
        contact=locked.contact,
        employer=locked.employer,
        kind=locked.kind,
        text=locked.text,
        evidence=locked.evidence,
        transferred_from=locked,
    )
    letter = _letter(
        complaint=locked,
        continuation=continuation,
        to_area=to_area,
        reason=text,
        actor=actor,
        on=timezone.localdate(),
    )
    _step(
        actor=actor,
        complaint=locked,
        operation=Op.TRANSFER,
        note=text,
        document=letter,
        locked=locked,
        audited={"to_area": to_area.code, "continued_as": continuation.reference},
    )
    return continuation
