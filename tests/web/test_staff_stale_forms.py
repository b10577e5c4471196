"""A stale staff form (its CSRF token expired, missing, or from another session) is shown again
with what was typed, a fresh token and a line asking to check and submit again; nothing is
acted on, and submitting the shown form again works."""

from __future__ import annotations

import html
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from gateway.staff import audit
from gateway.staff.accounts import find_member
from gateway.store.models import Broadcast, Staff
from gateway.web.staff.refusals import ENDED, STALE
from tests.conftest import CSRF_FIELD
from tests.web.test_staff_auth import staff_urls


class _TwelveHoursAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 13 * 3600


def _expired(app, client) -> str:
    """A token for this session, signed 13 hours ago (the limit is the session's 12)."""
    client.get("/staff/")  # a page with a form: the session holds the token's secret
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=_TwelveHoursAgo).dumps(raw)


def _another_sessions(app, rt) -> str:
    other = app.test_client()
    return CSRF_FIELD.search(other.get("/staff/login").get_data(as_text=True)).group(1)


def _session_lost_its_token(app, client) -> str:
    """The form's token is good, but the session no longer holds its secret ("The CSRF
    session token is missing": the case the clerk met)."""
    token = CSRF_FIELD.search(client.get("/staff/").get_data(as_text=True)).group(1)
    with client.session_transaction() as session:
        session.pop("csrf_token")
    return token


STALE_TOKENS = {"missing": lambda app, rt, client: None, "expired": lambda app, rt, client: _expired(app, client),
                "another session's": lambda app, rt, client: _another_sessions(app, rt),
                "session lost its secret": lambda app, rt, client: _session_lost_its_token(app, client)}


def _post(app, rt, client, path: str, data: dict, stale: str):
    client.get(path)  # the page was opened (its token made) before it went stale
    token = STALE_TOKENS[stale](app, rt, client)
    return client.post(path, data={**data, **({"csrf_token": token} if token else {})})


def _shown_again(response) -> tuple[str, str]:
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert STALE in html.unescape(page)
    fresh = CSRF_FIELD.search(page)
    assert fresh, "no fresh token on the page shown again"
    return html.unescape(page), fresh.group(1)


def _actions(rt) -> list[str]:
    return [e.action for e in audit.events(rt.sessions).events]


COMPOSE = {"kind": "all", "language": "", "message": "Water cut at Kagiso Thusong on Thursday 09:00",
           "when": "now", "action": "send"}


@pytest.mark.parametrize("stale", STALE_TOKENS)
def test_a_stale_compose_form_is_shown_again_with_the_message(app, rt, client, auth, stale):
    auth.as_role("admin")
    page, _ = _shown_again(_post(app, rt, client, "/staff/broadcasts/new", COMPOSE, stale))
    assert COMPOSE["message"] in page
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert _actions(rt) == ["login.ok"]


@pytest.mark.parametrize("stale", STALE_TOKENS)
def test_a_stale_account_form_is_shown_again_and_submits_with_its_fresh_token(app, rt, client, auth, stale):
    auth.as_role("admin")
    typed = {"email": "new.clerk@example.org", "name": "Thandi Mokoena", "role": "approver"}
    page, fresh = _shown_again(_post(app, rt, client, "/staff/accounts/new", typed, stale))
    assert typed["email"] in page and typed["name"] in page
    assert find_member(rt.sessions, typed["email"]) is None and _actions(rt) == ["login.ok"]
    response = client.post("/staff/accounts/new", data={**typed, "csrf_token": fresh})
    assert response.status_code == 200 and find_member(rt.sessions, typed["email"]) is not None
    assert 'data-testid="invite-link"' in response.get_data(as_text=True)


def test_a_stale_button_changes_nothing_and_says_so(app, rt, client, auth):
    auth.as_role("admin")
    other = auth.add("approver")
    response = _post(app, rt, client, f"/staff/accounts/{other.id}/disable", {}, "expired")
    assert response.status_code == 302
    assert STALE in html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert find_member(rt.sessions, other.email).active


def test_a_stale_login_form_keeps_the_email_and_is_not_a_failure(app, rt, client, auth):
    member = auth.add("admin")
    for _ in range(12):  # more than any limit: a stale form is not a wrong password
        page, _ = _shown_again(_post(app, rt, client, "/staff/login",
                                     {"email": member.email, "password": "whatever-it-was"}, "missing"))
        assert member.email in page
    assert _actions(rt) == []
    assert auth.login(member.email).status_code == 302


def test_a_form_posted_after_the_session_ended_asks_to_log_in(app, rt, auth):
    auth.as_role("admin")
    ended = app.test_client()  # no session cookie at all: the session is gone
    token = CSRF_FIELD.search(ended.get("/staff/login").get_data(as_text=True)).group(1)
    response = ended.post("/staff/accounts/new", data={"email": "x@example.org", "csrf_token": token + "x"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert ENDED in html.unescape(ended.get(response.headers["Location"]).get_data(as_text=True))


def test_no_staff_post_acts_on_a_stale_token(app, rt, client, auth):
    """Every POST of the dashboard, with a token from another session: never a 500 or a bare
    400, and nothing audited (every change the dashboard makes writes an audit row)."""
    auth.as_role("admin")
    other = auth.add("approver")
    stale = _another_sessions(app, rt)
    for method, path in staff_urls(app):
        if method != "POST":
            continue
        path = path.replace("/1/", f"/{other.id}/")
        response = client.post(path, data={"csrf_token": stale, "email": "x@example.org", "number": "0821234567",
                                           "message": "Hello", "reason": "No", "kind": "all", "confirmed": "yes"})
        # the page's own answer to a refused form (privacy/delete's is 400), never the bare CSRF error
        assert response.status_code in (200, 302, 400, 403, 404), (path, response.status_code)
        assert "CSRF" not in response.get_data(as_text=True), path
    assert _actions(rt) == ["login.ok"]
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Staff)) == 2


def test_a_stale_preview_then_a_stale_send_say_it_once(app, rt, client, auth):
    """The compose page's live preview (a fragment) posts the same stale token first."""
    auth.as_role("admin")
    client.get("/staff/broadcasts/new")
    stale = _expired(app, client)
    client.post("/staff/broadcasts/preview", data={**COMPOSE, "csrf_token": stale})
    page, _ = _shown_again(client.post("/staff/broadcasts/new", data={**COMPOSE, "csrf_token": stale}))
    assert page.count(STALE) == 1
