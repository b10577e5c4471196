"""A broadcast's exact text sent to its author's own phone first, to read it as citizens will.

Contract: :func:`send_to_self` queues one SMS to the phone on the member's account with the
full text (:func:`~gateway.staff.preview.full_text`: prefix, message, opt-out line in the
message's language) through the ordinary outbox, on the replies queue (a person is waiting
for it, and it is not bulk: quiet hours and opt-outs are citizens' rules). No broadcast row
is written and the outbox row has no broadcast: it is no broadcast's send, progress or cost.
An account may send :data:`PER_HOUR` in any hour (:class:`TooMany` says when the next may go);
one with no phone is :class:`NoPhone`. The count lives in Redis (a sorted set per account):
with Redis down the outbox cannot be kicked either, and the error reaches the page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway import jobs
from gateway.runtime import Runtime
from gateway.sms.outbox import queue_sms
from gateway.staff.accounts import Member
from gateway.staff.broadcasts import BroadcastError
from gateway.staff.preview import full_text
from gateway.staff.targets import check_language

PER_HOUR = 5
WINDOW = timedelta(hours=1)
KEY_PREFIX = "staff-test"  # the outbox rows' keys: staff-test:<staff id>:<random>


class NoPhone(BroadcastError):
    """The account has no phone to send the test to."""


class TooMany(BroadcastError):
    """The account sent :data:`PER_HOUR` tests in the last hour."""


@dataclass(frozen=True)
class Sent:
    message_id: int
    text: str
    left_this_hour: int


def _counter(member: Member) -> str:
    return f"staff:test-sms:{member.id}"


def _spend(rt: Runtime, member: Member, now: datetime) -> int:
    """Count this test in the account's hour; how many are left, or :class:`TooMany`.
    Add-then-count in one transaction: two clicks at once cannot both take the last one."""
    key, stamp = _counter(member), now.timestamp()
    entry = f"{stamp:.6f}:{secrets.token_hex(4)}"
    with rt.redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(key, "-inf", stamp - WINDOW.total_seconds())
        pipe.zadd(key, {entry: stamp})
        pipe.zcard(key)
        pipe.expire(key, int(WINDOW.total_seconds()) + 60)
        _removed, _added, count, _ttl = pipe.execute()
    if count > PER_HOUR:
        rt.redis.zrem(key, entry)
        oldest = rt.redis.zrange(key, 0, 0, withscores=True)
        wait = WINDOW.total_seconds() - (stamp - oldest[0][1]) if oldest else WINDOW.total_seconds()
        minutes = max(1, int(-(-wait // 60)))
        raise TooMany(f"You have sent {PER_HOUR} test messages in the last hour: "
                      f"try again in {minutes} minute{'s' if minutes != 1 else ''}.")
    return PER_HOUR - count


def send_to_self(rt: Runtime, member: Member, text: str, language: str | None) -> Sent:
    """Queue the full text of a broadcast of ``text`` to ``member``'s own phone."""
    if not member.phone:
        raise NoPhone("Your account has no mobile number: add one on My account to get test messages.")
    if not text.strip():
        raise BroadcastError("Write the message first.")
    body = full_text(rt.settings, text, check_language(language or None))
    left = _spend(rt, member, rt.clock.now())
    key = f"{KEY_PREFIX}:{member.id}:{secrets.token_hex(8)}"
    message_id = queue_sms(rt, member.phone, body, key, queue=jobs.QUEUE_REPLIES)
    return Sent(message_id, body, left)
