"""Folding what citizens type into comparable keys: case, accents and punctuation removed."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """``"  Mthatha/Umtata!"`` → ``"mthatha umtata"``; ``"Ga-Rankuwa"`` → ``"ga rankuwa"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped).strip()
