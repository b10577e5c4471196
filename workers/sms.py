"""SMS jobs: thin JSON-safe shims over ``gateway.outbox`` and ``gateway.sweeper`` (plain values
in, runtime explicit)."""

from __future__ import annotations

from gateway import outbox, sweeper
from workers.context import runtime


def send_pending(queue: str, release: bool = False) -> int:
    return outbox.send_pending(runtime(), queue, release=bool(release))


def sweep() -> dict:
    return sweeper.sweep(runtime())
