"""Usage analytics jobs: a thin shim over ``gateway.usage.housekeeping``."""

from __future__ import annotations

from gateway.usage import housekeeping
from workers.context import runtime


def housekeep() -> dict:
    return housekeeping.housekeep(runtime())
