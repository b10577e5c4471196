"""GSM-7 / UCS-2 aware SMS and USSD length counting (3GPP TS 23.038).

Contract: :func:`encoding_of` says whether a text fits the GSM-7 default alphabet (with its
extension table) or needs UCS-2; :func:`gsm_length` counts septets (extension characters count
2); :func:`segments` gives the number of SMS parts (160/153 GSM-7, 70/67 UCS-2 code units;
an escape or surrogate pair is never split between parts).
Nothing here transliterates: a text that is not GSM-7 is counted as UCS-2, deliberately.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXT = frozenset(GSM7_EXTENSION)
_GSM7 = _BASIC | _EXT  # issuperset(text) walks the text in C: every screen of every hop asks

USSD_SCREEN_BUDGET = 160  # GSM-7 characters per USSD screen (DESIGN.md §5)
USSD_SCREEN_BUDGET_UCS2 = 70


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def encoding_of(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def gsm_length(text: str) -> int:
    """Septets ``text`` takes in GSM-7 (extension characters count 2). Assumes GSM-7 text."""
    return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)


def ucs2_length(text: str) -> int:
    """UTF-16 code units (characters outside the BMP count 2)."""
    return len(text.encode("utf-16-le")) // 2


def measure(text: str) -> SmsLength:
    """Encoding, length in units and number of SMS segments for ``text``."""
    if is_gsm7(text):
        sizes, single, multi = [2 if ch in _EXT else 1 for ch in text], 160, 153
        enc = "GSM-7"
    else:
        sizes, single, multi = [2 if ord(ch) > 0xFFFF else 1 for ch in text], 70, 67
        enc = "UCS-2"
    units = sum(sizes)
    return SmsLength(enc, units, 1 if units <= single else _parts(sizes, multi))


def _parts(sizes: list[int], multi: int) -> int:
    """Parts of a concatenated SMS. An escape pair (GSM-7 ``ESC €``) or a surrogate pair (UCS-2
    emoji) is never split across two parts, as handsets and SMSCs pack them, so a part may carry
    one unit less than ``multi``."""
    parts, room = 1, multi
    for size in sizes:
        if size > room:
            parts, room = parts + 1, multi
        room -= size
    return parts


def segments(text: str) -> int:
    return measure(text).segments


def fits_ussd_screen(text: str) -> bool:
    """True if ``text`` fits one USSD screen: ≤160 GSM-7 characters, or ≤70 if it must be UCS-2."""
    if is_gsm7(text):
        return gsm_length(text) <= USSD_SCREEN_BUDGET
    return ucs2_length(text) <= USSD_SCREEN_BUDGET_UCS2
