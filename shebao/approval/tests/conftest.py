"""Fixtures of the approval tests: documents and backups in the test's own folders,
and only this app's checks (other apps' checks have their own tests)."""

from __future__ import annotations

from typing import Any

import pytest

from shebao.approval.testing import fake_backup, only_own_checks


@pytest.fixture(autouse=True)
def _approval_folders(settings: Any, tmp_path: Any, monkeypatch: Any) -> None:
    settings.APPROVAL_DOCUMENTS_DIR = tmp_path / "approval"
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "backups")
    fake_backup(tmp_path / "backups")
    only_own_checks(monkeypatch)


@pytest.fixture
def ready_area(area: Any) -> Any:
    """Area A with an active service outlet."""
    area.outlets.create(code="WD001", name="玄武区社会保险服务大厅")
    return area
