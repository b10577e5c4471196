"""What every ``thusong`` command shares: settings from the environment (a clear message
naming the bad variable instead of a traceback) and the runtime built from them, refused when
they name no database rather than creating an empty one."""

from __future__ import annotations

from pathlib import Path

import click

from config import ConfigError, Settings, load_settings
from gateway.runtime import Runtime

# Where the deployment keeps the settings the units get (docs/operating.md).
SERVER_ENV_FILE = Path("/etc/thusong/thusong.env")


def settings_or_exit() -> Settings:
    """Settings from the environment, or a clear message naming the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def database_or_exit(settings: Settings) -> Settings:
    """``settings`` if they name a database that exists; else a clear refusal.

    With ``DATABASE_URL`` unset the database is a SQLite file in the instance folder; a command
    run on a server without the settings (``sudo -u thusong thusong staff add`` without the
    env file) would create an empty one there and fail with a traceback. Only the commands that
    create the database (``run``, ``db upgrade``, ``restore``) skip this check."""
    if settings.DATABASE_URL:
        return settings
    path = settings.instance_path / "thusong.db"
    if path.exists():
        return settings
    hint = (f"on this server the settings are in {SERVER_ENV_FILE}: run the command as "
            f"`sudo -u thusong sh -c 'set -a; . {SERVER_ENV_FILE}; exec thusong …'`"
            if SERVER_ENV_FILE.exists() else
            "set DATABASE_URL (on a server: load the env file the units use), or on a laptop "
            "create the database first with `thusong db upgrade` or `thusong run`")
    raise click.ClickException(f"no database: DATABASE_URL is unset and {path} does not exist; {hint}")


def runtime_for(settings: Settings | None = None) -> Runtime:
    """The runtime (every client) for ``settings`` (default: the environment's), refused with
    a clear message when they name no database (:func:`database_or_exit`)."""
    return Runtime.from_settings(database_or_exit(settings or settings_or_exit()))
