"""The admin's staff pages: add, disable, enable, new password — each audited — and the
sessions that end when their account is disabled or its password reset; the audit page."""

from __future__ import annotations

from sqlalchemy import select

from gateway.staff import audit
from gateway.staff.accounts import check_password, find_member, set_active
from gateway.store.models import Centre
from tests.conftest import PASSWORD


def actions(rt) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.actor, e.target) for e in reversed(audit.events(rt.sessions).events)]


def test_admin_adds_a_clerk_for_two_centres(seeded, client, auth):
    with seeded.sessions() as session:
        first, second = session.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    admin = auth.as_role("admin")
    form = client.get("/staff/accounts/new").get_data(as_text=True)
    assert 'name="centres"' in form and "Maponya" in form
    response = auth.post("/staff/accounts/new", {
        "email": "Thandi@Example.org", "name": "Thandi", "role": "clerk", "centres": [first, second]})
    assert response.status_code == 200 and "/staff/invitation?token=" in response.get_data(as_text=True)
    member = find_member(seeded.sessions, "thandi@example.org")
    assert (member.role, member.centre_ids) == ("clerk", {first, second})
    assert ("staff.added", admin.email, "thandi@example.org") in actions(seeded)
    assert "thandi@example.org" in client.get("/staff/accounts/").get_data(as_text=True)


def test_add_refusals_are_shown_on_the_form(client, auth):
    auth.as_role("admin")
    page = auth.post("/staff/accounts/new", {"email": "c@example.org", "role": "clerk"})
    assert page.status_code == 200 and "a clerk needs at least one centre" in page.get_data(as_text=True)
    assert find_member(auth.rt.sessions, "c@example.org") is None
    page = auth.post("/staff/accounts/new", {"email": "not an address", "role": "admin"})
    assert page.status_code == 200 and "/staff/invitation?token=" not in page.get_data(as_text=True)


def test_disabling_ends_the_members_open_session(app, rt, auth):
    admin = auth.as_role("admin")
    approver_client = app.test_client()
    approver = auth.__class__(approver_client, rt)
    member = approver.as_role("approver")
    assert approver_client.get("/staff/").status_code == 200
    assert auth.post(f"/staff/accounts/{admin.id}/disable").status_code == 302  # not oneself
    assert find_member(rt.sessions, admin.email).active
    assert auth.post(f"/staff/accounts/{member.id}/disable").status_code == 302
    assert approver_client.get("/staff/").status_code == 302  # logged out
    assert approver.login(member.email).status_code == 200  # and cannot log in
    assert auth.post(f"/staff/accounts/{member.id}/enable").status_code == 302
    assert approver.login(member.email).status_code == 302
    assert [a for a in actions(rt) if a[0].startswith("staff.")] == [
        ("staff.disabled", admin.email, member.email), ("staff.enabled", admin.email, member.email)]


def test_password_reset_by_an_admin_ends_old_sessions(app, rt, auth):
    admin = auth.as_role("admin")
    other_client = app.test_client()
    other = auth.__class__(other_client, rt)
    member = other.as_role("approver")
    response = auth.post(f"/staff/accounts/{member.id}/password",
                         {"password": "brand-new-password", "confirm": "brand-new-password"})
    assert response.status_code == 302
    assert check_password(rt.sessions, member.email, "brand-new-password") is not None
    assert check_password(rt.sessions, member.email, PASSWORD) is None
    assert other_client.get("/staff/").status_code == 302
    assert ("staff.password_reset", admin.email, member.email) in actions(rt)


def test_session_of_an_account_disabled_elsewhere_ends(client, rt, auth):
    member = auth.as_role("approver")
    set_active(rt.sessions, member.email, False)
    assert client.get("/staff/").status_code == 302


def test_audit_page_lists_newest_first_and_filters(rt, client, auth):
    for n in range(3):
        audit.record(rt, "cli", "broadcast.created", target=f"broadcast {n}")
    auth.as_role("admin")
    page = client.get("/staff/audit").get_data(as_text=True)
    assert page.index("login.ok") < page.index("broadcast 2") < page.index("broadcast 0")
    only = client.get("/staff/audit?action=broadcast").get_data(as_text=True)
    assert "broadcast 1" in only and "login.ok</td>" not in only
    assert "1 event." in client.get("/staff/audit?action=login.ok").get_data(as_text=True)
