"""Inbound SMS jobs: JSON-safe shims over ``gateway.sms.inbound``. The keyword replies read
offices' status through ``gateway.dialogue`` (a layer above them), installed here."""

from __future__ import annotations

from gateway.dialogue import office_news
from gateway.sms import inbound
from workers.context import runtime

office_news.install()


def handle(message_id: int) -> str:
    return inbound.process(runtime(), int(message_id))


def drain() -> int:
    return inbound.drain(runtime())
