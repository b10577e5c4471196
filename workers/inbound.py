"""Inbound SMS jobs: JSON-safe shims over ``gateway.sms.inbound``, answering each SMS the
way ``gateway.dialogue.inbound`` does (staff reports and threads first, then the keywords)."""

from __future__ import annotations

from gateway.dialogue import inbound as dialogue
from gateway.sms import inbound
from workers.context import runtime


def handle(message_id: int) -> str:
    return inbound.process(runtime(), int(message_id), dialogue.answer)


def drain() -> int:
    return inbound.drain(runtime(), answer=dialogue.answer)
