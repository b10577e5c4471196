"""Broadcast jobs: a JSON-safe shim over ``gateway.staff.broadcasts``."""

from __future__ import annotations

from gateway.staff import broadcasts
from workers.context import runtime


def fan_out(broadcast_id: int) -> int:
    return broadcasts.fan_out(runtime(), int(broadcast_id))
