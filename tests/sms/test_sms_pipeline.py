"""The SMS pipeline end to end: real SDK → local fake AT, real RQ worker processes, real Redis."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from rq import Worker
from sqlalchemy import func, select, update

from gateway import jobs
from gateway.sms import consent, outbox
from gateway.store.models import Message
from gateway.store.models import utcnow as now
from tests.conftest import TOKEN
from tests.fake_at import FakeAT
from tests.live import serving
from tests.workers import running_workers, start_worker, wait_quiet, wait_until

pytestmark = pytest.mark.slow
FINAL = {"sent", "delivered", "failed"}


def at_env(fake: FakeAT, **extra) -> dict:
    return {"AT_USERNAME": "sandbox", "AT_API_KEY": "test-key", "AT_SENDER_ID": "THUSONG",
            "AT_API_URL": fake.base_url, "SMS_RATE_PER_SECOND": "5000", "AT_TIMEOUT_SECONDS": "1",
            "SMS_SEND_LEASE_SECONDS": "2", "SMS_RECONCILE_SECONDS": "4", **extra}


def inbound(client, text: str, at_id: str, phone: str = "+27821234567"):
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={
        "from": phone, "to": "31234", "text": text, "date": "2026-11-22 10:00:00", "id": at_id,
        "linkId": "l1", "networkCode": "65501"})
    assert resp.status_code == 200
    return resp


def statuses(rt) -> dict[str, int]:
    with rt.sessions() as s:
        rows = s.execute(select(Message.status, func.count()).where(Message.direction == "out").group_by(Message.status))
        return dict(rows.all())


def test_centre_soweto_gets_one_sms_naming_maponya(seeded, client, settings):
    with FakeAT() as fake, running_workers(settings, env=at_env(fake)):
        inbound(client, "CENTRE soweto", "ATXid_soweto_1")
        wait_until(lambda: fake.requests)
        wait_quiet(seeded)  # counted when nothing is left to send: a second reply would show
    assert len(fake.requests) == 1
    form = fake.requests[0].form
    assert form["to"] == "+27821234567" and form["from"] == "THUSONG" and form["username"] == "sandbox"
    assert "Maponya Mall Thusong" in form["message"]
    assert fake.requests[0].headers.get("apiKey") == "test-key"


def test_same_inbound_id_three_times_gets_one_reply(seeded, client, settings):
    with FakeAT() as fake, running_workers(settings, env=at_env(fake)):
        for _ in range(3):
            inbound(client, "CENTRE Khayelitsha", "ATXid_dup_1")
        wait_until(lambda: fake.requests)
        wait_quiet(seeded)
    assert len(fake.requests) == 1 and "Tafelsig" in fake.requests[0].form["message"]


def test_stop_confirms_then_bulk_skips_and_start_includes_again(seeded, client, settings):
    a, b = "+27821110001", "+27821110002"
    with FakeAT() as fake, running_workers(settings, 3, env=at_env(fake)):
        inbound(client, "STOP", "ATXid_stop_1", phone=a)
        wait_until(lambda: fake.sent_to(a) == 1)
        assert "START" in fake.accepted_messages()[0][1]  # the confirmation says how to rejoin
        outbox.queue_bulk(seeded, [a, b], "Home Affairs mobile unit Tuesday 09:00. Reply STOP to opt out", "bc1")
        wait_quiet(seeded)
        assert fake.sent_to(b) == 1
        assert fake.sent_to(a) == 1  # only the STOP confirmation
        inbound(client, "START", "ATXid_start_1", phone=a)
        wait_until(lambda: fake.sent_to(a) == 2)
        outbox.queue_bulk(seeded, [a, b], "Clinic day Friday. Reply STOP to opt out", "bc2")
        wait_quiet(seeded)
    assert fake.sent_to(a) == 3 and fake.sent_to(b) == 2
    bulk = [r for r in fake.requests if r.form.get("enqueue") == "1"]
    assert bulk, "bulk sends use AT's enqueue flag"


def test_unknown_text_gets_help_once_per_hour(seeded, client, settings):
    with FakeAT() as fake, running_workers(settings, env=at_env(fake)):
        inbound(client, "hello there", "ATXid_u1")
        inbound(client, "what?", "ATXid_u2")
        wait_until(lambda: fake.requests)
        wait_quiet(seeded)
    assert len(fake.requests) == 1 and "CENTRE" in fake.requests[0].form["message"]


def test_twenty_percent_faults_end_final_and_never_twice(seeded, app, settings):
    n = 120
    phones = [f"+2772{i:07d}" for i in range(n)]
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        fake.random_failures(0.2, seed=11)
        with running_workers(settings, 3, env=at_env(fake), args=("--sweep-every", "0.5")):
            for i, phone in enumerate(phones):
                outbox.queue_sms(seeded, phone, f"Reply {i}: your nearest centre is open", key=f"fault:{i}")
            wait_quiet(seeded, timeout=120)
    assert set(statuses(seeded)) <= FINAL and sum(statuses(seeded).values()) == n
    counts = fake.accepted_counts()
    assert max(counts.values()) == 1, [p for p, c in counts.items() if c > 1]
    outcomes = {r.outcome for r in fake.requests}
    assert {"500", "429", "timeout", "drop"} <= outcomes, outcomes
    with seeded.sessions() as s:
        rows = list(s.scalars(select(Message).where(Message.direction == "out")))
    for row in rows:
        if row.status == "failed":
            assert row.failure_reason
        else:
            assert counts[row.phone] == 1


def test_sigkill_mid_thousand_then_another_worker_sends_each_exactly_once(seeded, app, settings):
    n = 1000
    phones = [f"+2773{i:07d}" for i in range(n)]
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        env = at_env(fake, SMS_RATE_PER_SECOND="400")
        for i, phone in enumerate(phones):
            outbox.queue_sms(seeded, phone, f"Notice {i}", key=f"kill:{i}")
        first = start_worker(settings, "--sweep-every", "0.5", env=env, new_session=True)
        try:
            wait_until(lambda: len(fake.accepted_counts()) >= 200, timeout=60)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its work horse, mid-batch
            first.wait()
        killed_at = len(fake.accepted_counts())
        assert killed_at < n, "the kill came too late to test anything"
        with running_workers(settings, 3, env=env, args=("--sweep-every", "0.5")):
            wait_quiet(seeded, timeout=120)
    counts = fake.accepted_counts()
    assert len(counts) == n and set(counts.values()) == {1}
    assert statuses(seeded).get("failed", 0) == 0


def test_sigkill_mid_broadcast_with_batches_in_flight_then_each_exactly_once(seeded, app, settings):
    """The bulk pipeline keeps several batches in flight (AT answers each after 0.2 s, having
    taken the messages at once): a worker killed mid-broadcast leaves claimed batches whose
    requests may or may not have left. Another worker settles them (delivery reports for what
    AT took, a resend after the reconcile window for what it never got): each number once.
    Up to two claims of four requests are in doubt at a kill (800 rows), each settled by its
    own report: the reconcile window must outlast the reports' backlog (with the default 4 s,
    on a loaded machine, one report came after its row was resent)."""
    n = 3000
    phones = [f"+2774{i:07d}" for i in range(n)]
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        fake.answer_delay = 0.2
        env = at_env(fake, SMS_RATE_PER_SECOND="1000000", SMS_RECONCILE_SECONDS="20")
        outbox.queue_bulk(seeded, phones, "Water outage notice. Reply STOP to opt out", "killbulk")
        first = start_worker(settings, "--sweep-every", "0.5", env=env, new_session=True)
        try:
            # Killed with claims in flight: a drain job handing over (the sweeper's jobs) starts
            # its pipeline with one batch alone, and a kill then tested one batch in doubt.
            wait_until(lambda: len(fake.accepted_counts()) >= 1000 and statuses(seeded).get("sending", 0) >= 200,
                       timeout=60, every=0.02)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its requests in flight
            first.wait()
        killed_at = len(fake.accepted_counts())
        assert killed_at < n, "the kill came too late to test anything"
        left = statuses(seeded)
        with running_workers(settings, 3, env=env, args=("--sweep-every", "0.5")):
            wait_quiet(seeded, timeout=120)
    counts = fake.accepted_counts()
    print(f"killed after {killed_at} accepted; rows then {left}; at the end {statuses(seeded)}")
    assert left.get("sending", 0) >= 200  # batches were in flight when it died
    assert len(counts) == n and set(counts.values()) == {1}
    assert statuses(seeded).get("failed", 0) == 0


def test_a_live_worker_held_up_past_the_send_lease_never_has_its_rows_sent_twice(seeded, settings):
    """AT takes the messages at once but answers slowly (3 s): one worker's batch of 4 replies
    (each text its own request, all at once) is in flight far past the send lease and the
    reconcile window (½ s each), while a second worker sweeps and would resend what the sweeper
    finds unknown. Each number still gets exactly one SMS, the first worker's."""
    n = 4
    phones = [f"+2773{i:07d}" for i in range(n)]
    for i, phone in enumerate(phones):
        outbox.queue_sms(seeded, phone, f"Notice {i}", key=f"slow:{i}")
    with FakeAT() as fake:
        fake.answer_delay = 3.0
        env = at_env(fake, AT_TIMEOUT_SECONDS="5", SMS_SEND_LEASE_SECONDS="0.5", SMS_RECONCILE_SECONDS="0.5")
        with running_workers(settings, 2, env=env, args=("--sweep-every", "0.3")):
            wait_quiet(seeded, timeout=90)
    counts = fake.accepted_counts()
    assert [p for p, c in counts.items() if c > 1] == []
    assert set(counts) == set(phones)
    assert statuses(seeded) == {"sent": n}
    with seeded.sessions() as s:
        assert set(s.scalars(select(Message.attempts).where(Message.direction == "out"))) == {1}


def test_a_worker_frozen_mid_batch_sends_nothing_another_worker_took_over(seeded, app, settings):
    """A worker is stopped (SIGSTOP) mid-batch for longer than the send lease and the reconcile
    window: what it had sent is settled by its delivery reports, the rest is resent by another
    worker. Woken (SIGCONT), it must not send the rows it no longer holds."""
    n = 32
    phones = [f"+2773{i:07d}" for i in range(n)]
    for i, phone in enumerate(phones):
        outbox.queue_sms(seeded, phone, f"Notice {i}", key=f"frozen:{i}")
    with serving(app) as base, FakeAT(dlr_url=f"{base}/webhooks/at/sms/delivery?token={TOKEN}") as fake:
        fake.answer_delay = 0.5  # the batch (a request per text, four at a time) takes ~4 s
        env = at_env(fake, AT_TIMEOUT_SECONDS="3", SMS_SEND_LEASE_SECONDS="1", SMS_RECONCILE_SECONDS="2")
        frozen = start_worker(settings, "--sweep-every", "0.3", env=env)
        try:
            wait_until(lambda: len(fake.accepted_counts()) >= 4, timeout=60, every=0.02)
            os.kill(frozen.pid, signal.SIGSTOP)
            with running_workers(settings, env=env, args=("--sweep-every", "0.3")):
                wait_until(lambda: len(fake.accepted_counts()) == n, timeout=60)  # the rest went from here
                assert fake.sent_to(phones[-1]) == 1
                os.kill(frozen.pid, signal.SIGCONT)
                wait_until(lambda: _idle(seeded, frozen.pid), timeout=30)  # its batch is over
                wait_quiet(seeded, timeout=60)
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
            frozen.terminate()
            frozen.wait(timeout=15)
    counts = fake.accepted_counts()
    assert [p for p, c in counts.items() if c > 1] == []
    assert set(counts) == set(phones)


def _idle(rt, pid: int) -> bool:
    return any(w.pid == pid and w.get_state() == "idle" for w in Worker.all(connection=rt.redis))


@pytest.mark.parametrize("queue", [jobs.QUEUE_REPLIES, jobs.QUEUE_BULK])
def test_simulated_sends_without_credentials_show_in_the_inbox(seeded, settings, queue):
    phone = "+27829990000"
    outbox.queue_sms(seeded, phone, "Simulated hello", key=f"sim:{queue}", queue=queue)
    with running_workers(settings):
        wait_until(lambda: outbox.inbox(seeded, phone) and outbox.inbox(seeded, phone)[0]["status"] == "simulated")
    assert outbox.inbox(seeded, phone)[0]["text"] == "Simulated hello"


def test_opted_out_number_is_never_sent_a_bulk_row_whatever_its_history(seeded, settings):
    """A bulk row that waited out a retry, or whose outcome was unknown and is resent, is
    checked for opt-out again when a worker claims it (3 workers at once, counted when quiet)."""
    stopped_retry, stopped_unknown, still_in = "+27821110011", "+27821110012", "+27821110013"
    outbox.queue_bulk(seeded, [stopped_retry, stopped_unknown, still_in], "Clinic day Friday", "bc-hist")
    long_ago = now() - timedelta(hours=1)
    with seeded.sessions.begin() as s:
        for phone, status in ((stopped_retry, "retry"), (stopped_unknown, "unknown"), (still_in, "retry")):
            s.execute(update(Message).where(Message.phone == phone).values(
                status=status, attempts=1, updated_at=long_ago))
    for phone in (stopped_retry, stopped_unknown):
        consent.record_opt_out(seeded, phone)
    with FakeAT() as fake, running_workers(settings, 3, env=at_env(fake), args=("--sweep-every", "0.5")):
        wait_until(lambda: fake.sent_to(still_in) == 1, timeout=60)
        wait_quiet(seeded, timeout=60)
    assert fake.sent_to(stopped_retry) == 0 and fake.sent_to(stopped_unknown) == 0
    assert fake.sent_to(still_in) == 1
    with seeded.sessions() as s:
        skipped = dict(s.execute(select(Message.phone, Message.failure_reason).where(Message.status == "skipped")).all())
    assert skipped == {stopped_retry: "OptedOut", stopped_unknown: "OptedOut"}


def test_an_unknown_outcome_is_resent_once_then_failed_whatever_the_attempt_says(seeded, settings):
    """AT accepts but every answer is lost and no delivery report comes: the message is sent
    at most twice (the send, one resend), then it is failed as OutcomeUnknown for an operator."""
    phone = "+27821110021"
    with FakeAT() as fake:
        fake.set_policy(lambda _n: "drop")
        with running_workers(settings, 3, env=at_env(fake, SMS_RECONCILE_SECONDS="1"),
                             args=("--sweep-every", "0.3")):
            outbox.queue_sms(seeded, phone, "Your nearest centre is Maponya Mall", key="lost-answers")
            wait_until(lambda: statuses(seeded).get("failed"), timeout=40)
            wait_quiet(seeded)
    assert fake.sent_to(phone) == 2
    with seeded.sessions() as s:
        row = s.scalar(select(Message).where(Message.phone == phone))
    assert (row.status, row.failure_reason, row.resends) == ("failed", "OutcomeUnknown", 1)
