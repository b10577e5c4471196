"""The ``thusong`` command line — the top layer: it may import every package, ``web``
included. Click groups in Flask's CLI conventions (``.env`` is read through the settings).

Commands by module: :mod:`~gateway.cli.admin` (config, db, centres, staff),
:mod:`~gateway.cli.worker` (worker), :mod:`~gateway.cli.processes` (web),
:mod:`~gateway.cli.laptop` (run, simulate), :mod:`~gateway.cli.broadcasts`
(broadcast send|list|status|cancel), :mod:`~gateway.cli.ops` (status, check, backup, restore), :mod:`~gateway.cli.jobs` (jobs, jobs requeue),
:mod:`~gateway.cli.privacy` (privacy export|delete), :mod:`~gateway.cli.demo` (demo seed),
:mod:`~gateway.cli.offices` (office-status set|list),
:mod:`~gateway.cli.questions` (questions list|show|reply|close|transfer);
:mod:`~gateway.cli.translations` (translations status|export|import);
:mod:`~gateway.cli.common` holds what they share.

A command's module is imported when that command runs (click's documented lazy group), so
``thusong worker`` does not import the web app and ``thusong --help`` stays quick.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of the click command
COMMANDS = {
    "config": "gateway.cli.admin:config_cmd",
    "db": "gateway.cli.admin:db",
    "centres": "gateway.cli.admin:centres",
    "staff": "gateway.cli.admin:staff",
    "worker": "gateway.cli.worker:worker",
    "web": "gateway.cli.processes:web",
    "run": "gateway.cli.laptop:run",
    "simulate": "gateway.cli.laptop:simulate",
    "broadcast": "gateway.cli.broadcasts:broadcast",
    "status": "gateway.cli.ops:status",
    "check": "gateway.cli.ops:check",
    "backup": "gateway.cli.ops:backup",
    "restore": "gateway.cli.ops:restore",
    "privacy": "gateway.cli.privacy:privacy_group",
    "demo": "gateway.cli.demo:demo",
    "jobs": "gateway.cli.jobs:jobs",
    "office-status": "gateway.cli.offices:office_status",
    "questions": "gateway.cli.questions:questions",
    "translations": "gateway.cli.translations:translations",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click docs: "Lazily Loading
    Subcommands")."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Thusong gateway: USSD and SMS access to Thusong Service Centres.

    Settings come from the environment (and a .env file); `thusong config` lists them.
    """
