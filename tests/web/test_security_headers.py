"""App-wide browser protections: security headers (a CSP with no inline script) on pages, the
webhooks and JSON alike; cookie flags; no inline script or style left in any template."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from gateway.web.security import protect
from tests.conftest import TOKEN

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "web" / "templates"


@pytest.mark.parametrize("method, path, data", [
    ("GET", "/simulator/", None),
    ("GET", "/staff/login", None),
    ("POST", f"/webhooks/at/ussd?token={TOKEN}",
     {"sessionId": "S1", "serviceCode": "*134*1#", "phoneNumber": "+27821234567", "text": ""}),
    ("GET", "/healthz", None),
], ids=["simulator", "staff login", "ussd webhook", "healthz"])
def test_security_headers_everywhere(client, method, path, data):
    response = client.open(path, method=method, data=data)
    assert response.status_code in (200, 503), response.status_code
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # development


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_style(template):
    text = template.read_text()
    assert "<script>" not in text and "<style" not in text and " style=" not in text and " on" + "click=" not in text


def test_session_cookie_is_httponly_and_lax(client, auth):
    auth.add("admin")
    response = auth.login("admin@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_production_cookie_is_secure_and_hsts_is_sent(settings):
    production = settings.__class__(**{**settings.__dict__, "THUSONG_ENV": "production"})
    app = Flask(__name__)
    app.secret_key = "x"
    protect(app, production)
    app.get("/")(lambda: "ok")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "max-age=" in app.test_client().get("/").headers["Strict-Transport-Security"]
