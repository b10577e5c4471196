"""AT's callbacks are served by an app with nothing browser-facing in it: a USSD hop or an
inbound SMS opens no cookie session and passes no CSRF check (they cost every hop CPU), while
the pages keep both."""

from __future__ import annotations

import pytest
from flask_wtf.csrf import CSRFProtect

from gateway.web.app import CookieOnlyWhenUsed
from tests.conftest import TOKEN

CALLBACKS = [
    ("/webhooks/at/ussd", {"sessionId": "M1", "serviceCode": "*134*1#", "phoneNumber": "+27821234567", "text": ""}),
    ("/webhooks/at/sms", {"id": "m-1", "from": "+27821234567", "to": "12345", "text": "HELP",
                          "date": "2026-11-29 10:00:00"}),
    ("/webhooks/at/ussd/events", {"sessionId": "M1", "phoneNumber": "+27821234567", "status": "Success"}),
    ("/webhooks/at/sms/delivery", {"id": "ATXid_none", "status": "Success"}),
]


@pytest.fixture
def browser_machinery(monkeypatch):
    """Records each cookie-session opening and CSRF check, whoever triggers it."""
    seen: list[str] = []
    open_session, protect = CookieOnlyWhenUsed.open_session, CSRFProtect.protect

    def opening(self, app, request):
        seen.append(f"session {request.path}")
        return open_session(self, app, request)

    def checking(self, *args, **kwargs):
        seen.append("csrf")
        return protect(self, *args, **kwargs)

    monkeypatch.setattr(CookieOnlyWhenUsed, "open_session", opening)
    monkeypatch.setattr(CSRFProtect, "protect", checking)
    return seen


@pytest.mark.parametrize("path, form", CALLBACKS, ids=[p.rsplit("/", 1)[-1] for p, _ in CALLBACKS])
def test_a_callback_runs_no_browser_machinery(client, browser_machinery, path, form):
    response = client.post(f"{path}?token={TOKEN}", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # the security headers stay
    assert browser_machinery == []


def test_a_page_still_opens_its_session_and_checks_csrf(client, browser_machinery):
    assert client.get("/staff/login").status_code == 200
    refused = client.post("/staff/login", data={"email": "x@example.org", "password": "x"})  # no CSRF token
    assert refused.status_code == 200 and "This page had expired" in refused.get_data(as_text=True)
    assert set(browser_machinery) == {"session /staff/login", "csrf"}
