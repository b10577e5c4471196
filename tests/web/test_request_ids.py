"""One id per web request on every log line it causes — the webhook's and, through the job it
queued, the worker's — and one JSON access line per request (no token, no number)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys

import pytest

from config import configure_logging
from gateway.web.app import create_app
from tests.conftest import TOKEN
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env
from tests.workers import ROOT, wait_quiet

pytestmark = pytest.mark.slow
GIVEN = "0f3c9a7be21d4c55a9e0d3b1c2f4a6e8"  # what nginx's $request_id looks like


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def test_a_requests_id_names_its_lines_the_access_line_and_the_workers_reply(seeded, settings):
    json_settings = settings.with_(LOG_JSON=True, LOG_LEVEL="INFO")
    app = create_app(runtime=dataclasses.replace(seeded, settings=json_settings))
    web_log = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=web_log)
    try:
        resp = app.test_client().post(f"/webhooks/at/sms?token={TOKEN}", headers={"X-Request-Id": GIVEN}, data={
            "from": "+27821234567", "to": "31234", "text": "CENTRE Soweto", "date": "2026-11-22 10:00:00",
            "id": "ATXid_rid_1", "linkId": "l1", "networkCode": "65501"})
        made = app.test_client().get("/livez").headers["X-Request-Id"]
    finally:
        configure_logging("WARNING")
    assert resp.status_code == 200 and resp.headers["X-Request-Id"] == GIVEN
    assert len(made) == 16 and made != GIVEN  # none given: one is made

    lines = _lines(web_log)
    access = [line for line in lines if line["logger"] == "gateway.web.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("POST", "/webhooks/at/sms", 200), ("GET", "/livez", 200)]
    assert access[0]["request_id"] == GIVEN and isinstance(access[0]["ms"], float)
    assert any(line["logger"] == "gateway.sms.inbound" and line.get("request_id") == GIVEN for line in lines)
    assert "." in lines[0]["ts"].split("T")[1]  # milliseconds
    assert TOKEN not in web_log.getvalue() and "+27821234567" not in web_log.getvalue()

    with FakeAT() as fake:
        environ = {**os.environ, **settings.as_environ(), **at_env(fake), "LOG_JSON": "true", "LOG_LEVEL": "INFO"}
        worker = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--burst"], cwd=ROOT, env=environ,
                                  stderr=subprocess.PIPE)
        _, err = worker.communicate(timeout=120)
        wait_quiet(seeded)
    assert worker.returncode == 0 and fake.requests
    out = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    replies = [line for line in out if line["msg"].startswith("sms out to")]
    assert replies and all(line.get("request_id") == GIVEN for line in replies), out


def test_an_id_that_does_not_look_like_one_is_replaced(client):
    resp = client.get("/livez", headers={"X-Request-Id": "not an id; <script>"})
    assert len(resp.headers["X-Request-Id"]) == 16 and "<" not in resp.headers["X-Request-Id"]
