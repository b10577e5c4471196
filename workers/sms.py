"""SMS jobs: thin JSON-safe shims over ``gateway.outbox`` (plain values in, runtime explicit)."""

from __future__ import annotations

from gateway import outbox
from workers.context import runtime


def send_pending(queue: str) -> int:
    return outbox.send_pending(runtime(), queue)


def sweep() -> dict:
    return outbox.sweep(runtime())
