"""Put one number everywhere the product keeps data, through the real code paths (webhooks,
inbound answering, the journey, a broadcast sent through the SDK to the fake AT, delivery
reports), and look for it independently of the privacy code: every table's rows and every
Redis key and value, in each way a number is written."""

from __future__ import annotations

import hashlib
import hmac
import zlib

from sqlalchemy import inspect, select, text

from gateway import jobs
from gateway.dialogue import questions
from gateway.dialogue.inbound import answer as dialogue_answer
from gateway.sms import inbound, sending
from gateway.staff import audit, number_lookups
from gateway.staff import broadcasts as bc
from gateway.staff import questions as staff_questions
from gateway.store.models import Base, Citizen, Message, Subscription
from gateway.usage import events as usage_events
from tests.conftest import TOKEN
from tests.dialer import Dialer
from tests.fake_at import FakeAT, at_runtime

PHONE = "+27821234567"
FORMS = ("+27821234567", "27821234567", "0821234567", "082 123 4567", "%2B27821234567")
# Analytics keep HMAC-SHA256(key, number), cut to 32 hex digits, instead of the number: it is
# derived from the number too, so the independent search looks for it (computed here, with the
# test settings' key, not by the product's function).
HASHED = hmac.new(b"test-analytics-key", PHONE.encode(), hashlib.sha256).hexdigest()[:32]
DERIVED = (*FORMS, HASHED)
OTHER = "+27831112222"


def _sms(client, phone: str, at_id: str, words: str) -> None:
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={
        "from": phone, "to": "31234", "text": words, "date": "2026-11-22 10:00:00", "id": at_id,
        "linkId": "", "networkCode": "65501"})
    assert resp.status_code == 200


def seed_everywhere(rt, client, fake: FakeAT) -> int:
    """``PHONE`` (and ``OTHER``, who must be left alone) in every holder; returns the centre
    both subscribed to."""
    for phone, tag in ((PHONE, "a"), (OTHER, "b")):
        _sms(client, phone, f"ATXid_{tag}1", "CENTRE Soweto")
        _sms(client, phone, f"ATXid_{tag}2", "JOIN Kagiso")
        _sms(client, phone, f"ATXid_{tag}3", "flibbertigibbet")  # unknown: the help throttle key
        _sms(client, phone, f"ATXid_{tag}4", "ASK where do I renew my ID?")  # a question's thread
    assert inbound.drain(rt, answer=dialogue_answer) == 8
    mine = questions.open_refs(rt, PHONE)[0]
    staff_questions.reply(rt, audit.CLI, mine, "Bring your old ID and a photo.")  # an answer ...
    staff_questions.note(rt, audit.CLI, mine, "Called the citizen back.")  # ... and a note on it
    asked = Dialer(client, PHONE)  # "SMS me": the day's count of them, by number, in Redis
    asked.dial()
    asked.press("1", "Soweto", "1", "3")
    assert asked.ended
    dialer = Dialer(client, PHONE)
    dialer.dial()
    dialer.press("1", "Soweto")  # left open: the session and the resume point stay in Redis
    assert usage_events.drain(rt) > 0  # these hops and searches into SQL (hashed caller) ...
    ended = Dialer(client, PHONE)  # ... and this session's still waiting in the stream
    ended.dial()
    ended.press("1")
    resp = client.post(f"/webhooks/at/ussd/events?token={TOKEN}", data={
        "sessionId": ended.session_id, "serviceCode": "*134*1234#", "phoneNumber": PHONE,
        "networkCode": "65501", "status": "Incomplete", "hopsCount": "2", "input": "1", "durationInMillis": "900",
        "lastAppResponse": ended.raw, "errorMessage": "", "date": "2026-11-22 10:01:00", "cost": "0"})
    assert resp.status_code == 200
    with rt.sessions() as s:
        centre = s.scalar(select(Subscription.centre_id).join(Citizen).where(Citizen.phone == PHONE))
    row = bc.submit(rt, bc.CLI, bc.create(rt, bc.CLI, f"centre:{centre}", "Clinic day Friday.").id)
    bc.fan_out(rt, row.id)
    sender = at_runtime(rt, fake)
    sending.send_pending(sender, jobs.QUEUE_REPLIES)
    sending.send_pending(sender, jobs.QUEUE_BULK)
    with rt.sessions() as s:
        sent = s.scalar(select(Message.at_message_id).where(Message.phone == PHONE, Message.broadcast_id == row.id))
    assert sent
    for at_id, status in ((sent, "Success"), ("ATXid_never_recorded", "Failed")):  # the 2nd waits for matching
        resp = client.post(f"/webhooks/at/sms/delivery?token={TOKEN}", data={
            "id": at_id, "status": status, "phoneNumber": PHONE, "networkCode": "65501",
            "failureReason": "DeliveryFailure" if status == "Failed" else "", "retryCount": "0"})
        assert resp.status_code == 200
    number_lookups.hold(rt, 1, PHONE)  # a staff member reading its message log
    return centre


def _holds(value) -> bool:
    return value is not None and any(form in str(value) for form in DERIVED)


def table_rows(rt) -> dict[str, list[dict]]:
    """Every row of every table in the database (whatever the models say), by table."""
    with rt.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {name: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{name}"')).mappings()] for name in names}


def rows_about(rt) -> dict[str, set]:
    """Primary keys of rows holding the number in any form, and rows pointing at the citizen
    row (subscriptions) or at its questions (their threads' messages): ``{table: {id, …}}``."""
    found: dict[str, set] = {}
    rows = table_rows(rt)
    for name, items in rows.items():
        for item in items:
            if any(_holds(v) for v in item.values()):
                found.setdefault(name, set()).add(item.get("id"))
    owners = {name: set(found.get(name, set())) for name in ("citizens", "questions")}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name in owners:
                for item in rows.get(table.name, []):
                    if item[fk.parent.name] in owners[fk.column.table.name]:
                        found.setdefault(table.name, set()).add(item.get("id"))
    return found


def dump_text(rt) -> str:
    """The whole database as text: SQLite's own dump, or every row of every table."""
    if rt.engine.dialect.name == "sqlite":
        raw = rt.engine.raw_connection()
        try:
            return "\n".join(raw.driver_connection.iterdump())
        finally:
            raw.close()
    return "\n".join(f"{name} {row}" for name, items in table_rows(rt).items() for row in items)


def _redis_values(r, key: bytes) -> list[bytes]:
    kind = r.type(key)
    if kind == b"string":
        return [r.get(key) or b""]
    if kind == b"hash":
        values = []
        for field, value in r.hgetall(key).items():
            values += [field, value]
            try:
                values.append(zlib.decompress(value))  # RQ keeps job data compressed
            except zlib.error:
                pass
        return values
    if kind == b"list":
        return r.lrange(key, 0, -1)
    if kind == b"set":
        return list(r.smembers(key))
    if kind == b"zset":
        return list(r.zrange(key, 0, -1))
    if kind == b"stream":
        return [b" ".join(k + b"=" + v for k, v in fields.items()) for _id, fields in r.xrange(key)]
    return []


def redis_keys_about(r) -> set[str]:
    """Keys whose name or any value holds the number in any form (a SCAN of everything)."""
    found = set()
    for key in r.scan_iter(count=1000):
        texts = [key, *_redis_values(r, key)]
        if any(form.encode() in t for t in texts for form in DERIVED):
            found.add(key.decode())
    return found
