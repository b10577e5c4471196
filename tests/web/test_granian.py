"""``thusong web --server granian`` serves the real app: USSD hops, an inbound SMS stored for
its answer, and one metrics count across its worker processes; told to stop (systemd's SIGTERM),
it answers what is in flight and refuses what comes after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select, text

from gateway.store.models import Message
from tests.conftest import TOKEN
from tests.live import http, thusong_web, web_processes
from tests.web.test_metrics import _dial_and_scrape
from tests.workers import ROOT, wait_until

pytestmark = pytest.mark.slow


def test_granian_serves_ussd_hops_and_an_inbound_sms(seeded, settings):
    with thusong_web(settings, workers=2, server="granian") as port:
        _dial_and_scrape(port, hops=8)  # hops answered CON/END; /metrics adds up both workers
        status, body = http(port, "POST", f"/webhooks/at/sms?token={TOKEN}", {
            "from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
            "id": "ATXid_granian_1", "linkId": "l1", "networkCode": "65501"})
        assert status == 200, body
    with seeded.sessions() as s:
        row = s.scalars(select(Message).where(Message.direction == "in")).one()
    assert (row.text, row.status) == ("CENTRE Soweto", "received")


def test_granians_own_lines_go_through_the_masked_handler(settings, tmp_path):
    """granian's lines (a worker that died, an exception with its request) come out through the
    product's masking handler, in its format, never granian's own console handler."""
    out = tmp_path / "web.log"
    with thusong_web(settings, server="granian", output=out, LOG_LEVEL="INFO"):
        # granian left waiting for a worker when the signal came before that worker had started
        # (seen: "Shutting down granian", then "Started worker-1", then nothing).
        deadline = time.monotonic() + 30
        while not all(f"Started worker-{n}" in out.read_text() for n in (1, 2)) and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = out.read_text().splitlines()
    assert [line for line in lines if " INFO _granian: Starting granian" in line], lines
    assert not [line for line in lines if line.startswith("[")], lines  # granian's "[INFO] …" format


@contextmanager
def messages_locked(rt):
    """No inbound SMS is stored while inside: SQLite's write lock (the web waits out its busy
    timeout), PostgreSQL's lock on the table (for less than the web's lock timeout)."""
    raw = rt.engine.raw_connection()
    try:
        sql = "BEGIN IMMEDIATE" if rt.engine.dialect.name == "sqlite" else "LOCK TABLE messages IN EXCLUSIVE MODE"
        raw.driver_connection.execute(sql)
        yield
    finally:
        raw.rollback()
        raw.close()


def test_a_stop_signal_lets_the_request_in_flight_finish(rt, settings):
    sms = {"from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
           "id": "ATXid_granian_stop", "linkId": "l1", "networkCode": "65501"}
    answers = []
    # One worker: once /healthz answers it has started, so the signal cannot reach one that is
    # still starting (that one granian would wait for until GRANIAN_KILL_TIMEOUT).
    with thusong_web(settings, workers=1, server="granian") as port:
        server = web_processes(port)[0]
        with messages_locked(rt):
            in_flight = threading.Thread(target=lambda: answers.append(
                http(port, "POST", f"/webhooks/at/sms?token={TOKEN}", sms, timeout=10)))
            in_flight.start()
            _wait_for_a_lock_waiter(rt)  # the request is in the worker, waiting on the lock
            os.kill(server, signal.SIGTERM)  # systemd's stop (KillMode=mixed: the main process)
            # No new requests once told to stop. Watched in the kernel's socket table, not by
            # connecting: a connection taken into the backlog of a listener being closed hangs
            # or drops, and on PostgreSQL the request in flight has only the web's 3 s lock
            # timeout to wait.
            wait_until(lambda: not _listening(port), timeout=5, every=0.02)
            with pytest.raises(ConnectionRefusedError):
                http(port, "GET", "/healthz", timeout=2)
            assert in_flight.is_alive()
        in_flight.join(10)
        assert answers and answers[0][0] == 200, answers  # stored, then answered
        wait_until(lambda: not _running(server), timeout=10, every=0.05)  # it exits once nothing is in flight
    with rt.sessions() as s:
        assert s.scalars(select(Message.at_message_id).where(Message.direction == "in")).all() == ["ATXid_granian_stop"]


def _wait_for_a_lock_waiter(rt) -> None:
    """PostgreSQL: until a session waits on a lock. SQLite's waiter (the busy handler) is not
    visible from outside: give the request a second to reach it."""
    if rt.engine.dialect.name != "postgresql":
        time.sleep(1.0)
        return
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")

    def waiting() -> bool:
        with rt.engine.connect() as conn:
            return conn.scalar(query) > 0

    wait_until(waiting, timeout=10, every=0.05)


def _listening(port: int) -> bool:
    """Something listens on loopback ``port`` (the kernel's TCP tables; state 0A is LISTEN)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            _slot, local, _remote, state, *_rest = row.split()
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killing_granians_main_process_takes_its_workers_and_the_port_with_it(settings):
    """``kill -9`` of the main process (an OOM kill, an operator): its workers must not go on
    serving the port, orphaned, beside the restarted server's."""
    with thusong_web(settings, workers=2, server="granian") as port:
        server, workers = _server_and_workers(port, 2)
        os.kill(server, signal.SIGKILL)
        try:
            wait_until(lambda: not _listening(port) and not any(map(_running, workers)), timeout=15, every=0.05)  # a worker still starting (loaded host) first finishes its import
        finally:
            try:
                os.killpg(server, signal.SIGKILL)  # what is left of its process group, if the test failed
            except ProcessLookupError:
                pass


def _server_and_workers(port: int, count: int) -> tuple[int, list[int]]:
    """`thusong web`'s pid and its ``count`` workers' once all have started."""
    def started():
        server, workers = web_processes(port)
        return (server, workers) if len(workers) == count else None

    return wait_until(started, timeout=30, every=0.05)


def test_a_worker_whose_server_died_before_it_asked_to_die_with_it_stops(settings):
    """The kernel signals a worker only for a parent death after its request: a server gone
    before that is found by the worker's own look at its parent."""
    code = "from gateway.cli.processes import _granian_worker_app; _granian_worker_app(1); print('serving')"
    env = {**os.environ, **settings.as_environ()}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM and "serving" not in done.stdout, (done.returncode, done.stderr[-500:])
