"""A clerk's status report by SMS, read (pure): only a text whose second word is an office code,
or a centre id then an office code, is a report; every other text is a citizen's."""

from __future__ import annotations

import pytest

from gateway.dialogue.office_status import REASONS
from gateway.dialogue.offices import CODES
from menus.staff_status import Report, parse_report

ROWS = [
    # (label, text, expected: None = a citizen's text)
    ("bare report", "STATUS HA DOWN", Report("HA", None, "down", None)),
    ("acceptance example", "STATUS HA DOWN system offline", Report("HA", None, "down", "offline")),
    ("centre id, lower case, reason code", "status 12 ha down offline", Report("HA", 12, "down", "offline")),
    ("reason's English words", "Status SASSA slow long queue", Report("SASSA", None, "slow", "queue")),
    ("reason code with underscore", "STATUS POST down no_forms", Report("POST", None, "down", "no_forms")),
    ("reason code spelt out", "STATUS POST down no forms", Report("POST", None, "down", "no_forms")),
    ("up", "STATUS uif UP", Report("UIF", None, "up", None)),
    ("a Venda place is no office code", "STATUS Ha-Mashamba", None),
    ("a place asks", "STATUS Soweto", None),
    ("an unknown office is a place", "STATUS XYZ DOWN", None),
    ("a centre id alone is a place", "STATUS 12", None),
    ("a number then a place", "STATUS 12 Soweto", None),
    ("another keyword", "CENTRE HA", None),
    ("no keyword", "HA DOWN", None),
    ("state missing", "STATUS HA", Report("HA", None, None, None, "state", "")),
    ("state unknown", "STATUS 12 HA DWN", Report("HA", 12, None, None, "state", "DWN")),
    ("reason unknown", "STATUS HA DOWN the rain", Report("HA", None, "down", None, "reason", "the rain")),
]


@pytest.mark.parametrize(("text", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_report_table(text, expected):
    assert parse_report(text, CODES, REASONS) == expected


def test_every_reason_code_and_its_english_words_are_understood():
    for code, words in REASONS.items():
        assert parse_report(f"STATUS HA DOWN {code}", CODES, REASONS).reason == code
        assert parse_report(f"STATUS HA DOWN {words.upper()}", CODES, REASONS).reason == code
