"""Per-channel send rate in Redis: token buckets shared by every worker process, weighted by
SMS segments (a 3-part message costs 3). One Lua call per take, so it is atomic.

Two buckets per channel. The account's bucket (``ratelimit:<channel>``) refills at the whole
rate and every send is charged to it: bulk waits on it alone, so with no reply about, a
broadcast has the whole rate. Replies also have a reserved bucket (``…:replies``) refilling at
``reply_share`` of the rate: a reply goes as soon as either bucket covers it — the account's
when it is not in a broadcast's debt, else its reserved share. What a reply takes from its
share is still charged to the account's bucket, so the broadcast's next batch waits for it:
over time the channel sends at most its rate, and a storm of replies gets at least its share
of it however deep a broadcast has booked the account's bucket ahead."""

from __future__ import annotations

import time

_TAKE = """
local key, rate, burst, want, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local share_rate, share_burst = tonumber(ARGV[5]), tonumber(ARGV[6])
local function refill(k, r, b)
  local state = redis.call('HMGET', k, 'tokens', 'at')
  local tokens = tonumber(state[1]) or b
  local at = tonumber(state[2]) or now
  return math.min(b, tokens + (now - at) * r)
end
local function store(k, tokens)
  redis.call('HSET', k, 'tokens', tokens, 'at', now)
  redis.call('EXPIRE', k, 3600)
end
local tokens = refill(key, rate, burst)
local wait = math.max(0, want - tokens) / rate
if share_rate > 0 then
  local rkey = key .. ':replies'
  local reserved = refill(rkey, share_rate, share_burst)
  local own = math.max(0, want - reserved) / share_rate
  if own < wait then
    wait = own
    reserved = reserved - want
  end
  store(rkey, reserved)
end
store(key, tokens - want)
return tostring(wait)
"""


class RateLimiter:
    """``acquire(cost)`` blocks until ``cost`` segments may be sent on ``channel``;
    ``acquire(cost, reply=True)`` may also use the replies' reserved share (``reply_share``
    of ``per_second``, 0 for none)."""

    def __init__(self, redis_client, channel: str, per_second: float, burst: float | None = None,
                 reply_share: float = 0.0):
        self._r = redis_client
        self._key = f"ratelimit:{channel}"
        self._rate = per_second
        self._burst = burst if burst is not None else max(per_second, 1.0)
        self._share_rate = per_second * reply_share
        self._share_burst = max(self._share_rate, 1.0)
        self._script = redis_client.register_script(_TAKE)

    def acquire(self, cost: float = 1.0, reply: bool = False) -> float:
        """Reserve ``cost`` tokens; sleep as long as the bucket says; return the wait."""
        now = time.time()
        share = self._share_rate if reply else 0.0
        wait = float(self._script(keys=[self._key], args=[self._rate, self._burst, cost, now,
                                                         share, self._share_burst]))
        if wait > 0:
            time.sleep(wait)
        return wait
