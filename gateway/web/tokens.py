"""Shared secrets presented by callers (AT's webhook ``?token=``, the metrics bearer token)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


def token_matches(given: str, accepted: Iterable[str]) -> bool:
    """True if ``given`` equals one of ``accepted`` (several during a rotation). Every entry is
    compared in constant time, and all of them, so timing tells nothing of which or how close."""
    given_bytes = given.encode()
    found = False
    for token in accepted:
        found |= hmac.compare_digest(given_bytes, token.encode())
    return bool(given) and found
