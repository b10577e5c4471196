"""``thusong backup`` / ``thusong restore``: a seeded database round trips on SQLite and on
PostgreSQL with every table's row count and the centres export unchanged; a non-empty target
is refused; a restore that differs from its manifest fails."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, table

from gateway.cli import main
from gateway.directory.centre_csv import SEED, export_centres, import_centres
from gateway.staff.accounts import add_staff
from gateway.store import backup as backups
from gateway.store import engine as gdb
from gateway.store.models import insert_message
from tests.conftest import SEED_ROWS
from tests.workers import wait_until

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def counts(url: str) -> dict[str, int]:
    engine = gdb.make_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.scalar(select(func.count()).select_from(table(name)))
                    for name in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def centres_checksum(url: str) -> str:
    engine = gdb.make_engine(url)
    try:
        return hashlib.sha256(export_centres(gdb.make_sessionmaker(engine)).encode()).hexdigest()
    finally:
        engine.dispose()


def seed(url: str, gazetteer) -> None:
    engine = gdb.make_engine(url)
    gdb.upgrade(engine)
    sessions = gdb.make_sessionmaker(engine)
    report = import_centres(sessions, SEED.read_text(encoding="utf-8"), gazetteer)
    assert report.inserted == SEED_ROWS
    add_staff(sessions, "clerk@thusong.example", "", "clerk", "correct-horse-battery", [1])
    for i in range(25):
        insert_message(engine, direction="out", idempotency_key=f"backup:{i}", phone=f"+2782555{i:04d}",
                       text="Your nearest centre", queue="replies", status="sent", segments=1, encoding="GSM-7")
    engine.dispose()


def cli(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url, "REDIS_URL": ""})


def round_trip(source: str, target: str, tmp_path: Path) -> dict:
    out = tmp_path / "thusong.tar"
    made = cli(source, "backup", "--output", str(out))
    assert made.exit_code == 0, made.output
    # Every citizen's number is in it: readable by the service user only, whatever the umask.
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    manifest = backups.read_manifest(out)
    assert manifest["tables"] == counts(source)
    assert manifest["describe_sha256"] == centres_checksum(source)
    assert manifest["tables"]["centres"] == SEED_ROWS and manifest["tables"]["messages"] >= 25
    restored = cli(target, "restore", str(out))
    assert restored.exit_code == 0, restored.output
    assert counts(target) == counts(source)
    assert centres_checksum(target) == centres_checksum(source)
    again = cli(target, "restore", str(out))  # the target is no longer empty
    assert again.exit_code == 1 and "restore into an empty database" in again.output
    return manifest


def test_sqlite_round_trip(runtime, tmp_path):
    source, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
    seed(source, runtime.gazetteer)
    manifest = round_trip(source, target, tmp_path)
    assert manifest["database"] == "sqlite"
    assert set(manifest["revisions"]) == gdb.revisions(gdb.make_engine(source))[1]


@pytest.fixture
def pg_target():
    """A second, empty PostgreSQL database next to TEST_DATABASE_URL's, dropped afterwards."""
    if not PG_URL.startswith("postgresql"):
        pytest.skip("PostgreSQL round trip: set TEST_DATABASE_URL to a PostgreSQL database")
    name = f"thusong_restore_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name], check=True)


def test_postgresql_round_trip(seeded, pg_target, tmp_path):
    add_staff(seeded.sessions, "admin@thusong.example", "", "admin", "correct-horse-battery")
    for i in range(25):
        insert_message(seeded.engine, direction="out", idempotency_key=f"backup:{i}", phone=f"+2782555{i:04d}",
                       text="Your nearest centre", queue="replies", status="sent", segments=1, encoding="GSM-7")
    manifest = round_trip(seeded.settings.DATABASE_URL, pg_target, tmp_path)  # this run's (xdist: this worker's)
    assert manifest["database"] == "postgresql"
    with tarfile.open(tmp_path / "thusong.tar") as tar:
        assert tar.getnames() == ["manifest.json", "database.pgdump"]
        assert tar.extractfile("database.pgdump").read(5) == b"PGDMP"  # pg_dump's custom format


def test_a_restore_that_differs_from_its_manifest_fails(runtime, tmp_path):
    source, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
    seed(source, runtime.gazetteer)
    out, forged = tmp_path / "thusong.tar", tmp_path / "forged.tar"
    assert cli(source, "backup", "--output", str(out)).exit_code == 0
    with tarfile.open(out) as tar, tarfile.open(forged, "w") as new:
        manifest = json.load(tar.extractfile("manifest.json"))
        manifest["tables"]["centres"] = SEED_ROWS + 1
        raw = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        new.addfile(info, io.BytesIO(raw))
        member = tar.getmember("database.sqlite")
        new.addfile(member, tar.extractfile(member))
    result = cli(target, "restore", str(forged))
    assert result.exit_code == 1
    assert f"FAIL centres: {SEED_ROWS + 1} rows in the backup, {SEED_ROWS} restored" in result.output


def test_not_a_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all")
    result = cli(f"sqlite:///{tmp_path / 'x.db'}", "restore", str(junk))
    assert result.exit_code == 1 and "not a backup" in result.output


def test_a_backup_taken_while_rows_are_written_restores_to_its_manifest(seeded, tmp_path, request):
    """The manifest and the dump describe one moment: a writer inserting all along does not
    make the restored counts differ from the manifest (the restore checks them)."""
    stop, written = threading.Event(), []

    def writer() -> None:
        while not stop.is_set():
            n = len(written)
            insert_message(seeded.engine, direction="out", idempotency_key=f"live:{n}", phone=f"+2782666{n:04d}",
                           text="Your nearest centre", queue="replies", status="sent", segments=1, encoding="GSM-7")
            written.append(n)

    source = seeded.settings.database_url
    if source.startswith("postgresql"):
        target = request.getfixturevalue("pg_target")
    else:
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(written) >= 5)
        out = tmp_path / "live.tar"
        made = cli(source, "backup", "--output", str(out))
        assert made.exit_code == 0, made.output
    finally:
        stop.set()
        thread.join()
    restored = cli(target, "restore", str(out))
    assert restored.exit_code == 0, restored.output  # counts and checksum match the manifest
    assert 5 <= backups.read_manifest(out)["tables"]["messages"] <= len(written)


def test_a_backup_whose_dump_is_a_link_is_refused(runtime, tmp_path):
    """The dump is read out of the tar, never extracted (extraction filters need Python 3.11.4;
    Debian 12 has 3.11.2): only a regular file is read, never what a link names."""
    source, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
    seed(source, runtime.gazetteer)
    out, forged = tmp_path / "thusong.tar", tmp_path / "forged.tar"
    assert cli(source, "backup", "--output", str(out)).exit_code == 0
    with tarfile.open(out) as tar, tarfile.open(forged, "w") as new:
        manifest = tar.getmember("manifest.json")
        new.addfile(manifest, tar.extractfile(manifest))
        dump = tar.getmember("database.sqlite")
        new.addfile(dump, tar.extractfile(dump))  # read first: the link below then points at it
        link = tarfile.TarInfo("database.sqlite")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        new.addfile(link)
    result = cli(target, "restore", str(forged))
    assert result.exit_code == 1 and "database.sqlite in the backup is not a regular file" in result.output
    assert not inspect(gdb.make_engine(target)).get_table_names()
