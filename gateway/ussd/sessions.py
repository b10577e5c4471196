"""USSD session state in Redis.

Two keys, both small JSON:
- ``ussd:s:<sessionId>`` — the engine state plus the last ``text`` and reply, so a retried hop
  (same session, same ``text``) gets the same screen without applying the input twice, and the
  caller's number (so a privacy request finds the live sessions of a number).
  Lives ``SESSION_TTL`` seconds (AT ends sessions after ~2 min).
- ``ussd:p:<phone>`` — what we keep per number between sessions: the chosen language and the
  last unfinished journey point with its time, for "continue where you left off" within
  ``RESUME_WINDOW`` seconds. Lives ``PROFILE_TTL``.

Saving a hop also appends its usage entry to the analytics stream (``gateway.usage.events``)
in the same pipeline: recording costs the hop no round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import redis

from gateway.usage.events import STREAM, STREAM_CAP

SESSION_TTL = 300
PROFILE_TTL = 90 * 24 * 3600
RESUME_WINDOW = 600
SESSION_KEY = "ussd:s:"  # + sessionId
PROFILE_KEY = "ussd:p:"  # + E.164 number


@dataclass
class StoredHop:
    state: dict
    text: str
    reply: str
    end: bool


class SessionStore:
    def __init__(self, client: redis.Redis):
        self._r = client

    def load(self, session_id: str) -> StoredHop | None:
        return _hop(self._r.get(SESSION_KEY + session_id))

    def load_with_profile(self, session_id: str, phone: str) -> tuple[StoredHop | None, dict]:
        """The session and the caller's profile in one round trip (a hop has ~10 s, we want ms)."""
        raw_hop, raw_profile = self._r.mget(SESSION_KEY + session_id, PROFILE_KEY + phone)
        return _hop(raw_hop), (orjson.loads(raw_profile) if raw_profile else {})

    def save_with_profile(self, session_id: str, hop: StoredHop, phone: str, profile: dict,
                          usage: dict[str, bytes] | None = None) -> None:
        """Both keys, and the hop's usage entry when given, in one round trip (no MULTI: each
        stands alone, and a hop is short). The stream is capped approximately (cheap)."""
        pipe = self._r.pipeline(transaction=False)
        pipe.set(SESSION_KEY + session_id, _hop_json(hop, phone), ex=SESSION_TTL)
        pipe.set(PROFILE_KEY + phone, orjson.dumps(profile), ex=PROFILE_TTL)
        if usage is not None:
            pipe.xadd(STREAM, usage, maxlen=STREAM_CAP, approximate=True)
        pipe.execute()

    def drop(self, session_id: str) -> None:
        self._r.delete(SESSION_KEY + session_id)

    def profile(self, phone: str) -> dict:
        raw = self._r.get(PROFILE_KEY + phone)
        return orjson.loads(raw) if raw else {}

    def save_profile(self, phone: str, profile: dict) -> None:
        self._r.set(PROFILE_KEY + phone, orjson.dumps(profile), ex=PROFILE_TTL)


def _hop(raw) -> StoredHop | None:
    if not raw:
        return None
    data = orjson.loads(raw)
    return StoredHop(data["state"], data["text"], data["reply"], data["end"])


def _hop_json(hop: StoredHop, phone: str) -> bytes:
    return orjson.dumps({"state": hop.state, "text": hop.text, "reply": hop.reply, "end": hop.end,
                         "caller": phone})
