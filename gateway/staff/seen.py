"""What an approver saw: a digest of the exact texts, targets and times a decision is about.

The approve and reject forms carry it; the domain recomputes it from what would be approved
now and refuses a decision whose digest differs (:data:`CHANGED`), so an edit that lands
between the approver's reading and their click is never released (nor rejected) unseen.
Contract: :func:`digest` of equal parts is equal; :func:`same` compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json

CHANGED = "this changed since you opened it: nothing was sent or changed. Read it again, then decide"
DIGEST_CHARS = 32  # 128 bits of SHA-256: no edit collides with what was seen by chance


def digest(*parts: object) -> str:
    """A short hex digest of ``parts`` (``None`` and ``""`` differ; dates by ``str``)."""
    blob = json.dumps([None if p is None else str(p) for p in parts], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:DIGEST_CHARS]


def same(seen: str | None, expected: str) -> bool:
    return hmac.compare_digest((seen or "").encode(), expected.encode())
