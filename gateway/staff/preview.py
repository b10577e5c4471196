"""What a broadcast will cost and look like, to the character, before anyone sends it.

Contract: :func:`full_text` is exactly what each recipient receives: ``BROADCAST_PREFIX``,
the author's text and the opt-out line in the message's language (``sms.optout_line`` in the
menus catalogues), separated by single spaces — all three counted. :func:`preview` measures it
(GSM-7 or UCS-2 with the first character that forces UCS-2, segments), counts the recipients
after opt-outs and estimates the cost: segments × recipients × ``SMS_COST_PER_SEGMENT`` rand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gateway.staff.targets import Target, count_recipients
from menus.keywords import reply_text
from menus.segments import is_gsm7, measure


@dataclass(frozen=True)
class Preview:
    text: str  # the full text as sent
    characters: int  # as the citizen sees them (len of the text)
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    encoding: str  # "GSM-7" | "UCS-2"
    ucs2_because: str | None  # the first character that is not GSM-7
    segments: int
    recipients: int
    cost: float  # rand

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """The preview as the command line prints it."""
        why = f" (because of {self.ucs2_because!r}, U+{ord(self.ucs2_because):04X})" if self.ucs2_because else ""
        return [f"message:    {self.text}",
                f"characters: {self.characters} ({self.units} {'septets' if self.encoding == 'GSM-7' else 'code units'})",
                f"encoding:   {self.encoding}{why}",
                f"segments:   {self.segments} per recipient",
                f"recipients: {self.recipients} (after opt-outs)",
                f"cost:       R{self.cost:,.2f} (estimate)"]


# A message ending in none of these gets a full stop before the opt-out line: on a phone's
# screen "…bring your ID Reply STOP to opt out" reads as one sentence.
SENTENCE_ENDS = tuple('.!?…:;)"\'')


def full_text(settings, text: str, language: str | None) -> str:
    """What each recipient gets: the sender's identity, the message (its last sentence closed),
    the opt-out line in ``language`` (English if none). Counted whole by the preview."""
    body = text.strip()
    if body and not body.endswith(SENTENCE_ENDS):
        body += "."
    parts = [settings.BROADCAST_PREFIX.strip(), body, reply_text("optout_line", language or "en")]
    return " ".join(p for p in parts if p)


def first_non_gsm7(text: str) -> str | None:
    return next((ch for ch in text if not is_gsm7(ch)), None)


def measure_text(settings, text: str, recipients: int) -> Preview:
    size = measure(text)
    cost = round(size.segments * recipients * float(settings.SMS_COST_PER_SEGMENT), 2)
    return Preview(text, len(text), size.units, size.encoding, first_non_gsm7(text), size.segments, recipients, cost)


def preview(rt, target: Target, text: str, language: str | None = None) -> Preview:
    """The full text, its measure and cost for the recipients ``target`` has now."""
    with rt.sessions() as s:
        count = count_recipients(s, target, language)
    return measure_text(rt.settings, full_text(rt.settings, text, language), count)
