"""``thusong privacy export NUMBER`` / ``thusong privacy delete NUMBER [--yes]``: a citizen's
POPIA requests from the command line (:mod:`gateway.staff.privacy`). ``export`` writes JSON on
standard output; ``delete`` says on standard error what it will remove and asks first unless
``--yes``. Both write audit rows (actor ``cli``) with the masked number, never the number."""

from __future__ import annotations

import json

import click

from config import mask_phone
from gateway.cli.common import runtime_for
from gateway.phones import InvalidPhone
from gateway.staff import audit, privacy


@click.group("privacy")
def privacy_group() -> None:
    """A citizen's data: export everything held about a number, or delete it."""


def _subject(rt, number: str):
    try:
        return privacy.subject_of(rt, number)
    except InvalidPhone as exc:
        raise click.BadParameter(str(exc), param_hint="NUMBER") from None


@privacy_group.command("export")
@click.argument("number")
def export_cmd(number: str) -> None:
    """Everything held about NUMBER (any South African form, or +E.164), as JSON on stdout."""
    rt = runtime_for()
    try:
        subject = _subject(rt, number)
        held = privacy.export(rt, subject)
        privacy.record(rt, audit.CLI, "privacy.exported", subject, held=privacy.counts(held))
    finally:
        rt.close()
    click.echo(json.dumps(held, indent=2, ensure_ascii=False))


@privacy_group.command("delete")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(number: str, yes: bool) -> None:
    """Delete every row and key held about NUMBER, keeping only an opt-out marker (so no
    broadcast reaches it again)."""
    rt = runtime_for()
    try:
        subject = _subject(rt, number)
        held = privacy.counts(privacy.export(rt, subject))
        shown = mask_phone(subject.phone)
        for name, n in held.items():
            click.echo(f"{name:26} {n}", err=True)
        if not yes:
            click.confirm(f"Delete everything held about {shown} (an opt-out marker stays)?", abort=True, err=True)
        removed = privacy.erase(rt, subject)
        privacy.record(rt, audit.CLI, "privacy.deleted", subject, removed=removed)
    finally:
        rt.close()
    click.echo(f"deleted {sum(removed.values())} rows and keys about {shown}; opt-out marker kept", err=True)
