"""Emergency plan actions: read-only maintenance mode, backups, restores — all audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.audit.services import audit_record
from shebao.core import maintenance
from shebao.core.errors import Conflict, InvalidInput
from shebao.core.text import required_text
from shebao.emergency import backup

SUBJECT = ("emergency.system", "read-only")


def read_only_enter(*, actor: User | None, reason: str) -> dict[str, Any]:
    """Switch the whole system to read-only: inquiries work, every write is refused."""
    if actor is not None:
        require(actor, "emergency.manage")
    reason = required_text(reason, field="reason", max_length=200)
    if maintenance.read_only_state() is not None:
        raise Conflict(_("The system is read-only already."), code="read_only_already")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="emergency.read_only.enter",
            subject=SUBJECT,
            area_code=None,
            after={"reason": reason},
        )
        state = maintenance.write_flag(
            reason=reason, by=getattr(actor, "username", None) or "system"
        )
    return state


def read_only_leave(*, actor: User | None) -> None:
    if actor is not None:
        require(actor, "emergency.manage")
    state = maintenance.read_only_state()
    if state is None:
        raise Conflict(_("The system is not read-only."), code="read_only_not")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="emergency.read_only.leave",
            subject=SUBJECT,
            area_code=None,
            before=state,
        )
        maintenance.remove_flag()


def backup_run(*, actor: User | None, to: Path | None = None) -> tuple[Path, backup.Manifest]:
    """Back up and verify; the result (with its checksum) is in the audit chain."""
    if actor is not None:
        require(actor, "emergency.manage")
    path, manifest = backup.backup_create(to=to, verify=True)
    _record(actor, "emergency.backup", path, manifest)
    return path, manifest


def restore_run(*, actor: User | None, path: Path) -> backup.Manifest:
    """Restore a verified backup. The system must be read-only while it runs."""
    if actor is not None:
        require(actor, "emergency.manage")
    if maintenance.read_only_state() is None:
        raise Conflict(
            _(
                "Switch the system to read-only first (shebao readonly on), so nobody writes "
                "while the data is replaced."
            ),
            code="restore_needs_read_only",
        )
    manifest = backup.Manifest.load(path)
    if not manifest.verification.get("ok"):
        raise InvalidInput(
            _("%(file)s has not passed verification; verify it first (shebao backup verify)."),
            code="backup_unverified",
            field="file",
            params={"file": str(path)},
        )
    manifest = backup.backup_restore(path)
    _record(actor, "emergency.restore", path, manifest)
    return manifest


def _record(actor: User | None, action: str, path: Path, manifest: backup.Manifest) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            subject=("emergency.backup", path.name),
            area_code=None,
            after={
                "file": path.name,
                "sha256": manifest.sha256,
                "engine": manifest.engine,
                "rows": sum(manifest.counts.values()),
                "audit_heads": manifest.audit_heads,
                "verification": manifest.verification,
            },
        )
