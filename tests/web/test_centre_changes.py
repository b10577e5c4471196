"""A clerk's change to what citizens read of a centre (name, address, phone) under the
two-person rule: held until an approver or admin who is not its author approves it, having
seen old → new (a stale approval is refused); hours and services apply at once, audited.
Citizens (USSD and SMS) see nothing of a held change, and an approved one at once."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from gateway.channels.africastalking import InboundSms
from gateway.sms import inbound
from gateway.store.models import Centre, CentreChange, Message
from menus.catalogue import Catalogues
from tests.conftest import Auth
from tests.dialer import Dialer
from tests.web.test_staff_centres import WEEK, centre, events, form_of

SCAM_NAME, SCAM_PHONE = "SMS your ID to 082 555 0199 Thusong", "SMS ID to 0825550199"
CITIZEN = "+27821234567"
_OPTION = re.compile(r"^(\d+)\. (.*)$", re.M)
_ids = iter(range(1, 10_000))


@pytest.fixture
def ruled(seeded, monkeypatch):
    """The seeded runtime with the two-person rule on."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    return seeded


def maponya(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(Centre.id).where(Centre.name.startswith("Maponya")))


def ussd_near_soweto(client) -> str:
    """The list a caller gets for Find nearest → Soweto, and the first centre's details."""
    find = Catalogues.load().text("en", "main.find")
    phone = Dialer(client, phone=f"+2782{next(_ids):07d}")  # a new caller: nothing to resume
    screen = phone.dial()
    phone.press(next(n for n, label in _OPTION.findall(screen) if label == find))
    listing = phone.press("Soweto")
    details = phone.press("1")
    details = phone.press(next(n for n, label in _OPTION.findall(details) if "Address" in label))
    return listing + "\n" + details


def sms_near_soweto(rt) -> str:
    """The reply a citizen's ``CENTRE Soweto`` gets."""
    at_id = f"ATXid_change_{next(_ids)}"
    assert inbound.store(rt, InboundSms(at_id, CITIZEN, "31234", "CENTRE Soweto", None, None, None))
    with rt.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.at_message_id == at_id, Message.direction == "in"))
    inbound.process(rt, message_id)
    with rt.sessions() as s:
        return s.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id.desc())).first()


def test_a_clerks_new_name_and_phone_reach_no_citizen_until_an_approver_approves(ruled, app, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    before = centre(ruled, mine)
    response = auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name=SCAM_NAME, phone=SCAM_PHONE))
    assert response.status_code == 302, response.get_data(as_text=True)
    seen_by_citizens = ussd_near_soweto(app.test_client()) + "\n" + sms_near_soweto(ruled)
    assert "SMS your ID" not in seen_by_citizens and "0825550199" not in seen_by_citizens, seen_by_citizens
    assert "Maponya Mall" in seen_by_citizens
    assert (centre(ruled, mine).name, centre(ruled, mine).phone) == (before.name, before.phone)
    [submitted] = events(ruled, "centre.change_submitted")
    assert json.loads(submitted.detail)["phone"] == [before.phone, SCAM_PHONE]

    approver = second(app, ruled, "approver")
    page = approver.client.get("/staff/centres/changes/").get_data(as_text=True)
    assert before.name in page and SCAM_NAME in page and (before.phone or "(none)") in page and SCAM_PHONE in page
    change = only_change(ruled)
    assert approver.post(f"/staff/centres/changes/{change.id}/approve", {"seen": seen_on(page, change.id)}).status_code == 302
    seen_by_citizens = ussd_near_soweto(app.test_client()) + "\n" + sms_near_soweto(ruled)
    assert SCAM_NAME[:20] in seen_by_citizens and SCAM_PHONE in seen_by_citizens, seen_by_citizens
    [approved] = events(ruled, "centre.change_approved")
    assert approved.actor == "approver@example.org" and json.loads(approved.detail)["name"] == [before.name, SCAM_NAME]
    assert only_change(ruled).status == "approved" and centre(ruled, mine).key != before.key


def second(app, rt, role: str, centre_ids=(), email: str | None = None) -> Auth:
    """Another person, in their own browser, logged in as ``role``."""
    other = Auth(app.test_client(), rt)
    other.as_role(role, centre_ids, email)
    return other


def only_change(rt) -> CentreChange:
    with rt.sessions() as s:
        [row] = s.scalars(select(CentreChange)).all()
    return row


def seen_on(page: str, change_id: int) -> str:
    """The ``seen`` digest the approve form of change ``change_id`` carries on ``page``."""
    found = re.search(rf'/centres/changes/{change_id}/approve">.*?name="seen" value="([0-9a-f]+)"', page, re.S)
    assert found, page
    return found.group(1)


def test_hours_and_services_apply_at_once_while_the_name_waits(ruled, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    before = centre(ruled, mine)
    response = auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong",
                                                           services=["grants", "postal"], **WEEK),
                         follow_redirects=True)
    page = response.get_data(as_text=True)
    saved = re.search(r"Saved [^<]*", page).group(0)
    assert "Tuesday hours" in saved and "hours_tue" not in saved and "waits for an approver" in saved
    details = ruled.browse.centre(mine)
    assert (details.name, details.hours) == (before.name, "Mon-Fri 07:30-16:00, Sat 08:00-12:00")
    [edited] = events(ruled, "centre.edited")
    assert "name" not in json.loads(edited.detail) and json.loads(edited.detail)["services"][1] == ["grants", "postal"]
    [submitted] = events(ruled, "centre.change_submitted")
    assert {k for k in json.loads(submitted.detail) if k in ("name", "address", "phone")} == {"name"}
    # The clerk's page says it waits, and the form keeps what they asked for.
    page = client.get(f"/staff/centres/{mine}").get_data(as_text=True)
    assert 'data-testid="change-waiting"' in page and before.name in page
    assert re.search(r'name="name"[^>]*value="Maponya Square Thusong"|value="Maponya Square Thusong"[^>]*name="name"',
                     page), page


def test_a_stale_approval_or_rejection_is_refused_and_publishes_nothing(ruled, app, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    before = centre(ruled, mine).name
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"))
    approver = second(app, ruled, "approver")
    opened = approver.client.get("/staff/centres/changes/").get_data(as_text=True)
    change_id = only_change(ruled).id
    # The clerk alters the waiting change after the approver opened the list.
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name=SCAM_NAME))
    for action, data in (("approve", {}), ("reject", {"reason": "Looks fine to me but no"})):
        page = approver.post(f"/staff/centres/changes/{change_id}/{action}", {"seen": seen_on(opened, change_id), **data},
                             follow_redirects=True).get_data(as_text=True)
        assert "this changed since you opened it" in page, page
    assert centre(ruled, mine).name == before and ruled.browse.centre(mine).name == before
    assert (only_change(ruled).status, only_change(ruled).version) == ("pending", 2)
    assert events(ruled, "centre.change_approved") == events(ruled, "centre.change_rejected") == []
    # Opened again, it shows the change as it is now, and that can be decided.
    fresh = approver.client.get("/staff/centres/changes/").get_data(as_text=True)
    assert SCAM_NAME in fresh and "Maponya Square" not in fresh
    approver.post(f"/staff/centres/changes/{change_id}/reject", {"seen": seen_on(fresh, change_id), "reason": "scam"})
    assert only_change(ruled).status == "rejected"


def test_saving_it_unchanged_keeps_the_approvers_page_good(ruled, app, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"))
    approver = second(app, ruled, "approver")
    opened = approver.client.get("/staff/centres/changes/").get_data(as_text=True)
    change_id = only_change(ruled).id
    # The clerk saves the page again as the form shows it (the text they asked for): no new version.
    again = auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"),
                      follow_redirects=True).get_data(as_text=True)
    assert "waits for an approver" in again and len(events(ruled, "centre.change_submitted")) == 1
    approver.post(f"/staff/centres/changes/{change_id}/approve", {"seen": seen_on(opened, change_id)})
    assert centre(ruled, mine).name == "Maponya Square Thusong"


def test_a_rejected_change_reaches_no_citizen_and_the_clerk_reads_why(ruled, app, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    before = centre(ruled, mine)
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, phone=SCAM_PHONE))
    approver = second(app, ruled, "approver")
    opened = approver.client.get("/staff/centres/changes/").get_data(as_text=True)
    change_id = only_change(ruled).id
    no_reason = approver.post(f"/staff/centres/changes/{change_id}/reject", {"seen": seen_on(opened, change_id),
                                                                             "reason": "  "}, follow_redirects=True)
    assert "Give the clerk a reason." in no_reason.get_data(as_text=True) and only_change(ruled).status == "pending"
    approver.post(f"/staff/centres/changes/{change_id}/reject", {"seen": seen_on(opened, change_id),
                                                                 "reason": "Not the centre's number"})
    assert only_change(ruled).status == "rejected" and centre(ruled, mine).phone == before.phone
    assert SCAM_PHONE not in sms_near_soweto(ruled)
    [rejected] = events(ruled, "centre.change_rejected")
    assert json.loads(rejected.detail)["reason"] == "Not the centre's number"
    page = client.get(f"/staff/centres/{mine}").get_data(as_text=True)
    assert 'data-testid="change-rejected"' in page and "Not the centre&#39;s number" in page
    assert 'data-testid="centre-changes">0<' in approver.client.get("/staff/").get_data(as_text=True)


def test_saving_the_text_citizens_read_withdraws_the_change(ruled, client, auth):
    mine = maponya(ruled)
    auth.as_role("clerk", [mine])
    before = centre(ruled, mine).name
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"))
    page = auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name=before),
                     follow_redirects=True).get_data(as_text=True)
    assert "withdrawn" in page and only_change(ruled).status == "withdrawn"
    assert len(events(ruled, "centre.change_withdrawn")) == 1 and centre(ruled, mine).name == before


def test_who_may_see_and_decide_a_change(ruled, app, client, auth):
    mine = maponya(ruled)
    with ruled.sessions() as s:
        elsewhere = s.scalar(select(Centre.id).where(Centre.id != mine).order_by(Centre.id))
    auth.as_role("clerk", [mine])
    auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"))
    change_id = only_change(ruled).id
    # The clerk: not on their home page, and the list and decisions are closed to them.
    assert "Centre changes waiting" not in client.get("/staff/").get_data(as_text=True)
    assert client.get("/staff/centres/changes/").status_code == 403
    assert auth.post(f"/staff/centres/changes/{change_id}/approve", {"seen": "x"}).status_code == 403
    # An approver for another centre: counts none, lists none, and may not decide it.
    far = second(app, ruled, "approver", [elsewhere], email="far@example.org")
    assert 'data-testid="centre-changes">0<' in far.client.get("/staff/").get_data(as_text=True)
    assert "Maponya Square" not in far.client.get("/staff/centres/changes/").get_data(as_text=True)
    assert far.post(f"/staff/centres/changes/{change_id}/approve", {"seen": "x"}).status_code == 404
    # The approver of every centre, and an admin: counted on the home page, linked to the list.
    for role in ("approver", "admin"):
        home = second(app, ruled, role).client.get("/staff/").get_data(as_text=True)
        assert 'data-testid="centre-changes">1<' in home and 'href="/staff/centres/changes/"' in home
    assert only_change(ruled).status == "pending"


def test_an_admins_edit_applies_at_once_under_the_rule(ruled, client, auth):
    mine = maponya(ruled)
    auth.as_role("admin")
    response = auth.post(f"/staff/centres/{mine}", form_of(ruled, mine, name="Maponya Square Thusong"))
    assert response.status_code == 302
    assert ruled.browse.centre(mine).name == "Maponya Square Thusong"
    assert len(events(ruled, "centre.edited")) == 1
    with ruled.sessions() as s:
        assert s.scalars(select(CentreChange)).all() == []
