"""SMS jobs: thin JSON-safe shims over ``gateway.sms.outbox`` and ``gateway.sms.sweeper`` (plain values
in, runtime explicit)."""

from __future__ import annotations

from gateway.sms import sending, sweeper
from workers.context import runtime


def send_pending(queue: str, release: bool = False) -> int:
    return sending.send_pending(runtime(), queue, release=bool(release))


def sweep() -> dict:
    return sweeper.sweep(runtime())
