"""``/metrics``: a bearer token in production, and one count across every gunicorn worker."""

from __future__ import annotations

import dataclasses
import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

from tests.conftest import TOKEN
from tests.workers import ROOT


def app_for(rt, **changes):
    from gateway.web import create_app

    application = create_app(runtime=dataclasses.replace(rt, settings=rt.settings.with_(**changes)))
    application.config["TESTING"] = True
    return application


@pytest.mark.parametrize(
    "changes, headers, status",
    [
        ({"THUSONG_ENV": "production", "METRICS_TOKEN": "m1"}, {}, 401),
        ({"THUSONG_ENV": "production", "METRICS_TOKEN": "m1"}, {"Authorization": "Bearer nope"}, 403),
        ({"THUSONG_ENV": "production", "METRICS_TOKEN": "m1"}, {"Authorization": "Bearer m1"}, 200),
        ({"THUSONG_ENV": "production", "METRICS_TOKEN": "m2,m1"}, {"Authorization": "Bearer m1"}, 200),
        ({}, {}, 200),
        ({"METRICS_TOKEN": "m1"}, {}, 401),
    ],
    ids=["prod-no-token", "prod-wrong", "prod-right", "prod-rotation", "dev-open", "dev-with-token"],
)
def test_metrics_needs_the_bearer_token_in_production(rt, changes, headers, status):
    resp = app_for(rt, **changes).test_client().get("/metrics", headers=headers)
    assert resp.status_code == status
    if status == 200:
        assert b"thusong_ussd_hops_total" in resp.data


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, method: str = "GET", body: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    conn.request(method, path, body, headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, data


def _hops_counted(text: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("thusong_ussd_hops_total{"))


@pytest.fixture
def gunicorn_web(rt, settings):
    """`thusong web` (gunicorn, 2 sync workers) on a free port, sharing the tests' Redis and SQL."""
    port = _free_port()
    env = {**os.environ, **settings.as_environ()}
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "web", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "thusong web did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_hop_counter_counts_across_every_gunicorn_worker(gunicorn_web):
    """Issue 9.3: each scrape showed only the answering worker's hops."""
    port, hops = gunicorn_web, 40
    body = urllib.parse.urlencode({"sessionId": "M", "serviceCode": "*134*1234#",
                                   "phoneNumber": "+27821234567", "networkCode": "65501", "text": ""})

    def dial(n: int) -> None:
        for _ in range(n):
            status, text = _get(port, f"/webhooks/at/ussd?token={TOKEN}", "POST", body)
            assert status == 200 and text.startswith(("CON ", "END "))

    # Four callers at once, so that both workers answer some hops.
    threads = [threading.Thread(target=dial, args=(hops // 4,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = []
    scrapers = [threading.Thread(target=lambda: counts.append(_hops_counted(_get(port, "/metrics")[1])))
                for _ in range(8)]
    for t in scrapers:
        t.start()
    for t in scrapers:
        t.join()
    assert counts == [hops] * 8
