"""Sending the outbox in-process through the real SDK to the local fake AT: how rows are
grouped into AT requests and what each row records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway import jobs
from gateway.channels.africastalking import RecipientResult, UnknownOutcome
from gateway.sms import inbound, outbox, sending, sweeper
from gateway.store.models import Message, utcnow
from tests.conftest import TOKEN
from tests.fake_at import FakeAT, at_runtime

PHONE = "+27821112233"


def _rows(rt) -> list[Message]:
    with rt.sessions() as s:
        return list(s.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)))


def test_identical_messages_to_one_number_in_one_batch_are_each_sent_and_recorded(rt):
    """HELP texted twice gets two identical replies: AT takes a number once per request, so
    they go in separate requests and both rows record their own outcome (none is left 'sending')."""
    with FakeAT() as fake:
        sender_rt = at_runtime(rt, fake)
        for key in ("reply:1", "reply:2"):
            outbox.queue_sms(sender_rt, PHONE, "Text CENTRE and your town to find a Thusong centre", key=key)
        outbox.queue_sms(sender_rt, "+27821112234", "Text CENTRE and your town to find a Thusong centre", key="reply:3")
        assert sending.send_pending(sender_rt, jobs.QUEUE_REPLIES) == 3
    assert [r.status for r in _rows(rt)] == ["sent", "sent", "sent"]
    assert len({r.at_message_id for r in _rows(rt)}) == 3
    assert fake.sent_to(PHONE) == 2 and len(fake.requests) == 2


def _inbound(client, at_id: str, to: str, phone: str, link_id: str | None = None):
    form = {"from": phone, "to": to, "text": "HELP", "date": "2026-11-22 10:00:00", "id": at_id}
    if link_id:
        form["linkId"] = link_id
    assert client.post(f"/webhooks/at/sms?token={TOKEN}", data=form).status_code == 200


def test_a_reply_goes_back_from_the_shortcode_the_citizen_texted(seeded, client):
    """Texted to our shortcode → the reply goes from it; to our premium shortcode → from it
    with AT's linkId (send_premium); anything else → AT_SENDER_ID. Same text, different
    routes: separate AT requests."""
    with FakeAT() as fake:
        sender_rt = at_runtime(seeded, fake, AT_SHORTCODES="31234", AT_PREMIUM_SHORTCODES="40404")
        _inbound(client, "ATXid_sc1", "31234", "+27821112241")
        _inbound(client, "ATXid_sc2", "40404", "+27821112242", link_id="SampleLinkId123")
        _inbound(client, "ATXid_sc3", "99999", "+27821112243", link_id="NotOurs")
        inbound.drain(sender_rt)
        assert sending.send_pending(sender_rt, jobs.QUEUE_REPLIES) == 3
    sent = {r.form["to"]: (r.form.get("from"), r.form.get("linkId")) for r in fake.requests}
    assert sent == {"+27821112241": ("31234", None), "+27821112242": ("40404", "SampleLinkId123"),
                    "+27821112243": ("THUSONG", None)}
    assert [r.status for r in _rows(seeded)] == ["sent"] * 3


def test_a_send_that_keeps_failing_ends_failed_once_past_its_retry_deadline(rt):
    """AT answering 500 each time: the row waits to retry until SMS_RETRY_DEADLINE_SECONDS after
    it was written, then ends failed with the reason, and is not tried again."""
    with FakeAT() as fake:
        fake.set_policy(lambda _n: "500")
        sender_rt = at_runtime(rt, fake, SMS_RETRY_DEADLINE_SECONDS=600)
        outbox.queue_sms(sender_rt, PHONE, "Your nearest centre", key="deadline:1")
        sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)
        (row,) = _rows(rt)
        assert row.status == "retry" and len(fake.requests) == 1
        with rt.sessions.begin() as s:  # written 11 minutes ago, its back-off over
            s.execute(update(Message).where(Message.id == row.id).values(
                created_at=utcnow() - timedelta(minutes=11), updated_at=utcnow() - timedelta(minutes=5)))
        assert sending.release_due_retries(sender_rt) == 1
        sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)
        (row,) = _rows(rt)
        assert (row.status, row.failure_reason) == ("failed", "RetryDeadline")
        assert sending.release_due_retries(sender_rt) == 0
        sending.send_pending(sender_rt, jobs.QUEUE_REPLIES)
        assert len(fake.requests) == 2  # the failed row was not tried a third time


def test_a_held_up_holders_outcome_never_overwrites_the_claim_of_the_worker_that_took_over(rt):
    """The first holder of a row was held up past the send lease and the reconcile window: the
    sweeper made the row unknown, then queued it once more, and another worker claimed it. The
    first holder's late outcome (AT's answer, or an unknown outcome) is not written over the new
    claim: the row is the new holder's, whose own outcome is then written."""
    outbox.queue_sms(rt, PHONE, "Your nearest centre", key="fence:1")
    (row,) = _rows(rt)
    (stale,) = sending._claim(rt, [row.id], bulk=False)
    for _ in range(2):  # lease over → unknown; reconcile window over with no report → queued
        with rt.sessions.begin() as s:
            s.execute(update(Message).where(Message.id == row.id).values(updated_at=utcnow() - timedelta(hours=1)))
        sweeper.sweep(rt)
    (fresh,) = sending._claim(rt, [row.id], bulk=False)
    assert (stale.attempts, fresh.attempts) == (1, 2)
    answer = [RecipientResult(PHONE, 101, "Success", "ATXid_stale", "ZAR 0.35")]
    sending._record(rt, rt.sms_sender, [([stale], answer, None)])
    sending._record(rt, rt.sms_sender, [([stale], None, UnknownOutcome("read timeout"))])
    (row,) = _rows(rt)
    assert (row.status, row.attempts, row.at_message_id) == ("sending", 2, None)
    sending._record(rt, rt.sms_sender, [([fresh], [RecipientResult(PHONE, 101, "Success", "ATXid_fresh", "ZAR 0.35")], None)])
    (row,) = _rows(rt)
    assert row.at_message_id == "ATXid_fresh" and row.status in ("sent", "simulated")


@pytest.mark.parametrize(("attempts", "seconds"), [
    (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (9, 256.0), (10, 300.0), (40, 300.0),
], ids=["first retry", "second", "third", "fifth", "ninth", "capped", "long after"])
def test_back_off_doubles_from_a_second_to_a_five_minute_cap(attempts, seconds):
    assert sending.backoff(attempts) == seconds


class _WatchingSender:
    """Answers every recipient 'accepted' after ``delay`` s; notes, as each request leaves,
    recipients whose claim another connection cannot yet see committed, and how many requests
    were in flight at once."""

    simulated = False

    def __init__(self, rt, delay: float = 0.02):
        import threading

        self.rt, self.delay = rt, delay
        self.not_committed: list[str] = []
        self.in_flight = self.most = 0
        self._lock = threading.Lock()

    def send(self, message, recipients, bulk=False, sender=None, link_id=None):
        import time

        with self.rt.sessions() as s:  # a connection of its own: only committed rows
            seen = dict(s.execute(select(Message.phone, Message.status).where(Message.phone.in_(recipients))).all())
        with self._lock:
            self.not_committed += [p for p in recipients if seen.get(p) != "sending"]
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.delay)
        with self._lock:
            self.in_flight -= 1
        return [RecipientResult(p, 101, "Success", f"ATXid_{p}", "ZAR 0.35") for p in recipients]


def test_overlapped_bulk_batches_each_leave_only_after_their_claim_committed(rt):
    """The bulk pipeline has several requests in flight while it records and claims; every
    request still leaves only once its rows' claim is committed (what keeps a killed worker
    from sending twice), and every row ends with its own outcome."""
    import dataclasses

    srt = dataclasses.replace(rt, settings=rt.settings.with_(SMS_RATE_PER_SECOND=1_000_000))
    srt.sms_sender = watching = _WatchingSender(srt)
    phones = [f"+2776{i:07d}" for i in range(1000)]
    outbox.queue_bulk(srt, phones, "Water outage notice. Reply STOP to opt out", "overlap")
    assert sending.send_pending(srt, jobs.QUEUE_BULK) == len(phones)
    assert watching.not_committed == []
    assert watching.most >= 2  # overlapped
    rows = _rows(rt)
    assert {r.status for r in rows} == {"sent"} and {r.at_message_id for r in rows} == {f"ATXid_{p}" for p in phones}
