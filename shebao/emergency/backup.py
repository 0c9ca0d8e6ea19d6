"""Backups that are proven restorable, and restores (emergency plan).

A backup is a file and a manifest beside it (`<name>.json`): the file's
SHA-256, the engine, the row count of every table and the head (seq, hash)
of every audit chain, all read from the same consistent snapshot as the copy:

- SQLite: the online backup API copies the live database page by page
  while it stays in use; counts and heads are read from the copy.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot, counts and
  heads are read in it, and `pg_dump --snapshot` dumps exactly that state
  (custom format, compressed).

`backup_verify` restores the file into a scratch database (a temporary
SQLite file; a temporary PostgreSQL database) and compares its counts and
audit heads with the manifest: a backup that fails this is not a backup.
`backup_restore` checks the file's checksum, then replaces the database's
contents with it. Backing up needs no maintenance mode; restoring should be
done in read-only mode so nobody writes while the data is swapped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.core.errors import Conflict, InvalidInput

MANIFEST_SUFFIX = ".json"


@dataclass
class Manifest:
    file: str
    engine: str
    sha256: str
    size: int
    created_at: str
    counts: dict[str, int]
    audit_heads: dict[str, list[Any]]
    verified_at: str | None = None
    verification: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def load(cls, backup: Path) -> Manifest:
        path = manifest_path(backup)
        if not path.exists():
            raise InvalidInput(
                _("%(file)s has no manifest beside it (%(manifest)s); it cannot be checked."),
                code="backup_no_manifest",
                field="file",
                params={"file": str(backup), "manifest": str(path)},
            )
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, backup: Path) -> None:
        manifest_path(backup).write_text(
            json.dumps(self.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def backup_dir() -> Path:
    return Path(getattr(settings, "SHEBAO_BACKUP_DIR", "") or settings.VAR_DIR / "backups")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while piece := stream.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def _is_sqlite(alias: str = "default") -> bool:
    return connections[alias].vendor == "sqlite"


# --- what a database holds ----------------------------------------------------


def _tables(cursor: Any, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    else:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    return [row[0] for row in cursor.fetchall()]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contents(cursor: Any, vendor: str) -> tuple[dict[str, int], dict[str, list[Any]]]:
    """Row count of every table and the audit chains' heads, through one cursor."""
    counts: dict[str, int] = {}
    for table in _tables(cursor, vendor):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 - catalogue names
        counts[table] = int(cursor.fetchone()[0])
    heads: dict[str, list[Any]] = {}
    if "audit_audithead" in counts:
        cursor.execute("SELECT chain, seq, hash FROM audit_audithead ORDER BY chain")
        heads = {chain: [int(seq), digest] for chain, seq, digest in cursor.fetchall()}
    return counts, heads


# --- PostgreSQL tools -----------------------------------------------------------


def _pg_params(alias: str = "default", name: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Command-line connection options and environment for pg_dump/pg_restore."""
    db = connections[alias].settings_dict
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ, "PGDATABASE": name or str(db["NAME"])}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise Conflict(
            _("%(tool)s is not installed; PostgreSQL backups need the PostgreSQL client tools."),
            code="backup_tool_missing",
            params={"tool": command[0]},
        )
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments are not shell-parsed
        [tool, *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise Conflict(
            _("%(tool)s failed: %(error)s"),
            code="backup_tool_failed",
            params={"tool": command[0], "error": result.stderr.strip()[-2000:]},
        )


def _pg_conninfo(dbname: str) -> str:
    """A libpq connection string to `dbname` on the server Django uses."""
    from psycopg.conninfo import make_conninfo

    db = connection.settings_dict
    given = {
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
    }
    return make_conninfo(dbname=dbname, **{k: str(v) for k, v in given.items() if v})


@contextmanager
def _pg_scratch_database() -> Iterator[str]:
    """A temporary, empty PostgreSQL database on the same server; dropped afterwards."""
    import psycopg

    name = f"shebao_verify_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(_pg_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_contents(name: str) -> tuple[dict[str, int], dict[str, list[Any]]]:
    import psycopg

    with psycopg.connect(_pg_conninfo(name)) as scratch, scratch.cursor() as cursor:
        return contents(cursor, "postgresql")


# --- the three operations -------------------------------------------------------------


def backup_create(*, to: Path | None = None, verify: bool = True) -> tuple[Path, Manifest]:
    """Copy the database to a new file with its manifest; verify it unless told not to."""
    directory = to or backup_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    if _is_sqlite():
        path = directory / f"shebao-{stamp}.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
            counts, heads = contents(target.cursor(), "sqlite")
        finally:
            target.close()
        engine = "sqlite"
    else:
        path = directory / f"shebao-{stamp}.pgdump"
        args, env = _pg_params()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                counts, heads = contents(cursor, "postgresql")
                _run(
                    [
                        "pg_dump",
                        *args,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--no-owner",
                        "--file",
                        str(path),
                    ],
                    env,
                )
            finally:
                cursor.execute("COMMIT")
        engine = "postgresql"
    manifest = Manifest(
        file=path.name,
        engine=engine,
        sha256=file_sha256(path),
        size=path.stat().st_size,
        created_at=timezone.now().isoformat(),
        counts=counts,
        audit_heads=heads,
    )
    manifest.save(path)
    if verify:
        manifest = backup_verify(path)
    return path, manifest


def _check_file(path: Path) -> Manifest:
    if not path.exists():
        raise InvalidInput(
            _("There is no backup file %(file)s."),
            code="backup_missing",
            field="file",
            params={"file": str(path)},
        )
    manifest = Manifest.load(path)
    if file_sha256(path) != manifest.sha256:
        raise Conflict(
            _("%(file)s does not match the checksum of its manifest: the file is damaged."),
            code="backup_checksum",
            field="file",
            params={"file": str(path)},
        )
    return manifest


def backup_verify(path: Path) -> Manifest:
    """Restore into a scratch database and compare counts and audit heads with the manifest."""
    manifest = _check_file(path)
    if manifest.engine == "sqlite":
        with tempfile.TemporaryDirectory() as scratch_dir:
            scratch = sqlite3.connect(Path(scratch_dir) / "verify.sqlite3")
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                source.backup(scratch)
                counts, heads = contents(scratch.cursor(), "sqlite")
            finally:
                source.close()
                scratch.close()
    else:
        args, env = _pg_params()
        with _pg_scratch_database() as name:
            env["PGDATABASE"] = name
            _run(["pg_restore", *args, "--no-owner", "--dbname", name, str(path)], env)
            counts, heads = _pg_contents(name)
    differences = {
        table: [manifest.counts.get(table), counts.get(table)]
        for table in sorted(set(manifest.counts) | set(counts))
        if manifest.counts.get(table) != counts.get(table)
    }
    same_heads = heads == manifest.audit_heads
    manifest.verified_at = timezone.now().isoformat()
    manifest.verification = {
        "ok": not differences and same_heads,
        "tables": len(counts),
        "rows": sum(counts.values()),
        "count_differences": differences,
        "audit_heads_equal": same_heads,
    }
    manifest.save(path)
    return manifest


def backup_restore(path: Path) -> Manifest:
    """Replace the database's contents with the backup's (after checking its checksum)."""
    manifest = _check_file(path)
    vendor = "sqlite" if _is_sqlite() else "postgresql"
    if manifest.engine != vendor:
        raise Conflict(
            _("%(file)s is a %(engine)s backup; this system runs on %(vendor)s."),
            code="backup_engine",
            field="file",
            params={"file": str(path), "engine": manifest.engine, "vendor": vendor},
        )
    if vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    else:
        args, env = _pg_params()
        connection.close()
        _run(
            [
                "pg_restore",
                *args,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                env["PGDATABASE"],
                str(path),
            ],
            env,
        )
    return manifest


def backups(directory: Path | None = None) -> list[tuple[Path, Manifest]]:
    """The backups in a directory, newest first, each with its manifest."""
    found = []
    for manifest_file in sorted((directory or backup_dir()).glob(f"shebao-*{MANIFEST_SUFFIX}")):
        backup = manifest_file.with_name(manifest_file.name[: -len(MANIFEST_SUFFIX)])
        try:
            found.append((backup, Manifest.load(backup)))
        except (InvalidInput, ValueError, TypeError):
            continue
    return sorted(found, key=lambda item: item[1].created_at, reverse=True)


def latest_verified_backup(directory: Path | None = None) -> tuple[Path, Manifest] | None:
    for backup, manifest in backups(directory):
        if manifest.verification.get("ok"):
            return backup, manifest
    return None


def backup_age(directory: Path | None = None) -> dt.timedelta | None:
    """How long ago the newest verified backup was made (None: there is none)."""
    latest = latest_verified_backup(directory)
    if latest is None:
        return None
    return timezone.now() - dt.datetime.fromisoformat(latest[1].created_at)
