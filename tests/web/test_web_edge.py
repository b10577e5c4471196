"""The app's own edge: what production refuses to serve, request size caps, which client
address is believed behind a proxy, and token rotation (issue 9)."""

from __future__ import annotations

import dataclasses

import pytest
from flask import request

from config import load_settings
from gateway.web import create_app
from tests.conftest import TOKEN
from tests.live import http, serving

PRODUCTION = {"THUSONG_ENV": "production", "METRICS_TOKEN": "metrics-secret"}


def app_for(rt, **changes):
    """An app on the session's Redis and database with some settings changed."""
    application = create_app(runtime=dataclasses.replace(rt, settings=rt.settings.with_(**changes)))
    application.config["TESTING"] = True
    return application


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/simulator/", None),
        ("get", "/simulator/inbox?phone=0821234567", None),
        ("post", "/simulator/sms", {"phone": "0821234567", "text": "STOP"}),
        ("post", "/simulator/ussd", {"phone": "0821234567", "text": ""}),
    ],
    ids=["page", "read-inbox", "opt-out-anyone", "dial-as-anyone"],
)
def test_simulator_is_not_served_in_production(rt, method, path, body):
    client = app_for(rt, **PRODUCTION).test_client()
    resp = getattr(client, method)(path, json=body)
    assert resp.status_code == 404


def test_simulator_is_served_in_development(rt):
    assert app_for(rt).test_client().get("/simulator/inbox?phone=0821234567").status_code == 200


def test_a_10_mb_webhook_body_is_refused_with_413(client):
    form = {"sessionId": "S1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
            "networkCode": "65501", "text": "1" * (10 * 1024 * 1024)}
    resp = client.post(f"/webhooks/at/ussd?token={TOKEN}", data=form)
    assert resp.status_code == 413


def test_a_10_mb_simulator_body_is_refused_with_413(client):
    resp = client.post("/simulator/sms", json={"phone": "0821234567", "text": "x" * (10 * 1024 * 1024)})
    assert resp.status_code == 413


def _remote_addr_app(rt, proxies: int):
    application = app_for(rt, TRUSTED_PROXIES=proxies)
    application.add_url_rule("/_test/remote", "remote", lambda: request.remote_addr or "")
    return application.test_client()


@pytest.mark.parametrize(
    "proxies, forwarded, seen",
    [
        (0, "203.0.113.7", "10.0.0.2"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client's own header is not believed
        (2, "198.51.100.1, 203.0.113.7", "198.51.100.1"),
    ],
    ids=["no-proxy-ignores-header", "one-proxy", "one-proxy-spoofed-prefix", "two-proxies"],
)
def test_x_forwarded_for_is_trusted_only_from_configured_proxy_hops(rt, proxies, forwarded, seen):
    client = _remote_addr_app(rt, proxies)
    resp = client.get("/_test/remote", headers={"X-Forwarded-For": forwarded},
                      environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert resp.get_data(as_text=True) == seen


@pytest.mark.parametrize("given, status", [("new", 200), ("old", 200), ("older", 403), ("new,old", 403)],
                         ids=["new", "old", "retired", "the-list-itself"])
def test_webhook_token_rotation_accepts_each_listed_token(rt, given, status):
    client = app_for(rt, WEBHOOK_TOKEN="new, old").test_client()
    resp = client.post(f"/webhooks/at/ussd?token={given}",
                       data={"sessionId": "S1", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
                             "networkCode": "65501", "text": ""})
    assert resp.status_code == status


def _webhook_statuses(port: int, tokens: tuple[str, ...], run: str) -> dict[tuple[str, str], int]:
    """The status each of AT's two busiest callbacks (inbound SMS, USSD hop) answers for each
    token, over HTTP."""
    statuses = {}
    for token in tokens:
        statuses[("sms", token)] = http(port, "POST", f"/webhooks/at/sms?token={token}", {
            "from": "+27821234567", "to": "12345", "text": "HELP", "date": "2026-01-01 10:00:00",
            "id": f"rot-{run}-{token}", "linkId": "", "networkCode": "65501"})[0]
        statuses[("ussd", token)] = http(port, "POST", f"/webhooks/at/ussd?token={token}", {
            "sessionId": f"rot-{run}-{token}", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
            "networkCode": "65501", "text": ""})[0]
    return statuses


def test_token_rotation_through_the_served_webhooks(rt, settings):
    """The rotation an operator follows (docs/operating.md), over HTTP: the app started with
    ``WEBHOOK_TOKEN=old,new`` in its environment while AT's callback URLs are switched, then
    started again with ``new`` alone."""
    old, new = "old-token-Jq3x", "new-token-P8wz"
    seen = {}
    for phase, tokens in (("during", f"{old},{new}"), ("after", new)):
        environ = {**settings.as_environ(), "WEBHOOK_TOKEN": tokens}
        app = create_app(runtime=dataclasses.replace(rt, settings=load_settings(environ)))
        with serving(app) as base:
            seen[phase] = _webhook_statuses(int(base.rsplit(":", 1)[1]), (old, new), phase)
    assert seen["during"] == {("sms", old): 200, ("ussd", old): 200, ("sms", new): 200, ("ussd", new): 200}
    assert seen["after"] == {("sms", old): 403, ("ussd", old): 403, ("sms", new): 200, ("ussd", new): 200}


@pytest.mark.slow
def test_thusong_web_refuses_to_start_with_the_simulator_in_production(monkeypatch):
    from click.testing import CliRunner

    from gateway.cli import main

    for key, value in {"THUSONG_ENV": "production", "DATABASE_URL": "postgresql:///thusong", "SECRET_KEY": "k", "WEBHOOK_TOKEN": "t",
                       "METRICS_TOKEN": "m", "ANALYTICS_HASH_KEY": "a", "SIMULATOR_ENABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["web", "--port", "1"])
    assert result.exit_code != 0
    assert "SIMULATOR_ENABLED" in result.output and "any number's SMS" in result.output
