"""Backups: one tar file holding a consistent dump of the database and a manifest that says
what a correct restore must hold.

Contract:
- :func:`dump` writes ``manifest.json`` and the dump: PostgreSQL through ``pg_dump`` (custom
  format) run on the snapshot of a REPEATABLE READ transaction, in which the row counts and
  ``describe`` (e.g. the centres CSV export) are read too; SQLite through the online backup
  API, the counts and ``describe`` then read from the copy. Either way the manifest and the
  dump describe the same moment, with writers running.
- :func:`restore` loads a backup into an EMPTY database (no tables: a fresh ``createdb``, a
  new SQLite file) and then checks every table's row count, and ``describe``'s checksum,
  against the manifest.
- The manifest: ``format``, ``created_at``, ``database`` (postgresql | sqlite), ``revisions``
  (Alembic), ``tables`` (name → rows), ``describe_sha256``.

Errors: :class:`BackupError` (a tool failed, the file is not a backup) and its subclasses
:class:`NotEmpty` (the restore target has tables) and :class:`Mismatch` (the restored
database differs from the manifest; ``problems`` lists how).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite"}
Describe = Callable[[sessionmaker[Session]], str]  # a text of the data whose checksum is kept


class BackupError(RuntimeError):
    """A backup could not be written or read: a tool failed, or the file is not a backup."""


class NotEmpty(BackupError):
    """The restore target already has tables; a restore goes only into an empty database."""


class Mismatch(BackupError):
    """The restored database does not hold what the manifest says; ``problems`` says how."""

    def __init__(self, problems: list[str]):
        super().__init__("restored database differs from the manifest: " + "; ".join(problems))
        self.problems = problems


def _kind(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DUMPS:
        raise BackupError(f"no backup for a {name} database")
    return name


def _describe(conn: Connection, describe: Describe) -> dict:
    """Row counts of every table, the Alembic revisions and ``describe``'s checksum, read
    through ``conn`` (inside whatever transaction it is in)."""
    names = sorted(inspect(conn).get_table_names())
    tables = {name: conn.scalar(select(func.count()).select_from(table(name))) for name in names}
    revisions = sorted(conn.scalars(text("SELECT version_num FROM alembic_version"))) \
        if "alembic_version" in names else []
    sessions = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
    digest = hashlib.sha256(describe(sessions).encode()).hexdigest()
    return {"revisions": revisions, "tables": tables, "describe_sha256": digest}


def _libpq(engine: Engine) -> tuple[str, dict]:
    """A URL for pg_dump/pg_restore without its password (which goes in PGPASSWORD: a command
    line shows in the process list), and the environment to run them with."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict | None = None) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-300:]}")


def dump(engine: Engine, out: Path, describe: Describe) -> dict:
    """Write a backup of ``engine``'s database to ``out`` (a tar); return its manifest."""
    kind = _kind(engine)
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / DUMPS[kind]
        if kind == "postgresql":
            url, env = _libpq(engine)
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
                snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
                facts = _describe(conn, describe)
                _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                      f"--file={data}", f"--dbname={url}"], env)
        else:
            _sqlite_copy(engine.url.database, str(data))
            copy = create_engine(f"sqlite:///{data}", hide_parameters=True)
            try:
                with copy.connect() as conn:
                    facts = _describe(conn, describe)
            finally:
                copy.dispose()
        manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "database": kind, **facts}
        _pack(out, manifest, data)
    return manifest


def _sqlite_copy(source_path: str, target_path: str) -> None:
    """SQLite's online backup API: a consistent copy while others write (WAL included)."""
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _pack(out: Path, manifest: dict, data: Path) -> None:
    raw = json.dumps(manifest, indent=2, sort_keys=True).encode()
    partial = out.with_name(out.name + ".partial")  # a crash leaves no file that looks complete
    partial.unlink(missing_ok=True)
    # Created 0600, whatever the umask: a backup holds every citizen's number (POPIA).
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw_file, \
            tarfile.open(fileobj=raw_file, mode="w") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(raw), int(datetime.now(UTC).timestamp())
        tar.addfile(info, io.BytesIO(raw))
        tar.add(data, arcname=data.name)
    partial.replace(out)


def read_manifest(path: Path) -> dict:
    """The manifest of the backup at ``path``."""
    try:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile(MANIFEST))
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise BackupError(f"{path}: not a backup ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("database") not in DUMPS:
        raise BackupError(f"{path}: unknown backup format")
    return manifest


def _copy_member(tar: tarfile.TarFile, name: str, to: Path) -> None:
    """Copy the regular file ``name`` out of ``tar`` into ``to``; a link or anything else is
    refused. Read, not extracted: tarfile's extraction filters (``filter="data"``) arrived in
    Python 3.11.4, and Debian 12's python3 is 3.11.2, where every restore failed."""
    try:
        member = tar.getmember(name)
    except KeyError:
        raise BackupError(f"the backup has no {name}") from None
    if not member.isfile():
        raise BackupError(f"{name} in the backup is not a regular file")
    with tar.extractfile(member) as source, to.open("wb") as target:
        shutil.copyfileobj(source, target)


def restore(engine: Engine, path: Path, describe: Describe) -> dict:
    """Load the backup at ``path`` into ``engine``'s empty database, then check it against the
    manifest (:class:`Mismatch` if it differs); return the manifest."""
    manifest = read_manifest(path)
    kind = _kind(engine)
    if kind != manifest["database"]:
        raise BackupError(f"a {manifest['database']} backup cannot be restored into {kind}")
    present = inspect(engine).get_table_names()
    if present:
        raise NotEmpty(f"the target database has {len(present)} tables ({', '.join(sorted(present)[:4])}…): "
                       "restore into an empty database (a fresh createdb, a new SQLite file)")
    with tempfile.TemporaryDirectory() as work, tarfile.open(path) as tar:
        data = Path(work) / DUMPS[kind]
        _copy_member(tar, DUMPS[kind], data)
        if kind == "postgresql":
            url, env = _libpq(engine)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  f"--dbname={url}", str(data)], env)
        else:
            engine.dispose()  # no pooled connection may see the file half-written
            _sqlite_copy(str(data), engine.url.database)
    with engine.connect() as conn:
        facts = _describe(conn, describe)
    engine.dispose()
    problems = [f"{name}: {manifest['tables'].get(name)} rows in the backup, {facts['tables'].get(name)} restored"
                for name in sorted(set(manifest["tables"]) | set(facts["tables"]))
                if manifest["tables"].get(name) != facts["tables"].get(name)]
    if facts["describe_sha256"] != manifest["describe_sha256"]:
        problems.append("the described data (the centres export) differs")
    if problems:
        raise Mismatch(problems)
    return manifest


__all__ = ["BackupError", "Mismatch", "NotEmpty", "dump", "read_manifest", "restore"]
