"""``thusong office-status set --centre ID OFFICE up|slow|down [--note REASON]`` and
``thusong office-status list [--centre ID]``: offices' live status from the server's command
line (:mod:`gateway.staff.office_status`, actor ``cli``: any centre, audited). ``--note`` takes
a reason code from the fixed list, never free text: what citizens read is always approved
wording in their own language."""

from __future__ import annotations

import click

from gateway.cli.common import runtime_for
from gateway.clock import SAST
from gateway.dialogue.office_status import REASONS, STATES, Status
from gateway.dialogue.offices import centre_offices
from gateway.staff import audit
from gateway.staff.office_status import set_status, statuses

_NOTES = ", ".join(f"{code} ({words})" for code, words in REASONS.items())


@click.group("office-status")
def office_status() -> None:
    """Which office at a centre is working today: set a status (up, slow, down) or list them."""


def _line(status: Status) -> str:
    by = "cli" if status.staff_id is None else f"staff {status.staff_id} ({status.via})"
    reason = f"{status.reason} ({REASONS[status.reason]})" if status.reason else "-"
    set_at = status.set_at.astimezone(SAST).strftime("%Y-%m-%d %H:%M")
    until = status.expires_at.astimezone(SAST).strftime("%Y-%m-%d %H:%M")
    return f"centre {status.centre_id}\t{status.office}\t{status.state}\t{reason}\tset {set_at} by {by}\tuntil {until} SAST"


@office_status.command("set")
@click.option("--centre", "centre_id", type=int, required=True, help="The centre's id (`thusong centres export` lists them in order).")
@click.argument("office")
@click.argument("state", type=click.Choice(STATES, case_sensitive=False))
@click.option("--note", default=None, help=f"A reason code: {_NOTES}.")
def set_cmd(centre_id: int, office: str, state: str, note: str | None) -> None:
    """Set OFFICE (HA, SASSA, UIF, SARS, POST, GCIS, HEALTH, DSD, JUSTICE, MUNI) at a centre to
    up, slow or down until the end of today (SAST); audited with actor cli."""
    rt = runtime_for()
    try:
        status = set_status(rt, audit.CLI, centre_id, office, state, note, via="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    click.echo(_line(status))


@office_status.command("list")
@click.option("--centre", "centre_id", type=int, default=None, help="Only this centre, every office it has.")
def list_cmd(centre_id: int | None) -> None:
    """The statuses in force now (expired ones read as no news); with --centre every office the
    centre has, "no news" where none is set."""
    rt = runtime_for()
    try:
        found = statuses(rt, audit.CLI, centre_id)
        offices = centre_offices(rt, centre_id) if centre_id is not None else []
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    shown = {s.office for s in found}
    for status in found:
        click.echo(_line(status))
    for office in offices:
        if office.code not in shown:
            click.echo(f"centre {centre_id}\t{office.code}\tno news")
    if not found and not offices:
        click.echo("no office statuses in force" if centre_id is None else f"centre {centre_id} lists no offices")
