"""An injectable clock: the runtime owns one, tests replace it to move time (quiet hours, TTLs)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SAST = ZoneInfo("Africa/Johannesburg")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def local(self) -> datetime:
        return self.now().astimezone(SAST)

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime):
        self._at = at
        self._mono = 0.0

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._at += timedelta(seconds=seconds)
        self._mono += seconds
