"""The drills of docs/emergency.md, run as tests on SQLite and on PostgreSQL.

Drill 1: back up, destroy the database, restore, and prove that nothing was
lost — every table's row count and every audit chain's head equal the
backup's, and the restored audit chain verifies.
Drill 2: a damaged backup is detected before it is restored.
Drill 3: a restore is refused unless the system is read-only and the backup verified.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from shebao.audit.models import NATIONAL_CHAIN
from shebao.audit.services import audit_verify
from shebao.core import maintenance
from shebao.core.errors import Conflict, InvalidInput
from shebao.emergency import backup
from shebao.emergency.services import backup_run, read_only_enter, read_only_leave, restore_run
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Person
from shebao.registry.services import person_register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def some_records(owner, area):
    for sequence in range(1, 6):
        person_register(
            actor=owner,
            area=area,
            id_number=make_identity_number("320106", dt.date(1985, 3, 2), sequence),
            name=f"测试{sequence}",
        )


def destroy_everything() -> None:
    """What a disk failure or a wrong command leaves: no tables at all."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            tables = backup._tables(cursor, "sqlite")
            for table in tables:
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")


def test_drill_backup_destroy_restore_loses_nothing(some_records, area_admin, tmp_path):
    path, manifest = backup_run(actor=area_admin, to=tmp_path)
    assert manifest.verification["ok"], manifest.verification
    assert manifest.counts["registry_person"] == 5
    assert manifest.audit_heads  # the chains' heads were read with the copy

    read_only_enter(actor=area_admin, reason="drill: restore")
    destroy_everything()
    with connection.cursor() as cursor:
        assert backup._tables(cursor, connection.vendor) == []

    restore_run(actor=None, path=path)
    with connection.cursor() as cursor:
        counts, heads = backup.contents(cursor, connection.vendor)
    # The restore itself is the one event recorded after the copy.
    assert counts["audit_auditevent"] == manifest.counts["audit_auditevent"] + 1
    for table, count in manifest.counts.items():
        if table not in ("audit_auditevent", "audit_audithead"):
            assert counts[table] == count, table
    restored_national = heads.pop(NATIONAL_CHAIN)
    expected_national = manifest.audit_heads.pop(NATIONAL_CHAIN, [0, ""])
    assert heads == manifest.audit_heads  # every area chain exactly as backed up
    assert restored_national[0] == expected_national[0] + 1
    checked, breaks = audit_verify()
    assert breaks == [] and checked == counts["audit_auditevent"]
    assert Person.objects.count() == 5
    read_only_leave(actor=None)


def test_drill_a_damaged_backup_is_found_out(some_records, tmp_path):
    path, manifest = backup.backup_create(to=tmp_path, verify=True)
    assert manifest.verification["ok"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Conflict) as refused:
        backup.backup_verify(path)
    assert refused.value.code == "backup_checksum"
    backup.manifest_path(path).unlink()
    with pytest.raises(InvalidInput) as unknown:
        backup.backup_verify(path)
    assert unknown.value.code == "backup_no_manifest"


def test_drill_a_restore_needs_read_only_mode_and_a_verified_backup(
    some_records, area_admin, tmp_path
):
    path, _manifest = backup.backup_create(to=tmp_path, verify=False)
    with pytest.raises(Conflict) as writable:
        restore_run(actor=area_admin, path=path)
    assert writable.value.code == "restore_needs_read_only"
    read_only_enter(actor=area_admin, reason="drill")
    with pytest.raises(InvalidInput) as unverified:
        restore_run(actor=area_admin, path=path)
    assert unverified.value.code == "backup_unverified"
    read_only_leave(actor=area_admin)
    assert maintenance.read_only_state() is None


def test_the_newest_verified_backup_and_its_age_are_known(some_records, tmp_path):
    assert backup.backup_age(tmp_path) is None
    backup.backup_create(to=tmp_path, verify=False)
    assert backup.backup_age(tmp_path) is None  # not verified: not a backup yet
    path, _manifest = backup.backup_create(to=tmp_path, verify=True)
    latest = backup.latest_verified_backup(tmp_path)
    assert latest is not None and latest[0] == path
    age = backup.backup_age(tmp_path)
    assert age is not None and age.total_seconds() < 60
