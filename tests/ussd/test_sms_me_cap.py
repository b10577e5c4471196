""""SMS me these details" is capped per number per South African day across USSD sessions
(``USSD_SMS_PER_DAY``): past it the caller is told politely on the END screen and nothing is
queued; another number is not affected; AT retrying a hop counts once; the count lives in Redis
until the day ends and a new day starts afresh (the runtime's clock, injected). Every session
goes through the real hop (the AT webhook, the Redis session store, the engine, the ports)."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.clock import SAST, FrozenClock
from gateway.ussd.ports import SMS_ME_KEY, UssdPorts
from tests.ussd.test_journeys import PHONE, choose, dial_to_centre, en, outbox

OTHER = "+27829876543"


@pytest.fixture
def capped(seeded, monkeypatch):
    """A cap of 3 and a clock at 23:50 SAST, ten minutes before the day ends."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(USSD_SMS_PER_DAY="3"))
    clock = FrozenClock(datetime(2026, 12, 10, 23, 50, tzinfo=SAST))
    monkeypatch.setattr(seeded, "clock", clock)
    return clock


def sms_me(client, phone: str = PHONE) -> str:
    p = dial_to_centre(client, phone=phone)
    screen = choose(p, en("centre.sms"))
    assert p.ended, screen
    assert p.retry() == screen  # AT repeating the hop: the same screen, counted once
    return screen


def test_sms_me_is_capped_per_number_per_day_across_sessions_and_resets_the_next_day(seeded, client, capped):
    sent = en("sms.sent", centre="Maponya Mall Thusong")
    assert [sms_me(client) for _ in range(3)] == [sent] * 3
    assert sms_me(client) == en("sms.capped")
    assert sms_me(client) == en("sms.capped")  # still refused; refusals are not counted
    assert len(outbox(seeded, PHONE)) == 3
    assert sms_me(client, OTHER) == sent  # another number has its own count
    [key] = seeded.redis.keys(f"{SMS_ME_KEY}{PHONE}:*")
    assert 0 < seeded.redis.ttl(key) <= 600  # gone when the South African day ends

    capped.advance(11 * 60)  # 00:01 the next day
    assert sms_me(client) == sent
    assert len(outbox(seeded, PHONE)) == 4



def test_the_same_session_and_centre_asked_again_at_the_cap_counts_once(seeded, capped):
    centre = seeded.directory.entries()[0].id
    for n in range(3):
        assert UssdPorts(seeded, PHONE, f"s{n}").sms_me(centre)
    again = UssdPorts(seeded, PHONE, "s2")  # a duplicate of the third session's request
    assert again.sms_me(centre) and len(outbox(seeded, PHONE)) == 3
    assert not UssdPorts(seeded, PHONE, "s3").sms_me(centre)
    assert seeded.redis.scard(seeded.redis.keys(f"{SMS_ME_KEY}{PHONE}:*")[0]) == 3
