"""Migration 0006: each account's single ``centre_id`` becomes a ``staff_centres`` row (and
back on downgrade); the audit table appears. On a SQLite file, where the column drop rebuilds
the table; and on PostgreSQL whenever ``TEST_DATABASE_URL`` names one (CI's second pass), in an
empty database of its own made beside it and dropped after."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, text

from gateway.store.engine import alembic_config, make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
URLS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])


@pytest.fixture(params=URLS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
        return
    name = f"thusong_migrate_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    engine = make_engine(PG_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name], check=True)


def migrate(engine, revision: str, down: bool = False) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_centre_links_survive_the_upgrade_and_the_downgrade(engine):
    migrate(engine, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO centres (id, key, name, active, updated_at) VALUES "
                          "(1, 'a', 'A', true, CURRENT_TIMESTAMP), (2, 'b', 'B', true, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO staff (id, email, name, password_hash, role, centre_id, active, created_at) "
                          "VALUES (1, 'c@x.org', 'C', 'h', 'clerk', 2, true, CURRENT_TIMESTAMP), "
                          "(2, 'a@x.org', 'A', 'h', 'admin', NULL, true, CURRENT_TIMESTAMP)"))
    migrate(engine, "0006")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT staff_id, centre_id FROM staff_centres")).all() == [(1, 2)]
        assert conn.execute(text("SELECT count(*) FROM staff")).scalar() == 2
        conn.execute(text("INSERT INTO staff_centres VALUES (1, 1)"))
    inspector = inspect(engine)
    assert "centre_id" not in {c["name"] for c in inspector.get_columns("staff")}
    assert {"id", "at", "staff_id", "actor", "action", "target", "address", "detail"} == {
        c["name"] for c in inspector.get_columns("audit_events")}
    migrate(engine, "0004", down=True)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, centre_id FROM staff ORDER BY id")).all() == [(1, 1), (2, None)]
    assert "staff_centres" not in inspect(engine).get_table_names()
