"""Inbound SMS jobs: JSON-safe shims over ``gateway.sms.inbound``, answering each SMS the
way ``gateway.staff.status_sms`` does (staff status reports first, then the dialogue's answer:
its conversations, then the keywords)."""

from __future__ import annotations

from gateway.sms import inbound
from gateway.staff import status_sms
from workers.context import runtime


def handle(message_id: int) -> str:
    return inbound.process(runtime(), int(message_id), status_sms.answer)


def drain() -> int:
    return inbound.drain(runtime(), answer=status_sms.answer)
