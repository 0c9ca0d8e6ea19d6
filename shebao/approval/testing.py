"""Building an area ready for approval, for tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from shebao.accounts.models import User
from shebao.approval import checks, services
from shebao.approval.models import (
    ApplicationDocument,
    AreaApplication,
    DrillKind,
    DrillOutcome,
    ItemSource,
    ItemStatus,
)
from shebao.registry.models import Area

# Every document an initial application carries.
INITIAL_DOCUMENTS = ("preparation_report", "card_face", "file_structure", "local_rules")


def fake_backup(
    directory: Path, *, age: dt.timedelta = dt.timedelta(hours=1), ok: bool = True
) -> Path:
    """A backup file and its manifest as `shebao backup` leaves them, made `age` ago."""
    directory.mkdir(parents=True, exist_ok=True)
    made = timezone.now() - age
    path = directory / f"shebao-{made:%Y%m%dT%H%M%S%f}.sqlite3"
    path.write_bytes(b"backup")
    manifest = {
        "file": path.name,
        "engine": "sqlite",
        "sha256": "0" * 64,
        "size": 6,
        "created_at": made.isoformat(),
        "counts": {},
        "audit_heads": {},
        "verified_at": made.isoformat(),
        "verification": {"ok": ok},
    }
    path.with_name(path.name + ".json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def only_own_checks(monkeypatch: Any) -> None:
    """Keep the checks of this app only, whatever other apps registered."""
    for code, check in list(checks.CHECKS.items()):
        if check.function.__module__ != checks.__name__:
            monkeypatch.delitem(checks.CHECKS, code)


def upload(
    actor: User, application: AreaApplication, kind: str, content: bytes | None = None
) -> ApplicationDocument:
    return services.document_upload(
        actor=actor,
        application=application,
        kind=kind,
        name=f"{kind}.pdf",
        data=content if content is not None else f"%PDF {kind} of {application.area_id}".encode(),
        content_type="application/pdf",
    )


def evidence_everything(actor: User, application: AreaApplication) -> None:
    """Record evidence for every item the system does not check itself."""
    for item in application.items.exclude(source=ItemSource.CHECK):
        services.item_record(
            actor=actor, item=item, status=ItemStatus.MET, evidence=f"evidence for {item.code}"
        )


def prepared_application(
    actor: User, area: Area, *, vendor: str = "金卡", drill: bool = True
) -> AreaApplication:
    """An initial application with every document, a recent drill and the manual
    evidence, ready to submit (the area needs an active outlet and a fresh backup)."""
    application = services.application_create(
        actor=actor, area=area, kind="initial", vendor=vendor, note="首次申请"
    )
    for kind in INITIAL_DOCUMENTS:
        upload(actor, application, kind)
    if drill:
        services.drill_record(
            actor=actor,
            area=area,
            kind=DrillKind.BACKUP_RESTORE,
            done_at=timezone.now() - dt.timedelta(days=10),
            outcome=DrillOutcome.PASSED,
            evidence="恢复演练：数据一致",
        )
    evidence_everything(actor, application)
    return application
