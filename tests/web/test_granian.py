"""``thusong web --server granian`` serves the real app: USSD hops, an inbound SMS stored for
its answer, and one metrics count across its worker processes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.store.models import Message
from tests.conftest import TOKEN
from tests.live import http, thusong_web
from tests.web.test_metrics import _dial_and_scrape

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
    import time

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
