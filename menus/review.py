"""Which strings a native speaker has reviewed, string by string, kept beside the catalogues.

Contract: one file per language, ``catalogues/review/<lang>.yaml``, maps a key to who reviewed
it, on which day, and a hash of the wording they saw (:func:`text_hash`). A string is
``reviewed`` while its wording still has that hash, ``draft`` otherwise (new, or changed since),
``missing`` when the language lacks it (the phone shows English). English is the source:
reviewed by definition. The files are separate from the catalogues so that someone adding
strings to a catalogue and a reviewer marking them never edit the same file;
:func:`dump_reviews` writes one line per key, sorted, so a review shows as a one-line diff.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from menus.catalogue import FALLBACK, read_yaml

STATES = ("reviewed", "draft", "missing")
HEADER = ("# Strings of this language a native speaker has reviewed: key -> who, on which day,\n"
          "# and a hash of the wording they reviewed (a string whose wording changed since is a\n"
          "# draft again). Written by `thusong translations import --reviewer` and the review page.\n")


@dataclass(frozen=True)
class Mark:
    """One string's review: by whom, on which day (ISO date), of which wording."""

    by: str
    on: str
    text_hash: str


def text_hash(text: str) -> str:
    """A short, stable fingerprint of a wording (12 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def review_path(catalogues: Path, lang: str) -> Path:
    return catalogues / "review" / f"{lang}.yaml"


def load_reviews(catalogues: Path, lang: str) -> dict[str, Mark]:
    """The marks of ``lang`` (none when its file does not exist yet)."""
    path = review_path(catalogues, lang)
    if not path.exists():
        return {}
    data = read_yaml(path) or {}
    return {str(k): Mark(str(v["by"]), str(v["on"]), str(v["text_hash"])) for k, v in data.items()}


def dump_reviews(marks: dict[str, Mark]) -> str:
    """The review file's text: the header, then one flow mapping a line, keys sorted."""
    lines = [f"{key}: {{by: {json.dumps(m.by, ensure_ascii=False)}, on: {json.dumps(m.on)}, "
             f"text_hash: {json.dumps(m.text_hash)}}}" for key, m in sorted(marks.items())]
    return HEADER + ("\n".join(lines) + "\n" if lines else "{}\n")


def state_of(lang: str, text: str | None, mark: Mark | None) -> str:
    """``reviewed``, ``draft`` or ``missing`` for one string of ``lang`` (``text`` None: absent)."""
    if text is None:
        return "missing"
    if lang == FALLBACK or (mark is not None and mark.text_hash == text_hash(text)):
        return "reviewed"
    return "draft"
