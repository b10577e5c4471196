"""Question references: ``Q`` then digits 2–9 only (no 0/O or 1/I to misread on a small
screen or over the phone), 4 digits to start, longer when the space fills.

Contract: :func:`insert_with_reference` writes a new row under a fresh random reference and
returns it; uniqueness is the database's (``uq_questions_ref``): a collision rolls back that
one insert and draws again, and after :data:`TRIES` collisions at one length the next draw
is one digit longer (8⁴ = 4,096 four-digit references; a nearly full length costs a few draws,
never a lock or a count of what exists). :func:`read` finds a reference at the start of a
citizen's SMS (``Q2345``, ``q 2345``, ``Q2345:``), or None.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

DIGITS = "23456789"
FIRST_LENGTH, LAST_LENGTH = 4, 10
TRIES = 6  # draws at one length before growing it
_LEADING = re.compile(r"^\s*[Qq]\s?([2-9]{4,10})(?![0-9A-Za-z])")
_WHOLE = re.compile(r"^Q[2-9]{4,10}$")


class ReferenceError(RuntimeError):
    """No free reference up to :data:`LAST_LENGTH` digits (never expected: 8¹⁰ of them)."""


def new_reference(length: int, rng: random.Random | None = None) -> str:
    """A random reference of ``length`` digits."""
    pick = (rng or _SYSTEM).choice
    return "Q" + "".join(pick(DIGITS) for _ in range(length))


def is_reference(text: str) -> bool:
    """True for a well-formed reference (``Q2345``), as staff type it on the command line."""
    return bool(_WHOLE.match(text or ""))


def read(text: str) -> str | None:
    """The reference a text starts with, normalised (``"q 2345 thanks"`` → ``"Q2345"``)."""
    m = _LEADING.match(text or "")
    return f"Q{m.group(1)}" if m else None


def insert_with_reference(session: Session, make: Callable[[str], object],
                          rng: random.Random | None = None) -> object:
    """Add ``make(reference)`` (a model row with a ``ref``) under a fresh reference, in a
    savepoint per draw so a collision undoes only that draw; returns the row, flushed."""
    for length in range(FIRST_LENGTH, LAST_LENGTH + 1):
        for _ in range(TRIES):
            row = make(new_reference(length, rng))
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                continue  # taken: the savepoint is rolled back, the row expunged
            return row
    raise ReferenceError("no free question reference")


_SYSTEM = random.SystemRandom()
