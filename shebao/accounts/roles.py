"""Roles and what each may do.

One table maps a capability to the roles that hold it; services call
`require()` before they write, selectors scope reads by the user's binding
(area, employer, person). Adding a capability is one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from shebao.core.errors import Forbidden

if TYPE_CHECKING:
    from shebao.accounts.models import User


class Role(models.TextChoices):
    MINISTRY_ADMIN = "ministry_admin", _("Ministry administrator")
    AREA_ADMIN = "area_admin", _("Area administrator")
    REGISTRAR = "registrar", _("Registrar")
    CARD_OFFICER = "card_officer", _("Card officer")
    CONTRIBUTIONS_OFFICER = "contributions_officer", _("Contributions officer")
    CASHIER = "cashier", _("Cashier")
    AUDITOR = "auditor", _("Auditor")
    CONSULTANT = "consultant", _("Consultant")
    EMPLOYER = "employer", _("Employer user")
    INDIVIDUAL = "individual", _("Individual")


# Staff of an issuing area: bound to one area, see that area only.
AREA_STAFF = frozenset(
    {
        Role.AREA_ADMIN,
        Role.REGISTRAR,
        Role.CARD_OFFICER,
        Role.CONTRIBUTIONS_OFFICER,
        Role.CASHIER,
        Role.AUDITOR,
        Role.CONSULTANT,
    }
)
STAFF = AREA_STAFF | {Role.MINISTRY_ADMIN}

CAPABILITIES: dict[str, frozenset[str]] = {
    "area.create": frozenset({Role.MINISTRY_ADMIN}),
    "area.update": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN}),
    "area.configure": frozenset({Role.AREA_ADMIN}),
    "outlet.manage": frozenset({Role.AREA_ADMIN}),
    "person.register": frozenset({Role.AREA_ADMIN, Role.REGISTRAR}),
    "person.update": frozenset({Role.AREA_ADMIN, Role.REGISTRAR}),
    "employer.register": frozenset({Role.AREA_ADMIN, Role.REGISTRAR}),
    "employer.update": frozenset({Role.AREA_ADMIN, Role.REGISTRAR}),
    # Employers register their own staff online (SIL art. 58).
    "employment.register": frozenset({Role.AREA_ADMIN, Role.REGISTRAR, Role.EMPLOYER}),
    "employment.end": frozenset({Role.AREA_ADMIN, Role.REGISTRAR, Role.EMPLOYER}),
    "user.manage": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN}),
    "area.approve": frozenset({Role.MINISTRY_ADMIN}),
    # Cards. Applying is open to the holder (online) and the employer (for
    # its staff); everything at the counter is the card officer's.
    "card.apply": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER, Role.INDIVIDUAL, Role.EMPLOYER}),
    "card.approve": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER}),
    "card.operate": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER}),
    "card.report_loss": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER, Role.INDIVIDUAL}),
    "card.production": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER}),
    "card.distribute": frozenset({Role.AREA_ADMIN, Role.CARD_OFFICER}),
    "card.freeze": frozenset({Role.AREA_ADMIN}),
    "card.ecard": frozenset({Role.INDIVIDUAL}),
    # Contributions. Employers declare for themselves (SIL art. 60); the
    # contributions officer declares on an employer's behalf at the counter.
    "declaration.submit": frozenset({Role.EMPLOYER, Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN}),
    "declaration.correct": frozenset({Role.EMPLOYER, Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN}),
    "policy.manage": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    "bill.run": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    "bill.read": AREA_STAFF | {Role.MINISTRY_ADMIN, Role.EMPLOYER},
    # Personal pension accounts: statements, contribution records, estimates.
    "account.read": frozenset({Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN, Role.AUDITOR}),
    "account.credit_interest": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    # Personal rights record statements (SIL arts. 4, 74): the holder asks for
    # and shares their own; staff produce them (on request, the yearly batch)
    # and read them.
    "statement.own": frozenset({Role.INDIVIDUAL}),
    "statement.issue": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    "statement.read": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER, Role.AUDITOR}),
    # Payments of contributions are taken at the counter or read from the
    # bank's file; arrears are read by those who collect and check them, and
    # by an employer for itself.
    "payment.record": frozenset({Role.CASHIER, Role.CONTRIBUTIONS_OFFICER, Role.AREA_ADMIN}),
    "arrears.read": frozenset(
        {
            Role.AREA_ADMIN,
            Role.CONTRIBUTIONS_OFFICER,
            Role.CASHIER,
            Role.AUDITOR,
            Role.EMPLOYER,
        }
    ),
    # Supervision and complaints (SIL arts. 4, 82): a person files online about
    # their employer; staff record what arrives by phone, letter or at the
    # counter, handle the area's cases, and the administrator assigns them.
    "complaint.file": frozenset({Role.INDIVIDUAL}),
    "complaint.record": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    "complaint.handle": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER}),
    "complaint.assign": frozenset({Role.AREA_ADMIN}),
    "complaint.read": frozenset({Role.AREA_ADMIN, Role.CONTRIBUTIONS_OFFICER, Role.AUDITOR}),
    "fee.collect": frozenset({Role.CASHIER}),
    "fee.waive": frozenset({Role.AREA_ADMIN}),
    "fee.reconcile": frozenset({Role.AREA_ADMIN, Role.CASHIER, Role.AUDITOR}),
    # Consultation (SIL arts. 4, 74): employers and individuals ask, free of
    # charge; consultants answer and publish to the knowledge base; an asker
    # may withdraw a question not yet published.
    "question.ask": frozenset({Role.INDIVIDUAL, Role.EMPLOYER}),
    "question.answer": frozenset({Role.CONSULTANT, Role.MINISTRY_ADMIN}),
    "question.publish": frozenset({Role.CONSULTANT, Role.MINISTRY_ADMIN}),
    "question.withdraw": frozenset(
        {Role.CONSULTANT, Role.MINISTRY_ADMIN, Role.INDIVIDUAL, Role.EMPLOYER}
    ),
    # Emergency plans: read-only maintenance mode, backups and restores.
    "emergency.manage": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN}),
    # Auditors see whether backups are made and verified (internal control).
    "emergency.read": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN, Role.AUDITOR}),
    # Approval of an issuing area (DOMAIN.md §2): the area applies with its
    # documents and evidence and records its emergency drills; the ministry
    # decides, sets extra conditions and sees every area's figures.
    "approval.apply": frozenset({Role.AREA_ADMIN}),
    "approval.read": frozenset({Role.AREA_ADMIN, Role.AUDITOR, Role.MINISTRY_ADMIN}),
    "approval.decide": frozenset({Role.MINISTRY_ADMIN}),
    "drill.record": frozenset({Role.AREA_ADMIN}),
    # Staff, equipment and implementation plans (DOMAIN.md §2, conditions b and
    # c): the area administrator keeps them; every member of the area's staff
    # (auditors included) and the ministry read them.
    "plans.read": AREA_STAFF | {Role.MINISTRY_ADMIN},
    "plans.manage": frozenset({Role.AREA_ADMIN}),
    "equipment.manage": frozenset({Role.AREA_ADMIN}),
    "training.record": frozenset({Role.AREA_ADMIN}),
    "token.issue": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN}),
    "audit.read": frozenset({Role.MINISTRY_ADMIN, Role.AREA_ADMIN, Role.AUDITOR}),
    # Internal control (DOMAIN.md §2, condition d): the nightly chain checks,
    # reconciliations and alerts are read by the area's auditors and
    # administrator and the ministry; auditors handle the alerts and draw and
    # check samples of staff actions; the nightly run is started by the area.
    "control.read": frozenset({Role.AUDITOR, Role.AREA_ADMIN, Role.MINISTRY_ADMIN}),
    "control.run": frozenset({Role.AUDITOR, Role.AREA_ADMIN}),
    "alert.handle": frozenset({Role.AUDITOR}),
    "sample.draw": frozenset({Role.AUDITOR}),
    # Roles whose work needs the full identity number on screen; everyone
    # else, and every list, sees it masked.
    "person.full_id": frozenset(
        {Role.AREA_ADMIN, Role.REGISTRAR, Role.CARD_OFFICER, Role.CONTRIBUTIONS_OFFICER}
    ),
}


def can(user: User, capability: str) -> bool:
    roles = CAPABILITIES[capability]
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def require(
    user: User,
    capability: str,
    *,
    area_code: str | None = None,
    employer_id: int | None = None,
) -> None:
    """Raise Forbidden unless `user` may exercise `capability` on that area/employer."""
    if not can(user, capability):
        raise Forbidden(
            _("Your role (%(role)s) may not do this (%(capability)s)."),
            params={
                "role": user.get_role_display() if user.is_authenticated else "-",
                "capability": capability,
            },
        )
    if area_code is not None and user.role != Role.MINISTRY_ADMIN and user.area_id != area_code:
        raise Forbidden(_("This record belongs to another issuing area."))
    if user.role == Role.EMPLOYER and (employer_id is None or user.employer_id != employer_id):
        raise Forbidden(_("Employer users may act only for their own employer."))
