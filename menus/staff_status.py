"""A clerk's status report by SMS (pure): ``STATUS HA DOWN system offline``, or with the
centre's id first for a clerk with several centres: ``STATUS 12 HA DOWN``.

Contract: :func:`parse_report` returns a :class:`Report` only when the text's keyword is
``STATUS`` (any of its words in ``keywords.yaml``) and its next word is an office code, or a
centre id then an office code; anything else is None, and the text is a citizen's like any
other (``STATUS Soweto`` asks; a Venda place such as ``Ha-Mashamba`` is no office code: the
code must be the whole word). A report whose state or reason is not understood still is a
report (the sender meant one): ``problem`` names the part ("state", "reason") and ``unread``
the words, so the reply can say what to send. Whether the sender may report is the caller's
business: this module never sees the phone number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from menus.keywords import parse
from menus.text import fold

STATES = ("up", "slow", "down")


@dataclass(frozen=True)
class Report:
    office: str  # the office code, upper case
    centre_id: int | None  # None: the sender's one centre
    state: str | None  # one of STATES; None when ``problem`` is "state"
    reason: str | None  # a reason code; None without one (or when ``problem`` is "reason")
    problem: str | None = None  # None, "state" or "reason"
    unread: str = ""  # the words not understood


def reason_words(reasons: Mapping[str, str]) -> dict[str, str]:
    """Folded words → reason code: each code ("offline"; "no_forms" also as "no forms") and
    its English words ("system offline", "long queue")."""
    return {fold(text).replace("_", " "): code for code, english in reasons.items()
            for text in (code, code.replace("_", " "), english)}


def parse_report(text: str, offices: Iterable[str], reasons: Mapping[str, str]) -> Report | None:
    """``text`` as a staff status report, or None when it is no report (see the module)."""
    command = parse(text)
    if command.action != "status":
        return None
    codes = {code.upper() for code in offices}
    words = command.argument.split()
    centre_id = None
    if len(words) >= 2 and words[0].isdigit() and words[1].upper() in codes:
        centre_id, words = int(words[0]), words[1:]
    if not words or words[0].upper() not in codes:
        return None
    office, rest = words[0].upper(), words[1:]
    if not rest or rest[0].lower() not in STATES:
        return Report(office, centre_id, None, None, "state", " ".join(rest[:1]))
    state, said = rest[0].lower(), fold(" ".join(rest[1:])).replace("_", " ")
    if not said:
        return Report(office, centre_id, state, None)
    reason = reason_words(reasons).get(said)
    if reason is None:
        return Report(office, centre_id, state, None, "reason", " ".join(rest[1:]))
    return Report(office, centre_id, state, reason)
