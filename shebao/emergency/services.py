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
from shebao.core.errors import Conflict, InvalidInput, NotFound
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


def backup_check(*, actor: User | None, path: Path) -> backup.Manifest:
    """Verify a backup again (restore it into a scratch database); the result is audited."""
    if actor is not None:
        require(actor, "emergency.manage")
    manifest = backup.backup_verify(path)
    _record(actor, "emergency.verify", path, manifest)
    return manifest


def backup_find(name: str) -> Path:
    """The backup called `name` in the backup directory; a name from a client is only
    ever looked up in the directory's listing, never joined to a path."""
    for path, _manifest in backup.backups():
        if path.name == name:
            return path
    raise NotFound(
        _("There is no backup called %(file)s in the backup directory."),
        code="backup_not_found",
        params={"file": name[:200]},
    )


def emergency_status() -> dict[str, Any]:
    """Read-only state, the backups with their manifests, and the newest verified one's age."""
    age = backup.backup_age()
    return {
        "read_only": maintenance.read_only_state(),
        "backup_dir": str(backup.backup_dir()),
        "backups": [
            {
                "file": path.name,
                "created_at": manifest.created_at,
                "engine": manifest.engine,
                "size": manifest.size,
                "sha256": manifest.sha256,
                "verified_at": manifest.verified_at,
                "verified": bool(manifest.verification.get("ok")),
                "verification": manifest.verification,
                "rows": sum(manifest.counts.values()),
            }
            for path, manifest in backup.backups()
        ],
        "latest_verified_age_seconds": int(age.total_seconds()) if age is not None else None,
    }


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
