"""`shebao drill record` and `shebao drill list`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from shebao.approval.models import DrillRecord
from shebao.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("drill", *args, stdout=out)
    return out.getvalue()


def test_it_records_a_drill_of_the_admins_area(area_admin):
    printed = run(
        "record",
        "--as",
        "areaadmin",
        "--kind",
        "backup_restore",
        "--outcome",
        "passed",
        "--evidence",
        "备份恢复至演练库，行数一致",
        "--done-at",
        "2026-01-15T10:00",
    )
    drill = DrillRecord.objects.get()
    assert drill.area_id == "320100" and drill.by == area_admin and drill.outcome == "passed"
    assert f"drill #{drill.pk} recorded: 320100 backup_restore passed 2026-01-15 10:00" in printed
    assert AuditEvent.objects.filter(chain="320100", action="approval.drill.record").exists()
    assert "备份恢复至演练库" in run("list", "--as", "areaadmin")


def test_it_refuses_who_may_not_record(owner, area_admin):
    with pytest.raises(CommandError, match="forbidden"):
        run(
            "record",
            "--as",
            "owner",
            "--kind",
            "read_only",
            "--outcome",
            "passed",
            "--evidence",
            "x",
        )
    with pytest.raises(CommandError, match="no active user"):
        run("list", "--as", "nobody")
    with pytest.raises(CommandError, match="required"):
        run(
            "record",
            "--as",
            "areaadmin",
            "--kind",
            "read_only",
            "--outcome",
            "passed",
            "--evidence",
            " ",
        )
    assert not DrillRecord.objects.exists()
