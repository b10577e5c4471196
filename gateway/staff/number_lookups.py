"""A number a staff member typed, held briefly so that the pages showing its message log can
be paged without the number in a URL or a page.

Contract: :func:`hold` stores the number (E.164) under a random look-up id for
:data:`LOOKUP_SECONDS`, bound to the account that typed it, and returns the id;
:func:`held` gives the number back to that account only (None: expired, unknown, or another
account's). The keys (:data:`LOOKUP_KEY` + id) hold a number, so they are one of the privacy
registry's holders (:mod:`gateway.staff.holders`): a deletion request removes them too.
"""

from __future__ import annotations

import json
import secrets

from gateway.runtime import Runtime

LOOKUP_SECONDS = 15 * 60
LOOKUP_KEY = "staff:msglog:"
MAX_ID_CHARS = 64


def hold(rt: Runtime, staff_id: int, phone: str) -> str:
    lookup = secrets.token_urlsafe(16)
    rt.redis.set(LOOKUP_KEY + lookup, json.dumps({"phone": phone, "by": staff_id}), ex=LOOKUP_SECONDS)
    return lookup


def held(rt: Runtime, staff_id: int, lookup: str) -> str | None:
    if len(lookup) > MAX_ID_CHARS:
        return None
    raw = rt.redis.get(LOOKUP_KEY + lookup)
    try:
        found = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(found, dict) or found.get("by") != staff_id or not isinstance(found.get("phone"), str):
        return None
    return found["phone"]
