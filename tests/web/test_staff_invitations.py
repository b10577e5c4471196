"""Adding a clerk sends an invitation instead of the admin inventing a password (issue 20,
item 11): the answer to the form shows a one-time set-password link; the database keeps only
its hash; it works once, until it expires, and not after a newer invitation; only admins make
one; a wrong token opens nothing. Every step is audited; a texted link goes to the account's
own phone on the replies queue, its number masked in the audit, its text blanked once used."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from gateway import jobs
from gateway.clock import FrozenClock
from gateway.staff import audit
from gateway.staff.accounts import NO_PASSWORD, check_password, find_member, set_active
from gateway.store.models import Centre, Message, Staff, StaffInvitation
from tests.conftest import captured_logs

NEW_PASSWORD = "a-password-of-my-own"


def _link(page: str) -> str:
    found = re.search(r'data-testid="invite-link">(http://localhost/staff/invitation\?token=[^<]+)</textarea>', page)
    assert found, page
    return unescape(found.group(1))


def _token(link: str) -> str:
    return link.rsplit("token=", 1)[1]


def _centres(rt, n: int = 2) -> list[int]:
    with rt.sessions() as session:
        return list(session.scalars(select(Centre.id).order_by(Centre.id).limit(n)))


def _add_clerk(auth, rt, email: str = "thandi@example.org", **extra):
    return auth.post("/staff/accounts/new", {"email": email, "name": "Thandi", "role": "clerk",
                                             "centres": _centres(rt), **extra})


def _actions(rt) -> list[tuple[str, str | None]]:
    return [(e.action, e.target) for e in reversed(audit.events(rt.sessions).events)]


def _set_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    path = link.removeprefix("http://localhost")
    page = client.get(path)
    if page.status_code != 200:  # a dead link's page has no form: the login page's token is as good
        page = client.get("/staff/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"password": password, "confirm": confirm or password, "csrf_token": token})


def test_an_admin_invites_a_clerk_who_sets_a_password_and_logs_in(seeded, app, client, auth):
    admin = auth.as_role("admin")
    form = client.get("/staff/accounts/new").get_data(as_text=True)
    assert 'type="checkbox" name="centres"' in form and 'name="password"' not in form
    page = _add_clerk(auth, seeded)
    assert page.status_code == 200
    link = _link(page.get_data(as_text=True))
    member = find_member(seeded.sessions, "thandi@example.org")
    assert (member.role, member.centre_ids, member.password_set) == ("clerk", set(_centres(seeded)), False)
    assert check_password(seeded.sessions, member.email, NO_PASSWORD) is None  # nothing logs in yet
    assert "invited, no password yet" in client.get("/staff/accounts/").get_data(as_text=True)
    assert link not in client.get("/staff/accounts/").get_data(as_text=True)  # shown once

    person = app.test_client()
    shown = person.get(link.removeprefix("http://localhost"))
    assert shown.status_code == 200 and "thandi@example.org" in shown.get_data(as_text=True)
    done = _set_password(person, link)
    assert done.status_code == 302 and done.headers["Location"] == "/staff/login"
    assert check_password(seeded.sessions, member.email, NEW_PASSWORD) is not None
    assert find_member(seeded.sessions, member.email).password_set
    assert [a for a in _actions(seeded) if a[0].startswith("staff.")] == [
        ("staff.added", member.email), ("staff.invited", member.email), ("staff.invitation_used", member.email)]
    assert audit.events(seeded.sessions, "staff.invited").events[0].actor == admin.email


def test_the_link_works_once(seeded, app, client, auth):
    auth.as_role("admin")
    link = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    person = app.test_client()
    assert _set_password(person, link).status_code == 302
    assert app.test_client().get(link.removeprefix("http://localhost")).status_code == 404  # no form either
    again = _set_password(app.test_client(), link, "somebody-elses-password")
    assert again.status_code == 404 and "This link does not work" in again.get_data(as_text=True)
    assert check_password(seeded.sessions, "thandi@example.org", NEW_PASSWORD) is not None
    assert check_password(seeded.sessions, "thandi@example.org", "somebody-elses-password") is None
    [refused] = audit.events(seeded.sessions, "staff.invitation_refused").events
    assert (refused.actor, refused.target) == ("thandi@example.org", "thandi@example.org")


def test_using_the_link_twice_at_once_sets_one_password(seeded, app, client, auth):
    """The use is a conditional update: a second acceptance of a token whose row was read as
    unused before the first wrote it still finds nothing to update."""
    from gateway.staff import invitations

    auth.as_role("admin")
    token = _token(_link(_add_clerk(auth, seeded).get_data(as_text=True)))
    invitations.accept(seeded, token, NEW_PASSWORD)
    with seeded.sessions.begin() as session:  # as if the second request had read it before the first wrote
        row = session.scalar(select(StaffInvitation))
        assert row.used_at is not None
    original = invitations._live
    try:
        invitations._live = lambda session, token, now: session.scalar(select(StaffInvitation))
        with pytest.raises(invitations.InvitationError):
            invitations.accept(seeded, token, "the-second-password")
    finally:
        invitations._live = original
    assert check_password(seeded.sessions, "thandi@example.org", NEW_PASSWORD) is not None


def test_the_link_expires(seeded, app, client, auth, monkeypatch):
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    clock = FrozenClock(now)
    monkeypatch.setattr(seeded, "clock", clock)
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(STAFF_INVITE_HOURS=72))
    auth.as_role("admin")
    link = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    with seeded.sessions() as session:
        expires = session.scalar(select(StaffInvitation.expires_at))
    assert expires.replace(tzinfo=UTC) == now + timedelta(hours=72)
    clock._at = now + timedelta(hours=71, minutes=59)
    assert app.test_client().get(link.removeprefix("http://localhost")).status_code == 200
    clock._at = now + timedelta(hours=72)
    late = app.test_client()
    assert late.get(link.removeprefix("http://localhost")).status_code == 404
    assert _set_password(late, link).status_code == 404
    assert not find_member(seeded.sessions, "thandi@example.org").password_set


def test_only_the_hash_of_the_token_is_stored(seeded, client, auth):
    auth.as_role("admin")
    token = _token(_link(_add_clerk(auth, seeded, phone="082 123 4567", text_link="y").get_data(as_text=True)))
    assert len(token) >= 43  # 256 random bits
    with seeded.engine.connect() as conn:
        rows = [tuple(map(str, row)) for row in conn.execute(select(StaffInvitation.__table__))]
        staff = [tuple(map(str, row)) for row in conn.execute(select(Staff.__table__))]
    assert len(rows) == 1 and hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert not any(token in cell for row in rows + staff for cell in row)
    audited = " ".join(f"{e.detail} {e.target}" for e in audit.events(seeded.sessions).events)
    assert token not in audited
    with captured_logs() as logs:  # the link in a log line (a request logged with its query) is masked
        logging.getLogger("gateway.web").warning("GET /staff/invitation?token=%s", token)
    assert "token=***" in logs.getvalue() and token not in logs.getvalue()


def test_a_wrong_or_tampered_token_opens_nothing(seeded, app, client, auth):
    auth.as_role("admin")
    token = _token(_link(_add_clerk(auth, seeded).get_data(as_text=True)))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    stranger = app.test_client()
    for wrong in (tampered, "x" * 43, hashlib.sha256(token.encode()).hexdigest(), "x" * 500):
        assert stranger.get(f"/staff/invitation?token={wrong}").status_code == 404
        assert _set_password(stranger, f"http://localhost/staff/invitation?token={wrong}").status_code == 404
    assert stranger.get("/staff/invitation").status_code == 404
    assert not find_member(seeded.sessions, "thandi@example.org").password_set


def test_a_new_invitation_voids_the_earlier_link(seeded, app, client, auth):
    auth.as_role("admin")
    first = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    member = find_member(seeded.sessions, "thandi@example.org")
    assert "replaces any earlier one" in client.get(f"/staff/accounts/{member.id}/invite").get_data(as_text=True)
    second = _link(auth.post(f"/staff/accounts/{member.id}/invite").get_data(as_text=True))
    assert first != second
    assert app.test_client().get(first.removeprefix("http://localhost")).status_code == 404
    assert _set_password(app.test_client(), second).status_code == 302
    assert [a for a, _ in _actions(seeded) if a.startswith("staff.invit")] == [
        "staff.invited", "staff.invited", "staff.invitation_used"]


def test_a_disabled_account_cannot_use_its_link(seeded, app, client, auth):
    from gateway.staff import invitations

    auth.as_role("admin")
    link = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    set_active(seeded.sessions, "thandi@example.org", False)
    assert _set_password(app.test_client(), link).status_code == 404
    with pytest.raises(invitations.InvitationError):  # the rule itself, not only the page
        invitations.accept(seeded, _token(link), NEW_PASSWORD)
    assert not find_member(seeded.sessions, "thandi@example.org").password_set


def test_a_weak_password_is_refused_and_the_link_still_works(seeded, app, client, auth):
    auth.as_role("admin")
    link = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    person = app.test_client()
    short = _set_password(person, link, "short")
    assert short.status_code == 200 and "at least 10 characters" in short.get_data(as_text=True)
    differ = _set_password(person, link, NEW_PASSWORD, "another-password")
    assert "The passwords differ." in differ.get_data(as_text=True)
    assert _set_password(person, link).status_code == 302


def test_the_rule_itself_refuses_a_weak_password_and_keeps_the_link(seeded, client, auth):
    from gateway.staff import invitations
    from gateway.staff.accounts import StaffError

    auth.as_role("admin")
    token = _token(_link(_add_clerk(auth, seeded).get_data(as_text=True)))
    with pytest.raises(StaffError, match="at least 10 characters"):
        invitations.accept(seeded, token, "short")
    assert invitations.pending(seeded, token) is not None
    assert invitations.accept(seeded, token, NEW_PASSWORD).email == "thandi@example.org"


@pytest.mark.parametrize("role", ["clerk", "approver", "reviewer"])
def test_only_admins_invite(seeded, client, auth, role):
    admin_made = auth.add("clerk", _centres(seeded, 1), email="someone@example.org")
    auth.as_role(role, _centres(seeded, 1))
    home = client.get("/staff/", follow_redirects=True).get_data(as_text=True)  # a reviewer's is the translations
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home).group(1)
    assert client.get("/staff/accounts/new").status_code == 403
    assert client.post("/staff/accounts/new", data={"email": "sneaky@example.org", "role": "clerk",
                                                    "centres": _centres(seeded), "csrf_token": token}).status_code == 403
    assert client.get(f"/staff/accounts/{admin_made.id}/invite").status_code == 403
    assert client.post(f"/staff/accounts/{admin_made.id}/invite", data={"csrf_token": token}).status_code == 403
    with seeded.sessions() as session:
        assert session.scalar(select(StaffInvitation)) is None
    assert find_member(seeded.sessions, "sneaky@example.org") is None


def test_nobody_logged_out_invites(seeded, client, auth):
    member = auth.add("clerk", _centres(seeded, 1))
    assert client.get(f"/staff/accounts/{member.id}/invite").status_code == 302  # to the login
    assert client.post(f"/staff/accounts/{member.id}/invite").status_code in (302, 400)
    with seeded.sessions() as session:
        assert session.scalar(select(StaffInvitation)) is None


def test_the_link_is_texted_to_the_staff_phone_and_blanked_once_used(seeded, app, client, auth):
    auth.as_role("admin")
    page = _add_clerk(auth, seeded, phone="082 123 4567", text_link="y").get_data(as_text=True)
    link = _link(page)
    assert 'data-testid="invite-texted">Texted to +2782****567.' in page
    with seeded.sessions() as session:
        sms = session.scalar(select(Message).where(Message.phone == "+27821234567"))
    assert (sms.queue, sms.direction) == (jobs.QUEUE_REPLIES, "out") and link in sms.text
    [texted] = audit.events(seeded.sessions, "staff.invite_texted").events
    assert "+2782****567" in texted.detail and "27821234567" not in texted.detail
    assert _set_password(app.test_client(), link).status_code == 302
    with seeded.sessions() as session:
        assert _token(link) not in session.get(Message, sms.id).text


def test_asking_to_text_without_a_phone_still_shows_the_link(seeded, client, auth):
    auth.as_role("admin")
    page = _add_clerk(auth, seeded, text_link="y").get_data(as_text=True)
    assert _link(page) and "Not texted: thandi@example.org has no mobile number" in page


def test_using_the_link_logs_out_whoever_was_logged_in_in_that_browser(seeded, client, auth):
    auth.as_role("admin")
    link = _link(_add_clerk(auth, seeded).get_data(as_text=True))
    assert _set_password(client, link).status_code == 302
    assert client.get("/staff/accounts/").status_code == 302  # the admin's session here ended
    assert auth.login("thandi@example.org", NEW_PASSWORD).status_code == 302


def test_a_refused_account_form_keeps_the_ticked_centres(seeded, client, auth):
    auth.as_role("admin")
    first, second = _centres(seeded)
    page = auth.post("/staff/accounts/new", {"email": "not an address", "role": "clerk", "centres": [first, second]})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "/staff/invitation?token=" not in body
    assert len(re.findall(r'name="centres" value="(\d+)" checked', body)) == 2
    assert re.search(r"2 chosen: [^<]+, [^<]+</p>", body)
    with seeded.sessions() as session:
        assert session.scalar(select(StaffInvitation)) is None
