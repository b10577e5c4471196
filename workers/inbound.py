"""Inbound SMS job: a JSON-safe shim over ``gateway.inbound.process``."""

from __future__ import annotations

from gateway import inbound
from workers.context import runtime


def handle(message_id: int) -> str:
    return inbound.process(runtime(), int(message_id))
