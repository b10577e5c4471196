"""``thusong questions list [--centre ID] [--open|--overdue|--all]``, ``questions show REF``,
``questions reply REF --message TEXT [--close]``, ``questions close REF [--outcome TEXT]`` and
``questions transfer REF --centre ID``: citizens' questions and complaints from the server's
command line (:mod:`gateway.staff.questions`, actor ``cli``: every centre and the unassigned
queue; every action audited). Numbers are shown masked, as in the logs."""

from __future__ import annotations

import click

from config import mask_phone
from gateway.cli.common import runtime_for
from gateway.clock import SAST
from gateway.dialogue.questions import Thread
from gateway.staff import audit
from gateway.staff import questions as staff_questions


@click.group("questions")
def questions() -> None:
    """Citizens' questions and complaints: list, read, answer by SMS, close, transfer."""


def _line(t: Thread) -> str:
    centre = f"centre {t.centre_id}" if t.centre_id is not None else "unassigned"
    flag = "\tOVERDUE" if t.overdue else ""
    return (f"{t.ref}\t{centre}\t{t.kind}\t{t.status}\t{t.age_hours:g} working h\t"
            f"{t.created_at.astimezone(SAST):%Y-%m-%d %H:%M}\t{mask_phone(t.phone)}{flag}")


def _run(fn, *args, **kwargs):
    rt = runtime_for()
    try:
        return fn(rt, audit.CLI, *args, **kwargs)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()


@questions.command("list")
@click.option("--centre", "centre_id", type=int, default=None, help="Only this centre's threads.")
@click.option("--open", "state", flag_value="open", default=True, help="Open threads (the default).")
@click.option("--overdue", "state", flag_value="overdue", help="Only open threads past their 2 working days.")
@click.option("--all", "state", flag_value="all", help="Closed threads too.")
def list_cmd(centre_id: int | None, state: str) -> None:
    """Threads oldest first: reference, centre, kind, status, age in working hours (08:00-16:30
    SAST, weekdays that are not public holidays), opened (SAST), number (masked), OVERDUE."""
    found = _run(staff_questions.inbox, state=state, centre_id=centre_id)
    for t in found:
        click.echo(_line(t))
    if not found:
        click.echo(f"no {'' if state == 'all' else state + ' '}questions")


@questions.command("show")
@click.argument("ref")
def show_cmd(ref: str) -> None:
    """One thread with its messages, oldest first."""
    t = _run(staff_questions.read, ref.upper())
    click.echo(_line(t))
    for e in t.entries:
        who = e.staff_name or ("cli" if e.kind != "citizen" else "citizen")
        click.echo(f"{e.created_at.astimezone(SAST):%Y-%m-%d %H:%M}\t{e.kind}\t{who}\t{e.text}")
    if t.outcome:
        click.echo(f"outcome: {t.outcome}")


@questions.command("reply")
@click.argument("ref")
@click.option("--message", "message", required=True, help="The answer; the SMS starts with the reference and ends with how to stop messages.")
@click.option("--close", "close", is_flag=True, help="Close the thread with the answer.")
def reply_cmd(ref: str, message: str, close: bool) -> None:
    """Answer a thread by SMS at once (a reply to the citizen's own request: no approver)."""
    preview = _run(staff_questions.preview, ref.upper(), message)
    t = _run(staff_questions.reply, ref.upper(), message, close=close)
    click.echo(f"{t.ref}: answer queued ({preview.segments} SMS, R{preview.cost:,.2f}){', closed' if close else ''}")


@questions.command("close")
@click.argument("ref")
@click.option("--outcome", default=None, help="What came of it (staff only; no SMS goes).")
def close_cmd(ref: str, outcome: str | None) -> None:
    """Close a thread without an SMS."""
    _run(staff_questions.close, ref.upper(), outcome)
    click.echo(f"{ref.upper()}: closed")


@questions.command("transfer")
@click.argument("ref")
@click.option("--centre", "centre_id", type=int, required=True, help="The centre it goes to.")
def transfer_cmd(ref: str, centre_id: int) -> None:
    """Route a thread to another centre (or an unassigned one to a centre)."""
    _run(staff_questions.transfer, ref.upper(), centre_id)
    click.echo(f"{ref.upper()}: now at centre {centre_id}")
