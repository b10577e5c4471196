"""Inbound SMS jobs: JSON-safe shims over ``gateway.sms.inbound``."""

from __future__ import annotations

from gateway.sms import inbound
from workers.context import runtime


def handle(message_id: int) -> str:
    return inbound.process(runtime(), int(message_id))


def drain() -> int:
    return inbound.drain(runtime())
