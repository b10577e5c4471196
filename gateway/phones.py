"""Phone numbers at the edge: everything inside the product is E.164 (``+27821234567``)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers


class InvalidPhone(ValueError):
    """Not a valid phone number (the message says why, without echoing the number)."""


# What a dialled or printed number may hold. phonenumbers reads letters as keypad digits
# (``+254711XXXYYY`` → ``+254711999999``) and accepts other scripts' digits: refuse first.
_PHONE_CHARACTERS = re.compile(r"[0-9 +()\-]+")


# Parsing is ~0.1 ms and every USSD hop of a session repeats the same number: remember a few
# thousand (in this process's memory only; nothing is written anywhere).
@lru_cache(maxsize=4096)
def to_e164(raw: str, region: str = "ZA") -> str:
    """``"082 123 4567"``, ``"27821234567"``, ``"+27 82 123 4567"`` → ``"+27821234567"``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("empty phone number")
    if not _PHONE_CHARACTERS.fullmatch(text):
        raise InvalidPhone("only digits, spaces, '+', '-', '(' and ')' may appear in a phone number")
    if text.isdigit() and text.startswith("27") and len(text) == 11:
        text = "+" + text  # AT and operators sometimes drop the plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
