"""The staff dashboard's door: login required on every /staff URL, CSRF on every form, failed
logins throttled per account and per address (Flask-Limiter on the real Redis), roles, audit
rows for logins, sessions that end when the account is disabled or its password reset."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.staff import audit
from gateway.store.models import Centre
from tests.conftest import PASSWORD

WRONG = "wrong-password-123"


def staff_urls(app) -> list[tuple[str, str]]:
    """(method, path) for every registered /staff rule, with 1 for each URL parameter."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint == "staff.login":
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_every_staff_url_redirects_to_login_without_one(app, client, auth):
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


@pytest.mark.parametrize("path, data", [
    ("/staff/login", {"email": "a@example.org", "password": PASSWORD}),
    ("/staff/logout", {}),
    ("/staff/accounts/new", {"email": "x@example.org"}),
], ids=["login", "logout", "add account"])
@pytest.mark.parametrize("token", [None, "forged"], ids=["no token", "wrong token"])
def test_post_without_a_valid_csrf_token_is_400(client, auth, path, data, token):
    auth.as_role("admin")
    response = client.post(path, data={**data, **({"csrf_token": token} if token else {})})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


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


def test_ten_failures_for_one_account_throttle_it_from_any_address(rt, auth):
    member = auth.add("admin")
    other = auth.add("approver")
    for n in range(10):
        response = auth.login(member.email, WRONG, address=f"10.0.0.{n}")
        assert response.status_code == 200, n
    response = auth.login(member.email, address="10.0.1.1")  # the right password, a new address
    assert response.status_code == 429
    assert re.search(r"Try again in \d+ minutes?", response.get_data(as_text=True))
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert auth.login(other.email, address="10.0.1.1").status_code == 302  # another account is not


def test_ten_failures_from_one_address_throttle_it_for_every_account(rt, auth):
    member = auth.add("admin")
    for n in range(10):
        assert auth.login(f"guess{n}@example.org", WRONG, address="192.0.2.7").status_code == 200
    assert auth.login(member.email, address="192.0.2.7").status_code == 429
    assert auth.login(member.email, address="192.0.2.8").status_code == 302  # another address is not


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
