"""What a person can type into a staff form or URL never gives a 500: a NUL byte (PostgreSQL
refuses it in text), an id beyond PostgreSQL's integer, a 254-character email, CR/LF in the
page to return to after login. Each is a form error (the form shown again, saying why), or a
404 for an id no row can have."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from gateway.staff import audit
from gateway.store.models import Broadcast, Centre, Staff, Visit
from gateway.web.staff.refusals import NUL_REFUSED
from tests.conftest import CSRF_FIELD, PASSWORD

NUL = "Kagiso\x00Thusong"
DAY = (date.today() + timedelta(days=30)).isoformat()  # a weekday or not: the form is refused before
HUGE = [2**31, 2**63, 10**30]
LOCAL_254 = "a" * 242 + "@example.org"  # 254 characters, the part before the @ over 64
LONG_VALID = "a" * 64 + "@" + "b" * 185 + ".org"  # 254 characters, a valid address

# (label, path ({centre} is a real centre's id), form data, what the page must say)
NUL_FORMS = [
    ("login email", "/staff/login", {"email": f"a{NUL}@example.org", "password": PASSWORD}, NUL_REFUSED),
    ("account email", "/staff/accounts/new", {"email": f"x{NUL}@example.org", "name": "X", "role": "approver",
                                              "password": PASSWORD, "confirm": PASSWORD}, NUL_REFUSED),
    ("account name", "/staff/accounts/new", {"email": "x@example.org", "name": NUL, "role": "approver",
                                             "password": PASSWORD, "confirm": PASSWORD}, NUL_REFUSED),
    ("new password", "/staff/accounts/{me}/password", {"password": PASSWORD + "\x00", "confirm": PASSWORD + "\x00"},
     NUL_REFUSED),
    ("centre name", "/staff/centres/{centre}", {"centre_id": "{centre}", "name": NUL}, NUL_REFUSED),
    ("centre phone", "/staff/centres/{centre}", {"centre_id": "{centre}", "name": "Kagiso", "phone": "011\x00"},
     NUL_REFUSED),
    ("broadcast message", "/staff/broadcasts/new", {"kind": "all", "message": NUL, "when": "now", "action": "send"},
     NUL_REFUSED),
    ("broadcast municipality", "/staff/broadcasts/new", {"kind": "municipality", "municipality": NUL,
                                                         "message": "Hello", "when": "now", "action": "send"},
     NUL_REFUSED),
    ("visit service", "/staff/visits/new", {"centre": "{centre}", "service": NUL, "day": DAY, "starts": "09:00",
                                            "ends": "14:00"}, NUL_REFUSED),
    ("account phone", "/staff/accounts/new", {"email": "x@example.org", "role": "approver", "phone": "082\x001234567",
                                              "password": PASSWORD, "confirm": PASSWORD}, NUL_REFUSED),
    ("staff phone", "/staff/accounts/{me}/phone", {"phone": "082\x001234567"}, NUL_REFUSED),
    ("my phone", "/staff/account", {"phone": "082\x001234567"}, NUL_REFUSED),
    ("privacy number", "/staff/privacy", {"number": "082\x001234567", "action": "show"}, NUL_REFUSED),
    ("privacy delete", "/staff/privacy/delete", {"number": "082\x001234567", "confirmed": "yes"}, NUL_REFUSED),
    ("centre offices", "/staff/centres/{centre}", {"centre_id": "{centre}", "name": "Kagiso", "offices": "HA\x00"},
     NUL_REFUSED),
    ("office status office", "/staff/centres/{centre}/offices", {"office": "H\x00A", "state": "down"}, NUL_REFUSED),
    ("office status state", "/staff/centres/{centre}/offices", {"office": "HA", "state": "down\x00"}, NUL_REFUSED),
    ("office status reason", "/staff/centres/{centre}/offices", {"office": "HA", "state": "down",
                                                                 "reason": "offline\x00"}, NUL_REFUSED),
]

# Words no office form accepts: a form error naming them, nothing written.
OFFICE_FORMS = [
    ("unknown office", "/staff/centres/{centre}/offices", {"office": "XX", "state": "down"}, "unknown office 'XX'"),
    ("unknown state", "/staff/centres/{centre}/offices", {"office": "HA", "state": "broken"}, "unknown state"),
    ("unknown reason", "/staff/centres/{centre}/offices", {"office": "HA", "state": "down", "reason": "x"},
     "unknown reason"),
    ("unknown office ticked", "/staff/centres/{centre}", {"centre_id": "{centre}", "name": "Kagiso",
                                                          "offices": "Home Affairs"}, "unknown office"),
]


def _fill(value: str, ids: dict) -> str:
    return value.format(**ids) if isinstance(value, str) and "{" in value else value


@pytest.fixture
def admin(seeded, auth):
    member = auth.as_role("admin")
    with seeded.sessions() as session:
        centre = session.scalar(select(Centre.id).order_by(Centre.id))
    return {"me": member.id, "centre": centre}


def _nothing_written(rt) -> None:
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Staff)) == 1
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert [e.action for e in audit.events(rt.sessions).events] == ["login.ok"]


@pytest.mark.parametrize("label, path, data, says", NUL_FORMS, ids=[row[0] for row in NUL_FORMS])
def test_a_nul_byte_in_a_staff_form_is_a_form_error(seeded, admin, auth, label, path, data, says):
    response = auth.post(_fill(path, admin), {k: _fill(v, admin) for k, v in data.items()})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code in (200, 400), (response.status_code, page[:300])
    assert says in page and "\x00" not in page
    _nothing_written(seeded)


@pytest.mark.parametrize("label, path, data, says", OFFICE_FORMS, ids=[row[0] for row in OFFICE_FORMS])
def test_an_unknown_office_or_state_is_a_form_error(seeded, admin, auth, label, path, data, says):
    response = auth.post(_fill(path, admin), {k: _fill(v, admin) for k, v in data.items()})
    assert response.status_code == 200 and says in html.unescape(response.get_data(as_text=True))
    _nothing_written(seeded)


PHONE_PAGES = [("/staff/accounts/new", {"email": "x@example.org", "role": "approver"}),
               ("/staff/accounts/{me}/phone", {}), ("/staff/account", {})]


@pytest.mark.parametrize("phone, says", [
    ("0" * 200, "Field cannot be longer than 32 characters."),
    ("082 ABC 4567", "only digits"),
    ("+27 82", "not a valid number"),
], ids=["200 characters", "letters", "too short"])
@pytest.mark.parametrize("path, data", PHONE_PAGES, ids=["account new", "account phone", "my account"])
def test_a_bad_staff_phone_is_a_form_error(seeded, admin, auth, path, data, phone, says):
    response = auth.post(_fill(path, admin), {**data, "phone": phone})
    assert response.status_code == 200 and says in html.unescape(response.get_data(as_text=True))
    _nothing_written(seeded)
    with seeded.sessions() as session:
        assert session.scalar(select(Staff.phone)) is None


@pytest.mark.parametrize("query", ["/staff/audit?action=login\x00", "/staff/centres/?q=Kag\x00iso",
                                   "/staff/analytics?days=7\x00"], ids=["audit", "centres", "analytics"])
def test_a_nul_byte_in_a_staff_query_is_not_found(admin, client, query):
    assert client.get(query).status_code == 404


def _id_urls(app) -> list[tuple[str, str]]:
    """(method, rule) for every /staff rule taking an integer."""
    return [(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff") and "<int:" in rule.rule
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


@pytest.mark.parametrize("huge", HUGE, ids=["2**31", "2**63", "10**30"])
def test_an_id_no_row_can_have_is_not_found_in_every_staff_url(app, admin, auth, client, huge):
    urls = _id_urls(app)
    assert len(urls) >= 10
    for method, rule in urls:
        path = rule.split("<")[0] + str(huge) + rule.split(">", 1)[1]
        response = auth.post(path) if method == "POST" else client.get(path)
        assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize("huge", HUGE, ids=["2**31", "2**63", "10**30"])
@pytest.mark.parametrize("path, field, data", [
    ("/staff/accounts/new", "centres", {"email": "c@example.org", "role": "clerk"}),
    ("/staff/broadcasts/new", "centres", {"kind": "centre", "message": "Hello", "when": "now", "action": "send"}),
    ("/staff/visits/new", "centre", {"service": "SASSA", "day": DAY, "starts": "09:00", "ends": "14:00"}),
], ids=["account centres", "broadcast centres", "visit centre"])
def test_an_id_no_row_can_have_in_a_staff_form_is_a_form_error(seeded, admin, auth, path, field, data, huge):
    response = auth.post(path, {**data, field: str(huge)})
    assert response.status_code in (200, 302, 400), response.status_code
    _nothing_written(seeded)


@pytest.mark.parametrize("email, says", [
    (LOCAL_254, "the part before the @ is at most 64 characters"),
    ("a" * 243 + "@example.org", "Field cannot be longer than 254 characters."),
], ids=["254 characters", "255 characters"])
def test_a_long_email_in_the_account_form_is_a_form_error(seeded, admin, auth, email, says):
    response = auth.post("/staff/accounts/new", {"email": email, "role": "approver"})
    assert response.status_code == 200 and says in html.unescape(response.get_data(as_text=True))
    _nothing_written(seeded)


def test_a_long_valid_email_is_added_and_logs_in(seeded, admin, auth, client):
    response = auth.post("/staff/accounts/new", {"email": LONG_VALID, "role": "approver"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200, page
    link = html.unescape(re.search(r'>http://localhost(/staff/invitation\?token=[^<]+)</textarea>', page).group(1))
    auth.logout()
    token = CSRF_FIELD.search(client.get(link).get_data(as_text=True)).group(1)
    assert client.post(link, data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}).status_code == 302
    assert auth.login(LONG_VALID).status_code == 302
    auth.logout()
    assert auth.login(LOCAL_254, "wrong-password-123").status_code == 200  # a failed login, audited
    assert auth.login("a" * 300 + "@example.org", "wrong-password-123").status_code == 200


@pytest.mark.parametrize("evil", ["/staff/%0d%0aSet-Cookie:%20x=1", "/staff/%0aaccounts/", "/staff/\r\n",
                                  "/staff/%00"], ids=["CRLF header", "LF", "raw CRLF", "NUL"])
def test_next_with_a_control_character_goes_home(rt, auth, client, evil):
    auth.add("admin")
    response = client.post(f"/staff/login?next={evil}", data={"email": "admin@example.org", "password": PASSWORD,
                                                              "csrf_token": auth.token()})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
