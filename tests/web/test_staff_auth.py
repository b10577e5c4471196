"""The staff dashboard's door: login required on every /staff URL, CSRF on every form, failed
logins throttled (Flask-Limiter on the real Redis; the limits themselves in
test_staff_sessions.py, stale forms in test_staff_stale_forms.py), roles, audit rows for logins."""

from __future__ import annotations

import re

from sqlalchemy import select

from gateway.staff import audit
from gateway.store.models import Centre
from gateway.web.staff.auth import PUBLIC
from tests.conftest import PASSWORD

WRONG = "wrong-password-123"


def staff_urls(app) -> list[tuple[str, str]]:
    """(method, path) for every registered /staff rule but the public ones (the login, an
    invitation's set-password page), with 1 for each URL parameter."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint in PUBLIC:
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_every_staff_url_redirects_to_login_without_one(app, client, auth):
    assert PUBLIC == {"staff.login", "staff.invitation_page"}  # a page added later is behind the login
    urls = staff_urls(app)
    assert ("GET", "/staff/") in urls and ("POST", "/staff/logout") in urls and len(urls) >= 8
    token = auth.token()  # a valid CSRF token, so POSTs reach the login check
    for method, path in urls:
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (method, path, response.status_code)
        assert response.headers["Location"].startswith("/staff/login?next="), (method, path)


def test_login_then_home_and_safe_next(client, auth):
    auth.add("admin")
    response = client.get("/staff/accounts/")
    assert response.headers["Location"] == "/staff/login?next=%2Fstaff%2Faccounts%2F"
    token = auth.token()
    response = client.post("/staff/login?next=/staff/accounts/",
                           data={"email": "admin@example.org", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/staff/accounts/"
    assert "admin@example.org" in client.get("/staff/accounts/").get_data(as_text=True)
    auth.logout()
    for evil in ("//evil.example/", "https://evil.example/staff/", "/staff/\\\\evil.example"):
        response = auth.client.post(f"/staff/login?next={evil}", data={
            "email": "admin@example.org", "password": PASSWORD, "csrf_token": auth.token()})
        assert response.headers["Location"] == "/staff/", evil
        auth.logout()


def test_login_ok_and_failed_are_audited_with_the_address(rt, auth):
    member = auth.add("approver")
    assert auth.login(member.email, WRONG, address="10.1.2.3").status_code == 200
    auth.login("nobody@example.org", WRONG, address="10.1.2.4")
    assert auth.login(member.email, address="10.1.2.5").status_code == 302
    auth.logout()
    rows = [(e.action, e.actor, e.staff_id, e.address) for e in reversed(audit.events(rt.sessions).events)]
    assert rows == [
        ("login.failed", member.email, member.id, "10.1.2.3"),
        ("login.failed", "nobody@example.org", None, "10.1.2.4"),
        ("login.ok", member.email, member.id, "10.1.2.5"),
        ("logout", member.email, member.id, "127.0.0.1"),
    ]


def test_successful_logins_do_not_count(auth):
    member = auth.add("admin")
    for _ in range(12):
        assert auth.login(member.email, address="192.0.2.9").status_code == 302
        auth.logout()


def test_clerk_sees_their_centres_and_not_admin_pages(seeded, client, auth):
    with seeded.sessions() as session:
        centre = session.scalars(select(Centre).order_by(Centre.id)).first()
    auth.as_role("clerk", centre_ids=[centre.id])
    home = client.get("/staff/").get_data(as_text=True)
    assert centre.name in home and "Staff accounts" not in home
    for path in ("/staff/accounts/", "/staff/accounts/new", "/staff/audit", "/staff/accounts/1/password"):
        assert client.get(path).status_code == 403, path
    assert auth.post("/staff/accounts/1/disable").status_code == 403


def test_the_throttle_runs_for_staff_pages_only(app):
    limiter = app.extensions["thusong_login_limiter"]
    everywhere = app.before_request_funcs[None] + app.after_request_funcs[None]
    assert not [f for f in everywhere if limiter in (getattr(f, "__self__", None), *getattr(f, "args", ()))]
    assert any(getattr(f, "__self__", None) is limiter for f in app.before_request_funcs["staff"])
