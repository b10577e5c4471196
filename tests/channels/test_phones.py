"""``gateway.phones.to_e164``: what the edge accepts as a phone number, as labelled rows."""

from __future__ import annotations

import pytest

from gateway.phones import InvalidPhone, to_e164

ACCEPTED = [
    ("e164", "+27821234567", "+27821234567"),
    ("local", "0821234567", "+27821234567"),
    ("local-spaced", "082 123 4567", "+27821234567"),
    ("plus-spaced", "+27 82 123 4567", "+27821234567"),
    ("no-plus", "27821234567", "+27821234567"),
    ("dashes", "082-123-4567", "+27821234567"),
    ("brackets", "(082) 123 4567", "+27821234567"),
    ("padded", "  0821234567  ", "+27821234567"),
    ("kenya", "+254711123456", "+254711123456"),
]


@pytest.mark.parametrize("raw, expected", [(raw, e) for _label, raw, e in ACCEPTED],
                         ids=[label for label, _raw, _e in ACCEPTED])
def test_accepted_forms_become_e164(raw, expected):
    assert to_e164(raw) == expected


REFUSED = [
    # phonenumbers reads letters as keypad digits (X → 9): a number with letters is no number.
    ("keypad-letters", "+254711XXXYYY"),
    ("vanity", "0800-FLOWERS"),
    ("letters-only", "not-a-number"),
    ("one-letter", "082123456a"),
    ("dots", "082.123.4567"),
    ("slash", "082/123/4567"),
    ("star-hash", "*134*1234#"),
    ("nul", "0821234567\x00"),
    ("tab-inside", "082\t1234567"),
    ("emoji", "0821234567😀"),
    ("arabic-digits", "٠٨٢١٢٣٤٥٦٧"),
    ("extension", "0821234567 ext. 12"),
    ("empty", ""),
    ("blank", "   "),
    ("too-short", "0821"),
    ("overlong", "0" * 80),
]


@pytest.mark.parametrize("raw", [raw for _label, raw in REFUSED], ids=[label for label, _raw in REFUSED])
def test_anything_but_digits_spaces_plus_dash_brackets_is_refused(raw):
    with pytest.raises(InvalidPhone) as err:
        to_e164(raw)
    assert raw.strip() == "" or raw.strip() not in str(err.value)  # never echoes the number
