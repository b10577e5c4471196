"""The acceptance, end to end through real worker processes and the fake AT: a clerk's
``STATUS HA DOWN system offline`` from the phone on their account changes what ``STATUS
Soweto``, the ``CENTRE`` reply and the USSD details screen show; the same text from another
number changes nothing; the status expires at the end of the SAST day (injected clock); the
subscriber who asked for alerts gets one, although bulk is in quiet hours (``BULK_SCHEDULE``:
the only window is tomorrow), and a second report the same day alerts no one again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gateway.clock import SAST, FrozenClock
from gateway.dialogue import office_status
from gateway.dialogue.office_status import end_of_day
from gateway.sms import consent
from gateway.sms.quiet_hours import fixed_windows_setting
from gateway.staff.accounts import add_staff
from gateway.store.models import OfficeStatus
from tests.conftest import PASSWORD
from tests.dialogue.test_office_news import maponya, reply
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env, inbound
from tests.ussd.test_journeys import dial_to_centre
from tests.workers import running_workers, wait_quiet, wait_until

pytestmark = pytest.mark.slow
CLERK = "+27825552001"
STRANGER = "+27825552002"
CITIZEN = "+27825552003"
SUBSCRIBER = "+27825552004"


def replies_to(fake: FakeAT, number: str) -> list[str]:
    return [m for n, m, _sender in fake.accepted_messages() if n == number]


def test_a_clerk_s_sms_report_reaches_every_citizen_view_and_alerts_once(seeded, client, settings, monkeypatch):
    cid = maponya(seeded)
    add_staff(seeded.sessions, "clerk@example.org", "Clerk", "clerk", PASSWORD, [cid], phone=CLERK)
    consent.subscribe(seeded, SUBSCRIBER, cid, "en", alerts=True)
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1), now + timedelta(days=1, hours=1))
    with FakeAT() as fake, running_workers(settings, env=at_env(fake, BULK_SCHEDULE=fixed_windows_setting([tomorrow]))):
        inbound(client, "STATUS HA DOWN system offline", "ATXid_e2e_1", phone=STRANGER)
        wait_until(lambda: replies_to(fake, STRANGER))
        with seeded.sessions() as s:
            assert s.scalar(select(func.count()).select_from(OfficeStatus)) == 0  # another number: nothing
        inbound(client, "STATUS HA DOWN system offline", "ATXid_e2e_2", phone=CLERK)
        wait_until(lambda: replies_to(fake, CLERK) and replies_to(fake, SUBSCRIBER))
        inbound(client, "STATUS Soweto", "ATXid_e2e_3", phone=CITIZEN)
        inbound(client, "CENTRE Soweto", "ATXid_e2e_4", phone=CITIZEN)
        inbound(client, "STATUS HA DOWN offline", "ATXid_e2e_5", phone=CLERK)  # again, the same day
        wait_until(lambda: len(replies_to(fake, CITIZEN)) == 2 and len(replies_to(fake, CLERK)) == 2)
        wait_quiet(seeded)
    [status] = office_status.current(seeded, [cid])
    line = f"Home Affairs: DOWN - system offline ({status.set_at.astimezone(SAST):%H:%M})"
    assert replies_to(fake, STRANGER) == [
        "We could not find HA DOWN system offline. Text CENTRE and a nearby town, e.g. CENTRE Soweto."]
    assert replies_to(fake, CLERK)[0].startswith("Set until midnight. Citizens now see: Maponya Mall Thusong today: Home Affairs: DOWN")
    status_reply, centre_reply = sorted(replies_to(fake, CITIZEN), key=lambda m: not m.startswith("Maponya"))
    assert status_reply == f"Maponya Mall Thusong today: {line}"
    assert f"\nToday: {line}\n" in centre_reply
    assert replies_to(fake, SUBSCRIBER) == [
        "Home Affairs at Maponya Mall Thusong: DOWN today - system offline. Check before you travel. ALERTS OFF to stop."]
    screen = dial_to_centre(client).press("1").splitlines()
    assert screen[1] == line, screen

    # Midnight SAST: the status has expired everywhere citizens look.
    monkeypatch.setattr(seeded, "clock", FrozenClock(end_of_day(status.set_at)))
    assert reply(seeded, "STATUS Soweto") == "Maponya Mall Thusong: no reports today."
    assert "Today:" not in reply(seeded, "CENTRE Soweto")
    screen = dial_to_centre(client, phone="+27825552005").press("1")
    assert "Home Affairs" not in screen, screen
