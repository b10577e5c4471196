"""A database that takes connections and then says nothing never wedges the web or the operator.

A stalled network path or a frozen primary looks, from the client, like this: the TCP
connection stays up (the kernel on the far side still acknowledges), and no answer comes. No
server-side timeout can help then, so the web's and the operator commands' own deadlines are
what end the wait. Measured here through :class:`FreezingProxy`, a TCP proxy in front of
PostgreSQL told to stop forwarding mid-traffic (sockets left open) and then to go on:
- a USSD hop is answered ``CON``/``END`` within 5 s (AT gives up after ~10 s);
- an inbound SMS gets an answer within 10 s (a 500 is fine: AT retries it);
- ``/healthz`` (readiness) and ``/metrics`` answer within 5 s, ``/livez`` at once;
- once forwarding resumes, hops are served normally again within 10 s;
- ``thusong status`` and ``thusong check`` end, naming the database, within 9 s of starting up.
PostgreSQL only (SQLite has no network path): see the SQLite note at the end.
"""

from __future__ import annotations

import itertools
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.cli.ops import OPERATOR_DB_TIMEOUTS, status_findings
from gateway.runtime import Runtime
from gateway.web.app import create_app
from gateway.web.context import runtime_of
from menus.engine import apology_text
from tests.conftest import TOKEN
from tests.live import http, thusong_web
from tests.workers import ROOT, wait_until

pytestmark = pytest.mark.slow

HOP_WITHIN, SMS_WITHIN, HEALTH_WITHIN, RECOVER_WITHIN = 5.0, 10.0, 5.0, 10.0
COMMAND_WAIT = 9.0  # seconds a command may take beyond start-up with the database silent (its connect gives up after 2 s)
FREEZE = 6.0  # seconds the proxy forwards nothing, mid-traffic
CALLERS = 4  # hops in flight at once, each caller dialling again as soon as answered
PAUSE = 0.05  # seconds between one caller's hops


class FreezingProxy:
    """TCP from a free loopback port to ``target``. ``freeze()`` stops moving bytes both ways,
    closing nothing (connections made meanwhile are accepted and held too); ``thaw()`` moves
    what waited and goes on. A threading proxy: one thread per direction per connection."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.closed = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.forwarding.clear()

    def thaw(self) -> None:
        self.forwarding.set()

    def close(self) -> None:
        self.closed = True
        self.forwarding.set()
        for s in [self.listener, *self.sockets]:
            s.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self.closed:
                if not self.forwarding.wait(0.05) or not select.select([src], [], [], 0.05)[0]:
                    continue  # frozen: what arrives stays in the kernel's buffers, unread
                data = src.recv(65536)
                if not data:
                    break
                while not self.forwarding.wait(0.05):  # frozen between read and write: hold it
                    if self.closed:
                        return
                dst.sendall(data)
        except (OSError, ValueError):  # ValueError: closed under select by close()
            pass
        for s in (src, dst):
            s.close()


@dataclass
class Answer:
    sent: float  # monotonic
    took: float
    status: int | None
    body: str


def _postgresql(settings) -> tuple[str, int]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a network path to freeze: PostgreSQL only (SQLite: see the end of this file)")
    url = make_url(settings.database_url)
    return url.host or "127.0.0.1", url.port or 5432


def _through(settings, proxy: FreezingProxy) -> str:
    url = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def _timed(port: int, method: str, path: str, form: dict | None = None, timeout: float = 15.0) -> Answer:
    sent = time.monotonic()
    try:
        status, body = http(port, method, path, form, timeout=timeout)
    except OSError as exc:  # TimeoutError: no answer at all
        status, body = None, type(exc).__name__
    return Answer(sent, time.monotonic() - sent, status, body)


class Callers:
    """``CALLERS`` threads dialling first hops (each a new caller: the language is read from the
    database) until stopped; every answer is kept."""

    def __init__(self, port: int):
        self.port, self.answers, self.stop = port, [], threading.Event()
        self.numbers = itertools.count(1_000_000)
        self.threads = [threading.Thread(target=self._call, daemon=True) for _ in range(CALLERS)]
        for t in self.threads:
            t.start()

    def _call(self) -> None:
        while not self.stop.is_set():
            n = next(self.numbers)
            self.answers.append(_timed(self.port, "POST", f"/webhooks/at/ussd?token={TOKEN}", {
                "sessionId": f"ATUid_freeze_{n}", "serviceCode": "*134*1234#", "phoneNumber": f"+2782{n:07d}",
                "networkCode": "65501", "text": ""}, timeout=HOP_WITHIN + 10))
            time.sleep(PAUSE)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def _served(a: Answer) -> bool:
    return a.status == 200 and a.body.startswith("CON ")


def _polled(port: int, path: str, until: threading.Event, out: list) -> None:
    while not until.is_set():
        out.append((path, _timed(port, "GET", path, timeout=HEALTH_WITHIN + 10)))
        time.sleep(0.2)


def test_the_web_answers_while_the_database_hangs_and_recovers_after(seeded, settings, tmp_path):
    proxy = FreezingProxy(_postgresql(settings))
    log = tmp_path / "web.log"
    try:
        with thusong_web(settings, workers=2, server="granian", output=log, DATABASE_URL=_through(settings, proxy)) as port:
            callers = Callers(port)
            # Traffic flowing (both servers warm, their pools holding connections through the proxy).
            wait_until(lambda: sum(map(_served, callers.answers)) >= 40, timeout=20, every=0.05)
            proxy.freeze()
            frozen_at = time.monotonic()
            probes: list = []
            stop_probes = threading.Event()
            pollers = [threading.Thread(target=_polled, args=(port, path, stop_probes, probes), daemon=True)
                       for path in ("/healthz", "/metrics", "/livez")]
            for t in pollers:
                t.start()
            sms: list[Answer] = []
            inbound = threading.Thread(target=lambda: sms.append(_timed(port, "POST", f"/webhooks/at/sms?token={TOKEN}", {
                "from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
                "id": "ATXid_freeze_1", "linkId": "l1", "networkCode": "65501"}, timeout=SMS_WITHIN + 5)), daemon=True)
            inbound.start()
            time.sleep(max(0.0, FREEZE - (time.monotonic() - frozen_at)))
            proxy.thaw()
            thawed_at = time.monotonic()
            stop_probes.set()
            # Until hops sent in the last second were all served, for at most RECOVER_WITHIN + 5 s.
            while time.monotonic() - thawed_at < RECOVER_WITHIN + 5:
                time.sleep(0.2)
                recent = [a for a in callers.answers if a.sent > time.monotonic() - 1.0 and a.sent > thawed_at]
                if len(recent) >= 3 and all(map(_served, recent)):
                    break
            callers.join()
            for t in [*pollers, inbound]:
                t.join(30)
            ready_after = _timed(port, "GET", "/healthz")
    finally:
        proxy.close()

    during = [a for a in callers.answers if a.sent < thawed_at and a.sent + a.took >= frozen_at]  # in flight
    answered = [a for a in during if a.status == 200 and a.body[:4] in ("CON ", "END ") and a.took < HOP_WITHIN]
    after = [a for a in callers.answers if a.sent >= thawed_at]
    # Recovered: the first hop served after forwarding resumed, with every hop sent after it served.
    first_served = min((a.sent + a.took for a in callers.answers if _served(a) and a.sent + a.took > thawed_at),
                       default=float("inf"))
    unserved_after = [a for a in after if not _served(a) and a.sent > first_served]
    recovery = first_served - thawed_at
    worst = max(a.took for a in during)
    print(f"\nfrozen {FREEZE:.0f} s: {len(answered)} of {len(during)} hops answered within {HOP_WITHIN:.0f} s, "
          f"worst {worst:.2f} s ({sum(a.body.startswith('END ') for a in during)} apologies); "
          f"inbound SMS {sms[0].status} after {sms[0].took:.2f} s; "
          + ", ".join(f"{path} worst {max(a.took for p, a in probes if p == path):.2f} s"
                      for path in ("/healthz", "/metrics", "/livez"))
          + f"; hops served again {recovery:.2f} s after forwarding resumed ({len(after)} hops sent after)")
    assert during and len(answered) == len(during), \
        [(round(a.took, 2), a.status, a.body[:40]) for a in during if a not in answered][:10]
    assert all(a.body in ("CON " + a.body[4:], "END " + apology_text("en")) for a in answered)
    assert sms[0].status is not None and sms[0].took < SMS_WITHIN, sms
    late = [(path, round(a.took, 2), a.status) for path, a in probes if a.status is None or a.took >= HEALTH_WITHIN]
    assert not late, late
    assert all(a.status == 200 for path, a in probes if path == "/livez")
    assert any(a.status == 503 for path, a in probes if path == "/healthz")  # not ready while frozen
    assert recovery < RECOVER_WITHIN and not unserved_after, \
        [(round(a.sent - thawed_at, 2), a.status, a.body[:30]) for a in after][-10:]
    assert ready_after.status == 200, ready_after
    logged = log.read_text()  # the operator sees it: the silence, and the end of it
    assert "database gave no answer" in logged and "database answers again" in logged, logged[-2000:]


def _run(command: list[str], env: dict, timeout: float) -> tuple[subprocess.CompletedProcess | None, float]:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "gateway.cli", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        done = None
    return done, time.monotonic() - started


@pytest.mark.parametrize("command", [["status"], ["check", "--offline"]])
def test_operator_commands_end_when_the_database_hangs(settings, command):
    """Measured beyond the command's start-up (its ``--help``: the same imports), which on a busy
    host takes seconds of its own."""
    proxy = FreezingProxy(_postgresql(settings))
    proxy.freeze()  # the connection is taken, and nothing more
    env = settings.with_(DATABASE_URL=_through(settings, proxy)).as_environ()
    try:
        _, start_up = _run([*command, "--help"], env, 60)
        done, took = _run(command, env, start_up + COMMAND_WAIT + 15)
    finally:
        proxy.close()
    print(f"\nthusong {' '.join(command)} with the database frozen: "
          f"{'no end' if done is None else f'exit {done.returncode}'} after {took:.2f} s ({start_up:.2f} s start-up)")
    assert done is not None and took - start_up < COMMAND_WAIT, \
        f"thusong {' '.join(command)}: {'still running' if done is None else 'ended'} after {took:.0f} s"
    assert done.returncode == 1
    assert "FAIL database" in done.stdout + done.stderr, done.stdout + done.stderr


def test_status_names_a_database_that_stops_answering_after_its_health_check(settings):
    """The database answered the health check and froze before the outbox figures: status says
    so in its table instead of ending in a traceback."""
    proxy = FreezingProxy(_postgresql(settings))
    rt = Runtime.from_settings(settings.with_(DATABASE_URL=_through(settings, proxy)), **OPERATOR_DB_TIMEOUTS)
    checked = rt.health

    def health_then_freeze() -> dict:
        checks = checked()
        proxy.freeze()
        return checks

    rt.health = health_then_freeze  # type: ignore[method-assign]
    try:
        findings = status_findings(rt, 60)
    finally:
        proxy.close()
        rt.close()
    assert [(f.name, f.value) for f in findings if f.problem and f.name == "database"] == [("database", "unreachable")]


def test_a_web_process_waits_on_sqlites_write_lock_for_a_bounded_time(settings):
    """SQLite: no network path to hang, but a web request waits for the write lock another
    process holds; its busy timeout bounds that wait (then "database is locked", the hop's
    apology, a 500 for an SMS)."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's busy timeout")
    web = runtime_of(create_app(settings))
    try:
        with web.engine.connect() as conn:
            busy_ms = conn.scalar(text("PRAGMA busy_timeout"))
    finally:
        web.close()
    assert 0 < busy_ms <= 30_000, busy_ms
