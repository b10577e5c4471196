"""Rendering within the USSD budget counts in the screen's own encoding: GSM-7 septets
(extension characters take two) or UCS-2 code units (70 a screen)."""

from __future__ import annotations

import pytest

from menus.render import render_page, shorten
from menus.segments import (
    USSD_SCREEN_BUDGET_UCS2,
    fits_ussd_screen,
    gsm_length,
    is_gsm7,
    ucs2_length,
)


@pytest.mark.parametrize("label, room, expected", [
    ("Kagiso Thusong", 20, "Kagiso Thusong"),
    ("Kagiso Thusong", 10, "Kagiso..."),
    ("€€€€€€", 8, "€€..."),  # GSM-7: each € is an escape pair, two septets
    ("Thušong Kagiso", 10, "Thušong..."),  # UCS-2: one unit a character
    ("🙂🙂🙂🙂", 5, "🙂..."),  # UCS-2: an emoji is a surrogate pair, two units
], ids=["fits", "cut", "gsm7-extension", "ucs2", "ucs2-surrogates"])
def test_shorten_counts_in_the_texts_encoding(label, room, expected):
    cut = shorten(label, room)
    assert cut == expected
    assert (gsm_length(cut) if is_gsm7(cut) else ucs2_length(cut)) <= room


def test_a_ucs2_screen_that_cannot_fit_is_cut_to_70_units_not_160():
    header = "Khetha š " * 12  # a UCS-2 title far over 70 on its own
    text = render_page(header, ["Gauteng", "Limpopo"], False, "98.More", ["0.Back 00.Home"])
    assert not is_gsm7(text) and fits_ussd_screen(text), (ucs2_length(text), USSD_SCREEN_BUDGET_UCS2)
