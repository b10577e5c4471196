"""Staff setting an office's status by SMS from the phone on their account: the report sets it
(audited, ``via`` sms, no number in the audit), the reply says what citizens now see; a clerk
only for their own centres, naming the centre when they have several; a number on no active
account, and a staff member's own ``STATUS Soweto``, are citizens' texts and change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select

from gateway.dialogue import office_status
from gateway.sms import inbound as sms_inbound
from gateway.staff import audit, status_sms
from gateway.staff.accounts import add_staff, set_active
from gateway.store.models import Centre, Message, Office, OfficeStatus, centre_offices
from tests.conftest import PASSWORD
from tests.dialogue.test_office_news import maponya
from tests.sms.test_sms_pipeline import inbound

CLERK = "+27825550001"
CITIZEN = "+27825550099"
_ids = iter(range(10**6))


def text(client, rt, body: str, phone: str = CLERK) -> str | None:
    """Send ``body`` from ``phone`` as AT would, answer it as the workers do; the reply."""
    at_id = f"ATXid_staff_{next(_ids)}"
    inbound(client, body, at_id, phone=phone)
    sms_inbound.drain(rt, answer=status_sms.answer)
    with rt.sessions() as s:
        row_id = s.scalar(select(Message.id).where(Message.at_message_id == at_id))
        return s.scalar(select(Message.text).where(Message.idempotency_key == f"reply:{row_id}"))


def rows(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(OfficeStatus))


def other_centre(rt, cid: int) -> int:
    """Another centre, with a Home Affairs office too."""
    with rt.sessions.begin() as s:
        other = s.scalar(select(Centre.id).where(Centre.id != cid).order_by(Centre.id).limit(1))
        s.execute(insert(centre_offices).values(centre_id=other, office_id=s.scalar(select(Office.id).where(Office.code == "HA"))))
    return other


@pytest.fixture
def clerk(seeded):
    cid = maponya(seeded)
    add_staff(seeded.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [cid], phone=CLERK)
    return cid


def test_a_clerk_s_report_sets_the_office_and_the_reply_says_what_citizens_see(seeded, client, clerk):
    reply = text(client, seeded, "STATUS HA DOWN system offline")
    assert reply.startswith("Set until midnight. Citizens now see: Maponya Mall Thusong today: Home Affairs: DOWN - system offline ("), reply
    [status] = office_status.current(seeded, [clerk])
    assert (status.office, status.state, status.reason, status.via) == ("HA", "down", "offline", "sms")
    [event] = audit.events(seeded.sessions, "office.status_set").events
    assert event.actor == "clerk@example.org" and event.target == f"centre {clerk} HA"
    assert json.loads(event.detail)["via"] == "sms" and CLERK not in (event.detail or "") + (event.target or "")


def test_a_number_on_no_account_never_changes_anything(seeded, client, clerk):
    reply = text(client, seeded, "STATUS HA DOWN system offline", phone=CITIZEN)
    assert rows(seeded) == 0 and audit.events(seeded.sessions, "office.status_set").total == 0
    assert reply == "We could not find HA DOWN system offline. Text CENTRE and a nearby town, e.g. CENTRE Soweto.", reply


def test_a_disabled_account_s_phone_is_a_citizen_s(seeded, client, clerk):
    set_active(seeded.sessions, "clerk@example.org", False)
    reply = text(client, seeded, "STATUS HA DOWN")
    assert reply == "We could not find HA DOWN. Text CENTRE and a nearby town, e.g. CENTRE Soweto.", reply
    assert rows(seeded) == 0


def test_a_staff_member_asking_about_a_place_is_answered_as_a_citizen(seeded, client, clerk):
    assert text(client, seeded, "STATUS Soweto") == "Maponya Mall Thusong: no reports today."
    assert rows(seeded) == 0


def test_a_clerk_cannot_set_a_centre_not_theirs(seeded, client, clerk):
    other = other_centre(seeded, clerk)
    reply = text(client, seeded, f"STATUS {other} HA DOWN")
    assert reply == f"Not set: centre {other} is not one of yours.", reply
    assert rows(seeded) == 0


def test_a_clerk_with_several_centres_is_told_to_name_one_with_their_ids(seeded, client, clerk):
    other = other_centre(seeded, clerk)
    add_staff(seeded.sessions, "two@example.org", "Two", "clerk", PASSWORD, [clerk, other], phone="+27825550002")
    reply = text(client, seeded, "STATUS HA DOWN", phone="+27825550002")
    assert reply.startswith("Not set: you have several centres, so add its id: STATUS <id> HA DOWN. Yours: "), reply
    assert f"{clerk} Maponya Mall Thusong" in reply and f"{other} " in reply
    assert rows(seeded) == 0
    assert text(client, seeded, f"STATUS {clerk} HA DOWN", phone="+27825550002").startswith("Set until midnight.")
    assert rows(seeded) == 1


@pytest.mark.parametrize(("body", "said"), [
    ("STATUS UIF DOWN", "Not set: centre {cid} has no UIF office."),
    ("STATUS HA DWN", "Not set: 'DWN' is not a state. Say UP, SLOW or DOWN after the office, e.g. STATUS HA DOWN offline."),
    ("STATUS HA DOWN rain", "Not set: 'rain' is not a reason. Reasons: offline (system offline), queue (long queue), "
                            "closed (closed today), no_forms (no forms in stock), training (staff training)."),
], ids=["office-the-centre-lacks", "unknown-state", "unknown-reason"])
def test_refusals_say_why(seeded, client, clerk, body, said):
    reply = text(client, seeded, body)
    assert reply == said.format(cid=clerk)
    assert rows(seeded) == 0
