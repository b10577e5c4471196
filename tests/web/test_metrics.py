"""``/metrics``: a bearer token in production, and one count across every gunicorn worker."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tests.conftest import TOKEN
from tests.live import http, thusong_web


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


def _hops_counted(text: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("thusong_ussd_hops_total{"))


@pytest.mark.slow
def test_hop_counter_counts_across_every_gunicorn_worker(rt, settings):
    """Issue 9.3: each scrape showed only the answering worker's hops."""
    with thusong_web(settings, workers=2, server="gunicorn") as port:  # granian's: tests/web/test_granian.py
        _dial_and_scrape(port, hops=40)


def _dial_and_scrape(port: int, hops: int) -> None:
    form = {"sessionId": "M", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
            "networkCode": "65501", "text": ""}

    def dial(n: int) -> None:
        for _ in range(n):
            status, text = http(port, "POST", f"/webhooks/at/ussd?token={TOKEN}", form)
            assert status == 200 and text.startswith(("CON ", "END "))

    # Four callers at once, so that both workers answer some hops.
    threads = [threading.Thread(target=dial, args=(hops // 4,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = []
    scrapers = [threading.Thread(target=lambda: counts.append(_hops_counted(http(port, "GET", "/metrics")[1])))
                for _ in range(8)]
    for t in scrapers:
        t.start()
    for t in scrapers:
        t.join()
    assert counts == [hops] * 8
