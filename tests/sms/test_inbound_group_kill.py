"""Inbound SMS stored in shared commits (gateway.store.group_commit) under real load through
``thusong web``: a web process killed with SIGKILL mid-load loses no SMS it answered 200 for."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest
from sqlalchemy import select

from gateway.sms.inbound import inbound_key
from gateway.store.models import Message
from tests.conftest import TOKEN
from tests.live import http, thusong_web, web_processes

pytestmark = pytest.mark.slow


def _group_rows(port: int) -> tuple[float, float]:
    """(commits, rows) of inbound SMS so far, from /metrics (every worker's, added up)."""
    _status, body = http(port, "GET", "/metrics")
    count = re.search(r"^thusong_sms_inbound_group_rows_count (\S+)$", body, re.M)
    total = re.search(r"^thusong_sms_inbound_group_rows_sum (\S+)$", body, re.M)
    return (float(count.group(1)) if count else 0.0), (float(total.group(1)) if total else 0.0)


def test_sigkill_mid_load_loses_no_sms_answered_200(rt, settings):
    answered: list[str] = []  # AT ids we answered 200 (ok) for
    sent = 0
    lock = threading.Lock()
    stop = threading.Event()

    def citizen(tid: int) -> None:
        nonlocal sent
        n = 0
        while not stop.is_set():
            at_id = f"ATXkill_{tid}_{n}"
            n += 1
            with lock:
                sent += 1
            try:
                status, body = http(port, "POST", f"/webhooks/at/sms?token={TOKEN}", {
                    "from": f"+278212{tid:02d}{n % 1000:03d}", "to": "31234", "text": "CENTRE Soweto",
                    "date": "2026-11-22 10:00:00", "id": at_id, "linkId": f"l{n}", "networkCode": "65501"},
                    timeout=5)
            except OSError:
                continue  # the server is gone: no answer, no promise
            if status == 200 and '"ok":true' in body.replace(" ", ""):
                with lock:
                    answered.append(at_id)

    with thusong_web(settings, workers=2) as port:  # its default threads: requests share commits
        citizens = [threading.Thread(target=citizen, args=(t,)) for t in range(12)]
        for thread in citizens:
            thread.start()
        deadline = time.monotonic() + 60
        # Load until some commits held several SMS (what this test is about), then kill.
        while True:
            commits, rows = _group_rows(port)
            if len(answered) >= 300 and rows > commits:
                break
            assert time.monotonic() < deadline, f"no shared commit after {len(answered)} SMS ({commits}, {rows})"
            time.sleep(0.05)
        server, workers = web_processes(port)
        for pid in [server, *workers]:
            os.kill(pid, signal.SIGKILL)  # mid-load: requests in flight in every worker
        time.sleep(0.5)  # the clients' connections fail at once; let them see it
        stop.set()
        for thread in citizens:
            thread.join(15)
    with rt.sessions() as s:
        stored = set(s.scalars(select(Message.idempotency_key).where(Message.direction == "in")))
    print(f"sent {sent}, answered 200 {len(answered)}, stored {len(stored)}; shared commits before the kill: "
          f"{commits:.0f} commits held {rows:.0f} SMS")
    lost = [at_id for at_id in answered if inbound_key(at_id) not in stored]
    assert not lost, f"{len(lost)} SMS answered 200 but not stored, e.g. {lost[:3]}"
    assert len(answered) <= len(stored) <= sent
