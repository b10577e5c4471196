"""GSM-7 / UCS-2 segment counting (menus.segments): boundaries, extension characters, the
letters South African languages need, emoji, and the USSD screen budget."""

from __future__ import annotations

import pytest

from menus.segments import encoding_of, fits_ussd_screen, gsm_length, is_gsm7, measure, segments

EXTENSION = list("€^{}[]~|\\")


@pytest.mark.parametrize(
    "text, encoding, units, parts",
    [
        ("", "GSM-7", 0, 1),  # an empty SMS still goes out as one part
        ("a", "GSM-7", 1, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("a" * 459, "GSM-7", 459, 3),
        ("a" * 460, "GSM-7", 460, 4),
        ("š" * 70, "UCS-2", 70, 1),
        ("š" * 71, "UCS-2", 71, 2),
        ("š" * 134, "UCS-2", 134, 2),
        ("š" * 135, "UCS-2", 135, 3),
        ("a" * 159 + "€", "GSM-7", 161, 2),  # 159 septets + ESC € = 161
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 69 + "š", "UCS-2", 70, 1),  # one Sepedi letter turns the whole text UCS-2
        ("a" * 70 + "š", "UCS-2", 71, 2),
        ("a" * 68 + "😀", "UCS-2", 70, 1),  # an emoji is a surrogate pair: 2 units
        ("a" * 69 + "😀", "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
        # A pair is never split between parts: the part that cannot hold it closes one short.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("a" * 153 + "€" + "a" * 151, "GSM-7", 306, 2),
        ("š" * 66 + "😀" + "š" * 66, "UCS-2", 134, 3),
        ("š" * 67 + "😀" + "š" * 65, "UCS-2", 134, 2),
    ],
    ids=lambda v: repr(v)[:24] if isinstance(v, str) else str(v),
)
def test_measure_table(text, encoding, units, parts):
    size = measure(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, parts)
    assert segments(text) == parts
    assert encoding_of(text) == encoding


@pytest.mark.parametrize("ch", EXTENSION)
def test_each_extension_character_counts_two(ch):
    assert is_gsm7(ch) and gsm_length(ch) == 2
    assert measure("a" * 159 + ch) == measure("a" * 159 + "€")
    assert segments("a" * 159 + ch) == 2
    assert segments("a" * 158 + ch) == 1


@pytest.mark.parametrize(
    "text",
    ["é", "ñ", "Ä", "Ö", "Ü", "ä", "ö", "ü", "à", "è", "ù", "ì", "ò", "Ç", "Å", "Æ", "ß", "É", "Ø", "£", "¥",
     "§", "¤", "¡", "¿", "Δ", "Ω", "@", "\n", "\r", "Mamelodi Thusong, Phone 012 801 0000."],
)
def test_gsm_basic_letters_stay_gsm7_and_count_one(text):
    size = measure(text)
    assert size.encoding == "GSM-7" and size.units == len(text)


@pytest.mark.parametrize(
    "text, why",
    [
        ("š", "Sepedi/Setswana š"),
        ("Š", "capital Š"),
        ("ḓ", "Tshivenda ḓ"),
        ("ṋ", "Tshivenda ṋ"),
        ("ṱ", "Tshivenda ṱ"),
        ("ḽ", "Tshivenda ḽ"),
        ("ṅ", "Tshivenda ṅ"),
        ("ê", "Afrikaans ê is not in the GSM-7 basic set"),
        ("ë", "Afrikaans ë"),
        ("ô", "Afrikaans ô"),
        ("á", "a-acute"),
        ("ç", "lower-case c-cedilla: only Ç is GSM-7"),
        ("’", "a typographic apostrophe"),
        ("“", "a typographic quote"),
        ("\u00a0", "a no-break space"),
        ("😀", "emoji"),
        ("\x1b", "a bare ESC is not text"),
    ],
)
def test_characters_outside_gsm7_force_ucs2(text, why):
    assert not is_gsm7(text), why
    assert measure("Thusong " + text).encoding == "UCS-2"


@pytest.mark.parametrize(
    "text, fits",
    [
        ("a" * 160, True),
        ("a" * 161, False),
        ("a" * 158 + "€", True),
        ("a" * 159 + "€", False),  # 161 septets
        ("€" * 80, True),
        ("š" * 70, True),
        ("š" * 71, False),
        ("a" * 69 + "š", True),
        ("a" * 70 + "š", False),  # 71 characters: a GSM-looking screen of 71 is too long once š is in
        ("a" * 68 + "😀", True),
        ("a" * 69 + "😀", False),
        ("", True),
    ],
    ids=lambda v: repr(v)[:24] if isinstance(v, str) else str(v),
)
def test_fits_ussd_screen(text, fits):
    assert fits_ussd_screen(text) is fits
