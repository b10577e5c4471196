"""How the sender finds the next batch: it reads on from its previous batch's last id, never
past the rows already sent, however many the table holds. Reading past every sent row in id
order made each batch of a broadcast slower than the last (a peek read 25,000 rows at 25,000
sent) and every batch of a long-running service slower with each message it had ever sent."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from gateway import jobs
from gateway.sms import sending
from gateway.store.models import Citizen, Message, utcnow
from tests.fake_at import FakeAT, at_runtime
from tests.plans import plan, statements

SENT, QUEUED = 3000, 3000


def _fill(rt) -> None:
    now = utcnow()
    rows = [{"direction": "out", "idempotency_key": f"plan:{i}", "phone": f"+2776{i:07d}", "text": "Clinic day",
             "queue": jobs.QUEUE_BULK, "status": "sent" if i < SENT else "queued", "created_at": now,
             "updated_at": now} for i in range(SENT + QUEUED)]
    with rt.sessions.begin() as s:
        s.execute(insert(Message), rows)
        s.execute(text("ANALYZE"))


def _peek_statement(rt, after: int) -> tuple[str, object]:
    with statements(rt.engine) as seen:
        found = sending._peek(rt, jobs.QUEUE_BULK, 100, after)
    assert [i for i, _seg in found] == sorted(i for i, _seg in found) and len(found) == 100
    assert found[0][0] > after
    (statement, parameters), = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")]
    return statement, parameters


def test_the_next_batch_reads_on_from_the_previous_one_not_past_the_sent_rows(rt):
    """A broadcast half sent: the sender's next batch (it passes the last id of its previous
    one) reads the next queued rows, not the sent ones before them."""
    _fill(rt)
    with rt.sessions() as s:
        last_of_previous_batch = s.scalar(select(func.max(Message.id)).where(Message.status == "sent"))
    explained = plan(rt.engine, *_peek_statement(rt, last_of_previous_batch), analyze=True)
    print(explained)
    if rt.engine.dialect.name == "postgresql":
        # a primary-key range from the previous batch's last id: no sent row read and dropped, no sort
        assert "Rows Removed by Filter" not in explained and "Sort" not in explained and "Seq Scan" not in explained
    else:
        # an index search whose entries come in rowid (= id) order: no table scan, no sort
        assert ("SEARCH messages USING" in explained and "SCAN messages" not in explained
                and "TEMP B-TREE" not in explained)


def test_a_drain_starts_each_peek_after_the_previous_batch_and_looks_back_once_at_the_end(rt, monkeypatch):
    _fill(rt)
    peeks: list[int] = []
    real = sending._peek

    def spy(rt_, queue, limit, after=0, notices_only=False):
        peeks.append(after)
        return real(rt_, queue, limit, *([after] if after else []), notices_only=notices_only)

    monkeypatch.setattr(sending, "_peek", spy)
    with FakeAT() as fake:
        assert sending.send_pending(at_runtime(rt, fake, SMS_RATE_PER_SECOND=1_000_000), jobs.QUEUE_BULK) == QUEUED
    counts = fake.accepted_counts()
    assert len(counts) == QUEUED and set(counts.values()) == {1}
    with rt.sessions() as s:
        first = s.scalar(select(Message.id).where(Message.idempotency_key == f"plan:{SENT}"))
    # from the start; after each full claim (one batch of 100 until AT accepted one, then
    # sending.BULK_IN_FLIGHT batches), from its last id; at the end, once more from the start
    # (rows put back behind it), and send_pending's own last look
    ends, end = [], first + 100 - 1
    while end < first + QUEUED:
        ends.append(end)
        end += 100 * sending.BULK_IN_FLIGHT
    assert peeks == [0] + ends + [0, 0]


def test_the_opt_out_look_before_sending_probes_each_number_not_every_citizen(rt):
    """The last look before AT (a bulk row to a number that opted out is skipped) reads the
    batch's own numbers in the citizens table, not all of it for every batch."""
    _fill(rt)
    now = utcnow()
    with rt.sessions.begin() as s:
        s.execute(insert(Citizen), [{"phone": f"+2776{i:07d}", "opted_out": i % 7 == 0, "created_at": now}
                                    for i in range(SENT + QUEUED)])
        s.execute(text("ANALYZE"))
        ids = list(s.scalars(select(Message.id).where(Message.status == "queued").order_by(Message.id).limit(100)))
    with statements(rt.engine, lambda statement: "citizens" in statement) as seen:
        claimed = sending._claim(rt, ids, bulk=True)
    assert len(claimed) == 100 - sum(1 for i in range(SENT, SENT + 100) if i % 7 == 0)
    assert seen
    if rt.engine.dialect.name == "postgresql":
        return  # PostgreSQL plans by cost: on a table this small a scan is cheaper (bench/broadcast.py: index at 100,000)
    for statement, parameters in seen:
        explained = plan(rt.engine, statement, parameters)
        print(explained)
        assert "SCAN citizens" not in explained
