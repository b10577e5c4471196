"""Recording usage: a hop's entry rides in the pipeline that saves its session (no extra round
trip), the drain moves entries into SQL with callers as keyed hashes, SMS keyword searches and
unrecognised keywords are recorded by the worker that answers them."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from gateway.sms import inbound as sms_inbound
from gateway.store.models import Message, UsageSearch, UssdHopLog
from gateway.usage import events
from tests.conftest import TOKEN
from tests.dialer import Dialer

PHONE = "+27821234567"


class RoundTrips:
    """Counts what this process's redis-py connections write to the socket: one packed write is
    one round trip (a pipeline of three commands is one). Also counts the XADD commands in those
    writes, which the server's commandstats cannot give: it counts every client of a shared
    server, and another test process may be writing to it."""

    XADD = b"$4\r\nXADD\r\n"  # how RESP frames the command's name

    def __init__(self, monkeypatch):
        self.count = 0
        self.xadds = 0
        real = redis.connection.AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            self.count += 1
            chunks = [command] if isinstance(command, (bytes, str)) else command
            wire = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
            self.xadds += wire.count(self.XADD)
            return real(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)


def hop_round_trips(client, monkeypatch) -> tuple[list[int], int]:
    """Round trips of each hop of a short journey (dial, find, type a place), and the XADD
    commands sent in them."""
    counter = RoundTrips(monkeypatch)
    phone = Dialer(client, PHONE)
    per_hop = []
    for action in (phone.dial, lambda: phone.press("1"), lambda: phone.press("Soweto")):
        before = counter.count
        action()
        per_hop.append(counter.count - before)
    return per_hop, counter.xadds


def test_recording_adds_no_redis_round_trip_to_a_hop(seeded, client, monkeypatch):
    # The directory looks at a version key in Redis once a second (another process may have
    # edited centres): warm up, then keep that look out of the counts, it is not the hop's.
    hop_round_trips(client, monkeypatch)
    monkeypatch.setattr(seeded.directory, "_check_every", 3600.0)
    seeded.redis.delete(events.STREAM)
    with monkeypatch.context() as m:
        m.setattr("gateway.ussd.hop.hop_event", lambda *a, **k: None)  # the hop as it was: no recording
        without, _ = hop_round_trips(client, m)
    assert seeded.redis.xlen(events.STREAM) == 0
    with monkeypatch.context() as m:
        with_recording, xadds = hop_round_trips(client, m)
    print(f"round trips per hop without recording {without}, with recording {with_recording}; "
          f"XADD commands {xadds}")
    assert with_recording == without == [2, 2, 2]  # MGET session+profile, one pipeline to save
    assert xadds == 3  # the entries were written, inside those pipelines
    assert seeded.redis.xlen(events.STREAM) == 3


def test_drain_stores_hops_and_searches_with_the_caller_hashed(seeded, client):
    phone = Dialer(client, PHONE)
    phone.dial()
    phone.press("1")
    phone.press("Xyzzyville")  # no such place: re-asked
    phone.press("Soweto")
    assert events.drain(seeded) == 4
    assert seeded.redis.xlen(events.STREAM) == 0
    assert events.drain(seeded) == 0
    with seeded.sessions() as s:
        hops = s.execute(select(UssdHopLog).order_by(UssdHopLog.id)).scalars().all()
        searches = s.execute(select(UsageSearch).order_by(UsageSearch.id)).scalars().all()
    assert [h.screen for h in hops] == ["main", "find_place", "find_place", "nearest"]
    assert {h.session_id for h in hops} == {phone.session_id}
    key = seeded.settings.analytics_key
    assert {h.caller for h in hops} == {events.caller_hash(key, PHONE)}
    assert all(PHONE not in h.caller and PHONE[1:] not in h.caller for h in hops)
    assert [(q.channel, q.kind, q.term, q.found) for q in searches] == [
        ("ussd", "place", "xyzzyville", False), ("ussd", "place", "soweto", True)]
    assert searches[1].centre_id is not None


def test_a_drain_that_died_before_deleting_inserts_nothing_twice(seeded, client, monkeypatch):
    Dialer(client, PHONE).dial()

    def lost(*_ids):
        raise redis.ConnectionError("gone between the commit and the delete")

    with monkeypatch.context() as m:
        m.setattr(seeded.redis, "xdel", lost)
        with pytest.raises(redis.ConnectionError):
            events.drain(seeded)
    assert seeded.redis.xlen(events.STREAM) == 1  # still there: the next drain sees it again
    assert events.drain(seeded) == 1
    assert seeded.redis.xlen(events.STREAM) == 0
    with seeded.sessions() as s:
        assert len(s.scalars(select(UssdHopLog.id)).all()) == 1


def test_service_searches_are_recorded_with_the_service_asked(seeded, client):
    from tests.ussd.test_journeys import choose, en

    p = Dialer(client, PHONE)
    p.dial()
    choose(p, en("main.services"))
    choose(p, en("service.documents"))
    choose(p, en("services.near_place"))
    p.press("Soweto")
    events.drain(seeded)
    with seeded.sessions() as s:
        rows = s.execute(select(UsageSearch.kind, UsageSearch.term, UsageSearch.found)
                         .order_by(UsageSearch.id)).all()
    assert ("service", "documents", True) in rows and ("place", "soweto", True) in rows


@pytest.mark.parametrize("text, expected", [
    ("CENTRE Soweto", ("sms", "place", "soweto", True)),
    ("CENTRE Xyzzyville", ("sms", "place", "xyzzyville", False)),
    ("SERVICES Kagiso", ("sms", "place", "kagiso", True)),
    ("Hello there", ("sms", "keyword", "hello", False)),
], ids=["found", "not-found", "services", "unrecognised"])
def test_sms_searches_and_unknown_keywords_are_recorded_once(seeded, client, text, expected):
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={
        "from": PHONE, "to": "31234", "text": text, "date": "2026-11-22 10:00:00", "id": "ATXid_u1",
        "linkId": "l1", "networkCode": "65501"})
    assert resp.status_code == 200
    with seeded.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.direction == "in"))
    sms_inbound.process(seeded, message_id)
    sms_inbound.keyword_answer(seeded, seeded.sessions().get(Message, message_id))  # an answer tried again
    with seeded.sessions() as s:
        rows = s.execute(select(UsageSearch.channel, UsageSearch.kind, UsageSearch.term, UsageSearch.found,
                                UsageSearch.caller)).all()
    assert [tuple(r)[:4] for r in rows] == [expected]
    assert rows[0].caller == events.caller_hash(seeded.settings.analytics_key, PHONE)


@pytest.mark.slow
def test_a_worker_drains_the_stream_on_the_sweep_schedule(seeded, client, settings):
    from tests.workers import running_workers, wait_until

    for n in range(3):
        phone = Dialer(client, f"+2782111000{n}")
        phone.dial()
        phone.press("1")
    assert seeded.redis.xlen(events.STREAM) == 6

    def stored() -> int:
        with seeded.sessions() as s:
            return len(s.scalars(select(UssdHopLog.id)).all())

    with running_workers(settings, args=("--sweep-every", "0.5")):
        wait_until(lambda: stored() == 6 and seeded.redis.xlen(events.STREAM) == 0, timeout=60)
        Dialer(client, "+27821110009").dial()  # a later hop: drained by a later sweep
        wait_until(lambda: stored() == 7, timeout=30)
