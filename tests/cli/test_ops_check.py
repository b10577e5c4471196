"""``thusong check [--offline]``: a production environment validated without serving, one line
per check (ok/FAIL and why), exit status for scripts."""

from __future__ import annotations

import secrets

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.cli.ops import weak_token
from gateway.store.engine import make_engine, revisions, upgrade
from tests.fake_at import FakeAT
from tests.redis_process import RedisProcess

STRONG = secrets.token_urlsafe(32)


@pytest.fixture
def fake():
    with FakeAT() as server:
        server.api_keys = {"prod-key-0123456789"}
        yield server


@pytest.fixture(scope="module")
def persistent_redis(tmp_path_factory):
    """A Redis server that keeps its data (AOF), as production's should."""
    server = RedisProcess(append_only_dir=str(tmp_path_factory.mktemp("aof"))).start()
    yield server
    server.stop()


@pytest.fixture
def prod(rt, settings, fake, persistent_redis, monkeypatch):
    """The test database (migrated) and a persistent Redis, set up as production with AT pointed
    at the fake."""
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REDIS_URL", persistent_redis.url)
    monkeypatch.delenv("BULK_SCHEDULE", raising=False)
    for key, value in {"THUSONG_ENV": "production", "WEBHOOK_TOKEN": STRONG, "METRICS_TOKEN": STRONG[::-1],
                       "SECRET_KEY": STRONG, "AT_USERNAME": "thusong", "AT_API_KEY": "prod-key-0123456789",
                       "AT_API_URL": fake.base_url, "AT_TIMEOUT_SECONDS": "2"}.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def run_check(*args):
    return CliRunner().invoke(main, ["check", *args])


def test_a_sound_production_environment_passes(prod, fake):
    result = run_check()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 6 and all(line.startswith("ok") for line in lines), result.output
    assert "balance ZAR 120.0000" in result.output and "at head" in result.output
    assert [r for r in fake.requests if r.form] == []  # nothing was sent


def test_offline_does_not_call_at(prod, fake, monkeypatch):
    monkeypatch.setenv("AT_API_KEY", "a-key-at-would-refuse")
    result = run_check("--offline")
    assert result.exit_code == 0, result.output
    assert "not asked (--offline)" in result.output


@pytest.mark.parametrize(
    "changes, failing, why",
    [
        ({"AT_API_KEY": "revoked-key"}, "AT credentials", "AT refused"),
        ({"AT_API_URL": "http://127.0.0.1:1/version1"}, "AT credentials", "could not ask AT"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "redis", "ConnectionError"),
        ({"DATABASE_URL": "postgresql://thusong:pw-secret@127.0.0.1:1/none"}, "database", "cannot read"),
        ({"WEBHOOK_TOKEN": "short-token"}, "WEBHOOK_TOKEN", "fewer than 32"),
        ({"METRICS_TOKEN": "change-me-" * 4}, "METRICS_TOKEN", "placeholder"),
        ({"METRICS_TOKEN": f"{STRONG},test-webhook-token"}, "METRICS_TOKEN", "fewer than 32"),
        ({"THUSONG_ENV": "development"}, "settings", "not production"),
    ],
    ids=["at-refuses-key", "at-unreachable", "redis-unreachable", "database-unreachable", "short-token",
         "placeholder-token", "weak-token-in-rotation", "not-production"],
)
def test_each_problem_fails_its_own_line_saying_why(prod, changes, failing, why):
    for key, value in changes.items():
        prod.setenv(key, value)
    result = run_check()
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert line.startswith(f"FAIL {failing}:") and why in line, line
    assert "pw-secret" not in result.output


def test_a_database_not_at_head_is_named(prod, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    (head,) = revisions(engine)[1]
    engine.dispose()
    prod.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'old.db'}")
    result = run_check("--offline")
    assert result.exit_code == 1
    assert f"FAIL database: at 0004 — not migrated to head ({head}): run `thusong db upgrade`" in result.output


def test_invalid_settings_fail_before_anything_else(prod):
    prod.setenv("LOG_LEVEL", "LOUD")
    result = run_check()
    assert result.exit_code == 1 and result.output.startswith("FAIL settings: invalid") and "LOG_LEVEL" in result.output


@pytest.mark.parametrize(
    "token, weak",
    [(STRONG, False), ("x" * 40, True), ("a" * 31, True), ("your_token_here_" * 3, True),
     ("ChangeMe" * 5, True), ("0123456789" * 4, True)],
    ids=["generated", "one-character", "short", "your-token-here", "changeme", "digits"],
)
def test_weak_tokens(token, weak):
    assert (weak_token(token) is not None) is weak


@pytest.mark.slow
def test_redis_that_keeps_nothing_on_disk_is_a_warning(prod):
    server = RedisProcess().start()  # --appendonly no, no save schedule
    try:
        prod.setenv("REDIS_URL", server.url)
        result = run_check()
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "WARN redis: reachable, keeps nothing on disk — a restart of Redis empties" in result.output


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("BULK_SCHEDULE", "2026-01-01T00:00:00+00:00/2027-01-01T00:00:00+00:00",
     "FAIL BULK_SCHEDULE: set — replaces the quiet-hours rule"),
    ("AT_USERNAME", "sandbox", "FAIL AT_USERNAME: sandbox — AT's sandbox delivers to no phone"),
], ids=["test schedule", "AT sandbox"])
def test_settings_valid_but_wrong_in_production_fail(prod, name, value, shown):
    prod.setenv(name, value)
    result = run_check("--offline")
    assert result.exit_code == 1 and shown in result.output, result.output
    prod.setenv("THUSONG_ENV", "development")
    assert shown not in run_check("--offline").output  # a laptop may use either
