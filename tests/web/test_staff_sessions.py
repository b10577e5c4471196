"""Staff sessions end on the server: logging out, disabling and re-enabling an account end
every session of it (a copied cookie too); the login throttle counts per account and address
(so a wrong guesser does not lock the owner out), per address, and per account with a slower
ceiling, whatever the body's format; staff pages are never stored by a browser or proxy."""

from __future__ import annotations

import pytest

from tests.conftest import Auth

WRONG = "wrong-password-123"


def _copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def _logged_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def test_logout_ends_the_session_for_a_copied_cookie_too(app, client, auth):
    auth.as_role("admin")
    copy = _copy_of(app, client)
    assert _logged_in(copy)
    assert auth.logout().status_code == 302
    assert not _logged_in(copy)


def test_logout_ends_the_accounts_other_sessions(app, rt, client, auth):
    member = auth.as_role("approver")
    laptop = Auth(app.test_client(), rt)
    assert laptop.login(member.email).status_code == 302
    auth.logout()
    assert not _logged_in(laptop.client)
    assert laptop.login(member.email).status_code == 302 and _logged_in(laptop.client)  # a new login works


def test_disable_ends_every_session_and_re_enabling_does_not_revive_them(app, rt, client, auth):
    member = auth.add("approver")
    phone, laptop = Auth(app.test_client(), rt), Auth(app.test_client(), rt)
    for device in (phone, laptop):
        assert device.login(member.email).status_code == 302 and _logged_in(device.client)
    auth.as_role("admin")
    assert auth.post(f"/staff/accounts/{member.id}/disable").status_code == 302
    assert auth.post(f"/staff/accounts/{member.id}/enable").status_code == 302  # no request in between
    assert not _logged_in(phone.client) and not _logged_in(laptop.client)
    assert phone.login(member.email).status_code == 302 and _logged_in(phone.client)


def test_staff_pages_are_never_stored(client, auth):
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"
    auth.as_role("admin")
    for path in ("/staff/", "/staff/accounts/", "/staff/audit", "/staff/broadcasts/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_ten_wrong_passwords_do_not_lock_the_owner_out(auth):
    member = auth.add("admin")
    for n in range(10):
        assert auth.login(member.email, WRONG, address="203.0.113.9").status_code == 200, n
    assert auth.login(member.email, address="203.0.113.9").status_code == 429  # that address, that account
    assert auth.login(member.email, address="198.51.100.4").status_code == 302  # the owner, elsewhere


def test_an_address_is_throttled_for_every_account_after_thirty_failures(auth):
    member = auth.add("admin")
    for n in range(30):
        assert auth.login(f"guess{n}@example.org", WRONG, address="192.0.2.7").status_code == 200, n
    assert auth.login(member.email, address="192.0.2.7").status_code == 429
    assert auth.login(member.email, address="192.0.2.8").status_code == 302  # another address is not


def test_an_account_is_throttled_from_everywhere_after_a_hundred_failures(auth):
    member = auth.add("admin")
    other = auth.add("approver")
    for n in range(100):  # spread over addresses, each under its own limits
        assert auth.login(member.email, WRONG, address=f"10.1.{n // 5}.{n % 5}").status_code == 200, n
    response = auth.login(member.email, address="10.2.0.1")  # the right password, a new address
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 24 * 3600
    assert auth.login(other.email, address="10.2.0.1").status_code == 302  # another account is not


@pytest.mark.parametrize("body", [
    lambda email: {"email": email, "password": WRONG},
    lambda email: {"email": [email], "password": [WRONG]},
], ids=["json", "json lists"])
def test_a_json_login_counts_against_the_account_it_names(client, auth, body):
    member = auth.add("admin")
    other = auth.add("approver")
    token = auth.token()
    for n in range(10):
        response = client.post("/staff/login", json=body(member.email), headers={"X-CSRFToken": token},
                               environ_base={"REMOTE_ADDR": "192.0.2.44"})
        assert response.status_code == 200, n
    assert auth.login(member.email, address="192.0.2.44").status_code == 429
    assert auth.login(other.email, address="192.0.2.44").status_code == 302


@pytest.mark.parametrize("body", [[1, 2], "text", {"email": 5, "password": 7}, {"email": None}],
                         ids=["list", "string", "numbers", "null"])
def test_an_odd_json_login_body_is_a_failed_login_not_a_500(client, auth, body):
    token = auth.token()
    response = client.post("/staff/login", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200
