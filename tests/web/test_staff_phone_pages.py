"""Staff mobile numbers on the dashboard (issue 19): admins see them masked in the accounts
list, give one when adding an account and set or clear it on the account's phone page; every
account sets or clears its own on "My account" (and only its own). Each change is audited with
the number masked; a number another account has is a form error naming the clash."""

from __future__ import annotations

import html
import json

from sqlalchemy import select

from gateway.staff import audit
from gateway.staff.accounts import find_member, set_phone
from gateway.store.models import Centre

FULL = ("+27821234567", "0821234567", "27821234567", "082 123 4567")


def page_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def changes(rt) -> list[tuple[str, str, dict]]:
    return [(e.actor, e.target, json.loads(e.detail)) for e in reversed(audit.events(rt.sessions).events)
            if e.action == "staff.changed"]


def test_admin_adds_an_account_with_a_phone_and_the_list_masks_it(rt, client, auth):
    auth.as_role("admin")
    assert 'name="phone"' in client.get("/staff/accounts/new").get_data(as_text=True)
    response = auth.post("/staff/accounts/new", {"email": "a@example.org", "role": "approver", "phone": "082 123 4567"})
    assert response.status_code == 200 and 'data-testid="invite-link"' in page_of(response)
    assert find_member(rt.sessions, "a@example.org").phone == "+27821234567"
    added = [e for e in audit.events(rt.sessions).events if e.action == "staff.added"][0]
    assert json.loads(added.detail)["phone"] == "+2782****567"
    listing = page_of(client.get("/staff/accounts/"))
    assert "+2782****567" in listing and not any(form in listing for form in FULL)


def test_admin_sets_and_clears_an_accounts_phone(rt, client, auth):
    admin = auth.as_role("admin")
    clerk = auth.add("approver")
    page = page_of(client.get(f"/staff/accounts/{clerk.id}/phone"))
    assert clerk.email in page and 'name="phone"' in page
    assert f"/staff/accounts/{clerk.id}/phone" in page_of(client.get("/staff/accounts/"))
    response = auth.post(f"/staff/accounts/{clerk.id}/phone", {"phone": "0821234567"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/accounts/"
    assert find_member(rt.sessions, clerk.email).phone == "+27821234567"
    page = page_of(client.get(f"/staff/accounts/{clerk.id}/phone"))
    assert "+2782****567" in page and not any(form in page for form in FULL)
    assert auth.post(f"/staff/accounts/{clerk.id}/phone", {"phone": ""}).status_code == 302
    assert find_member(rt.sessions, clerk.email).phone is None
    assert changes(rt) == [
        (admin.email, clerk.email, {"field": "phone", "from": None, "to": "+2782****567"}),
        (admin.email, clerk.email, {"field": "phone", "from": "+2782****567", "to": None})]


def test_a_phone_another_account_has_is_a_form_error_naming_the_clash(rt, client, auth):
    admin = auth.as_role("admin")
    set_phone(rt.sessions, admin.email, "0821234567")
    other = auth.add("approver")
    for path, data in [(f"/staff/accounts/{other.id}/phone", {"phone": "+27 82 123 4567"}),
                       ("/staff/accounts/new", {"email": "b@example.org", "role": "approver", "phone": "0821234567"})]:
        response = auth.post(path, data)
        assert response.status_code == 200, path
        assert f"+2782****567 is already the phone of {admin.email}" in page_of(response)
    assert find_member(rt.sessions, other.email).phone is None and find_member(rt.sessions, "b@example.org") is None
    assert changes(rt) == []


def test_a_clerk_sets_and_clears_their_own_phone_from_my_account(seeded, client, auth):
    clerk = auth.as_role("approver", email="ann@example.org")
    assert "/staff/account" in page_of(client.get("/staff/"))
    page = page_of(client.get("/staff/account"))
    assert clerk.email in page and 'name="phone"' in page
    response = auth.post("/staff/account", {"phone": "0821234567"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/account"
    assert find_member(seeded.sessions, clerk.email).phone == "+27821234567"
    assert "+2782****567" in page_of(client.get("/staff/account"))
    assert auth.post("/staff/account", {"phone": ""}).status_code == 302
    assert find_member(seeded.sessions, clerk.email).phone is None
    assert changes(seeded) == [
        (clerk.email, clerk.email, {"field": "phone", "from": None, "to": "+2782****567"}),
        (clerk.email, clerk.email, {"field": "phone", "from": "+2782****567", "to": None})]


def test_only_an_admin_changes_another_accounts_phone(seeded, client, auth):
    admin = auth.add("admin")
    with seeded.sessions() as session:
        centre = session.scalar(select(Centre.id).order_by(Centre.id))
    for role in ("clerk", "approver"):
        auth.as_role(role, [centre] if role == "clerk" else [])
        assert client.get(f"/staff/accounts/{admin.id}/phone").status_code == 403
        assert auth.post(f"/staff/accounts/{admin.id}/phone", {"phone": "0821234567"}).status_code == 403
        # My account changes the account logged in, whatever the form names.
        auth.post("/staff/account", {"phone": "0831234567", "staff_id": str(admin.id), "email": admin.email})
        assert find_member(seeded.sessions, admin.email).phone is None
        assert find_member(seeded.sessions, f"{role}@example.org").phone == "+27831234567"
        set_phone(seeded.sessions, f"{role}@example.org", None)
        auth.logout()
