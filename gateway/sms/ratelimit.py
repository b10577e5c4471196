"""Per-channel send rate in Redis: a token bucket shared by every worker process, weighted by
SMS segments (a 3-part message costs 3). One Lua call per take, so it is atomic."""

from __future__ import annotations

import time

_TAKE = """
local key, rate, burst, want, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= want then
  tokens = tokens - want
else
  wait = (want - tokens) / rate
  tokens = tokens - want
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('EXPIRE', key, 3600)
return tostring(wait)
"""


class RateLimiter:
    """``acquire(cost)`` blocks until ``cost`` segments may be sent on ``channel``."""

    def __init__(self, redis_client, channel: str, per_second: float, burst: float | None = None):
        self._r = redis_client
        self._key = f"ratelimit:{channel}"
        self._rate = per_second
        self._burst = burst if burst is not None else max(per_second, 1.0)
        self._script = redis_client.register_script(_TAKE)

    def acquire(self, cost: float = 1.0) -> float:
        """Reserve ``cost`` tokens; sleep as long as the bucket says; return the wait."""
        now = time.time()
        wait = float(self._script(keys=[self._key], args=[self._rate, self._burst, cost, now]))
        if wait > 0:
            time.sleep(wait)
        return wait
