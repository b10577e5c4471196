"""Logging set-up with a filter that masks phone numbers (POPIA: numbers are personal data)."""

from __future__ import annotations

import json
import logging
import re

# +27 and 9 digits, 27 and 9 digits, or a local 0XX XXX XXXX number, with optional spaces.
_PHONE = re.compile(r"(?<![\w])(\+?27|0)[\s-]?(\d{2})[\s-]?(\d{1,3})[\s-]?(\d{1,4})[\s-]?(\d{3})(?!\d)")


def mask_phone(text: str) -> str:
    """Mask every South African phone number in ``text``: ``+27821234567`` → ``+2782****567``."""

    def repl(m: re.Match) -> str:
        middle = m.group(3) + m.group(4)
        return f"{m.group(1)}{m.group(2)}{'*' * len(middle)}{m.group(5)}"

    return _PHONE.sub(repl, text)


class MaskingFilter(logging.Filter):
    """Rewrite each record's message with phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = mask_phone(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Install one masked handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_thusong", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._thusong = True  # type: ignore[attr-defined]
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
