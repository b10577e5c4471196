"""A webhook waiting on a database lock is answered within seconds instead of holding a worker.

The web processes' PostgreSQL connections carry a lock and a statement timeout; RQ workers and
commands keep PostgreSQL's default, no limit. A USSD hop or an inbound SMS stuck behind a lock
someone else holds (a migration's ALTER TABLE, a transaction left open) fails after the lock
timeout: the caller gets the apology, AT gets a 500 for the SMS and sends it again later, and
the server's worker is free for the next request. PostgreSQL only, as SQLite has neither
timeout, but for the connect timeout, which needs no database at all. A database that says
nothing at all is the client's deadline's to end (tests/web/test_db_freeze.py); the server's
limits are shorter, so a lock or a slow statement ends with the server's error first.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.store.engine import make_engine
from gateway.web.app import WEB_DB_TIMEOUTS, create_app
from gateway.web.context import runtime_of
from menus.engine import apology_text
from tests.conftest import TOKEN
from tests.live import http, thusong_web

pytestmark = pytest.mark.slow

ANSWER_WITHIN = 5.0  # seconds: AT's USSD callback gives up after ~10 s
HOLD = 15.0  # the lock is held at least this long: the request's own timeout, by which it counts as hung
SMS = {"from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
       "id": "ATXid_locked_1", "linkId": "l1", "networkCode": "65501"}
DIAL = {"sessionId": "ATUid_locked_1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
        "networkCode": "65501", "text": ""}


def _postgresql_only(settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("lock and statement timeouts are PostgreSQL's; SQLite has only its busy timeout")


def _show(engine, name: str) -> str:
    with engine.connect() as conn:
        return conn.scalar(text(f"SHOW {name}"))


# label: the table the test locks, the webhook that needs it, what it must answer
CASES = [
    ("first-dial", "citizens", "/webhooks/at/ussd", DIAL,  # a first dial reads the caller's stored language
     lambda status, body: status == 200 and body == "END " + apology_text("en")),
    ("inbound-sms", "messages", "/webhooks/at/sms", SMS,  # stored before the 200: a 500 makes AT retry
     lambda status, body: status == 500),
]


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_a_webhook_behind_a_held_lock_is_answered_within_seconds(rt, settings, server):
    _postgresql_only(settings)
    with thusong_web(settings, workers=2, server=server) as port:
        for label, table, path, form, answered in CASES:
            with rt.engine.connect() as holder:
                holder.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                try:
                    status, body = http(port, "POST", f"{path}?token={TOKEN}", form, timeout=HOLD)
                except TimeoutError:
                    status, body = None, f"no answer in {HOLD:.0f} s"
                took = time.monotonic() - started
                holder.rollback()  # the lock goes
            assert took < ANSWER_WITHIN and answered(status, body), \
                f"{label}: {status} {body!r} after {took:.1f} s with {table} locked ({server})"
        # Once the lock is gone, AT's retry of the SMS is stored and the caller can dial again.
        assert http(port, "POST", f"/webhooks/at/sms?token={TOKEN}", SMS)[0] == 200
        status, body = http(port, "POST", f"/webhooks/at/ussd?token={TOKEN}", {**DIAL, "sessionId": "ATUid_2"})
        assert status == 200 and body.startswith("CON "), body


def test_only_the_web_apps_connections_have_the_timeouts(rt, settings):
    """The web app's runtime sets both timeouts on its connections; the runtime RQ workers and
    commands build (fan-out, migrations, backups run long) sets none."""
    _postgresql_only(settings)
    web = runtime_of(create_app(settings))
    try:
        assert (_show(web.engine, "statement_timeout"), _show(web.engine, "lock_timeout")) == (
            f"{WEB_DB_TIMEOUTS['statement_timeout_ms'] // 1000}s", f"{WEB_DB_TIMEOUTS['lock_timeout_ms'] // 1000}s")
    finally:
        web.close()
    assert (_show(rt.engine, "statement_timeout"), _show(rt.engine, "lock_timeout")) == ("0", "0")


def test_the_timeouts_keep_the_options_the_database_url_gives(settings):
    _postgresql_only(settings)
    url = make_url(settings.database_url).update_query_dict({"options": "-c work_mem=5MB"})
    engine = make_engine(url.render_as_string(hide_password=False), lock_timeout_ms=1_500)
    try:
        assert (_show(engine, "work_mem"), _show(engine, "lock_timeout"), _show(engine, "statement_timeout")) == (
            "5MB", "1500ms", "0")
    finally:
        engine.dispose()


def test_the_web_gives_up_connecting_to_a_database_that_does_not_answer():
    """A database host that takes the connection and then says nothing (a hung server, packets
    swallowed on the way) ends the web's connect after its connect timeout instead of holding
    the server's worker. No PostgreSQL needed: a listener that never speaks."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    engine = make_engine(f"postgresql://thusong:x@127.0.0.1:{listener.getsockname()[1]}/thusong", **WEB_DB_TIMEOUTS)
    outcome: list[tuple[str, float]] = []

    def connect() -> None:
        started = time.monotonic()
        try:
            engine.connect().close()
        except Exception as exc:  # noqa: BLE001 - the kind is reported below
            outcome.append((type(exc).__name__, time.monotonic() - started))

    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(ANSWER_WITHIN + 5)
    listener.close()
    assert outcome, "still connecting 10 s later"
    assert outcome[0][0] == "OperationalError" and outcome[0][1] < ANSWER_WITHIN, outcome


def test_the_servers_limits_answer_before_the_webs_own_deadline():
    """A lock wait or a slow statement ends with the server's error, not as a silence the web
    would take for a hung database (and stop calling it for a moment)."""
    limits = WEB_DB_TIMEOUTS
    assert max(limits["lock_timeout_ms"], limits["statement_timeout_ms"]) < limits["deadline_s"] * 1000
    assert limits["deadline_s"] < ANSWER_WITHIN  # a hop's apology still inside the bound
