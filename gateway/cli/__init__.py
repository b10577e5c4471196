"""The ``thusong`` command line — the top layer: it may import every package, ``web``
included. Click groups in Flask's CLI conventions (``.env`` is read through the settings).

Commands by module: :mod:`~gateway.cli.admin` (config, db, centres, staff),
:mod:`~gateway.cli.processes` (worker, web), :mod:`~gateway.cli.laptop` (run, simulate),
:mod:`~gateway.cli.broadcasts` (broadcast send|list|status|cancel), :mod:`~gateway.cli.ops`
(status, check, backup, restore), :mod:`~gateway.cli.demo` (demo seed);
:mod:`~gateway.cli.common` holds what they share.
"""

from __future__ import annotations

import click

from gateway.cli import admin, broadcasts, demo, laptop, ops, processes


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Thusong gateway: USSD and SMS access to Thusong Service Centres.

    Settings come from the environment (and a .env file); `thusong config` lists them.
    """


for command in (admin.config_cmd, admin.db, admin.centres, admin.staff, processes.worker, processes.web,
                laptop.run, laptop.simulate, broadcasts.broadcast, ops.status,
                ops.check, ops.backup, ops.restore, demo.demo):
    main.add_command(command)
