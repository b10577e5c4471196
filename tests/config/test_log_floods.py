"""An outage logs its first failure in full, then one summary line per window, not one
traceback per request (a 10 s database outage once wrote ~175,000 lines)."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import TOKEN, captured_logs
from tests.workers import wait_until

HOPS = 500
SUMMARY = re.compile(r"ussd hop failed: (\d+) more in the last 10 s \(answered with an apology\)")


@pytest.mark.parametrize("rt_without_db", ["no-tables", "refused"], indirect=True)
def test_an_outage_logs_one_traceback_then_a_summary(rt_without_db):
    from gateway.web import create_app

    client = create_app(runtime=rt_without_db).test_client()
    with captured_logs("INFO") as out:
        for i in range(HOPS):
            resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data={
                "sessionId": f"ATUid_flood_{i}", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567", "text": ""})
            assert resp.status_code == 200 and resp.text.startswith("END ")  # each caller got the apology
    lines = out.getvalue().splitlines()
    print(f"{HOPS} failing hops -> {len(lines)} log lines")
    assert sum("ERROR gateway.ussd.hop: ussd hop failed (session" in line for line in lines) == 1  # in full, once
    counts = [int(m[1]) for m in map(SUMMARY.search, lines) if m]
    assert counts and sum(counts) == HOPS - 1
    assert len(lines) < 200  # one (chained) traceback and a summary, not one per hop


def _open_windows() -> int:
    """Kinds of failure the installed handler is still counting (0: every window has closed)."""
    return sum(len(h._windows) for h in logging.getLogger().handlers if getattr(h, "_thusong", False))


def _fail(log: logging.Logger, message: str = "send failed for batch %s") -> None:
    try:
        raise ConnectionError("redis down")
    except ConnectionError:
        log.exception(message, 7)


def test_after_a_quiet_window_the_next_failure_has_its_traceback_again():
    log = logging.getLogger("test.floods")
    with captured_logs("INFO", repeat_window=0.2) as out:
        for _ in range(3):
            _fail(log)
        wait_until(lambda: "2 more like this" in out.getvalue(), timeout=5, every=0.02)  # the window closed
        wait_until(lambda: not _open_windows(), timeout=5, every=0.02)  # a quiet window: the kind is forgotten
        _fail(log)
    text = out.getvalue()
    assert text.count("ERROR test.floods: send failed for batch 7\nTraceback") == 2
    assert text.count("2 more like this in the last 0.2 s: send failed for batch %s") == 1


def test_different_failures_and_ordinary_lines_are_not_collapsed():
    log = logging.getLogger("test.floods")
    with captured_logs("INFO") as out:
        for _ in range(3):
            _fail(log, "send failed for batch %s")
            _fail(log, "sweep failed after %s s")
            log.info("batch %s sent", 7)
    text = out.getvalue()
    assert text.count("Traceback") == 2 and text.count("INFO test.floods: batch 7 sent") == 3
    assert "2 more like this in the last 10 s: send failed" in text
    assert "2 more like this in the last 10 s: sweep failed" in text
