"""What every ``thusong`` command shares: settings from the environment (a clear message
naming the bad variable instead of a traceback) and the runtime built from them."""

from __future__ import annotations

import click

from config import ConfigError, Settings, load_settings
from gateway.runtime import Runtime


def settings_or_exit() -> Settings:
    """Settings from the environment, or a clear message naming the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def runtime_for(settings: Settings | None = None) -> Runtime:
    """The runtime (every client) for ``settings`` (default: the environment's)."""
    return Runtime.from_settings(settings or settings_or_exit())
