"""``thusong broadcast send|list|status|cancel``: broadcasts from the command line, which acts
as an admin (no second approver needed). Humans read the preview and notes on standard error;
standard output carries what a script wants (the new id, the status line, the list). Sending
and cancelling write audit rows (actor ``cli``), as the dashboard's pages do."""

from __future__ import annotations

import time
from datetime import datetime

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gateway.cli.common import runtime_for
from gateway.sms.bulk import schedule_of
from gateway.sms.quiet_hours import SAST, next_allowed
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.staff.targets import TargetError

WATCH_AHEAD_SECONDS = 60  # `status` waits for a broadcast starting this soon; later ones get a line


@click.group("broadcast")
def broadcast() -> None:
    """Announcements to subscribers: preview, send or schedule, progress, cancel."""


def _local(dt: datetime) -> str:
    return bc.utc(dt).astimezone(SAST).strftime("%Y-%m-%d %H:%M:%S SAST")


def _parse_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r} (e.g. 2026-12-01T09:00)", param_hint="--at") from None
    return at if at.tzinfo else at.replace(tzinfo=SAST)  # a bare time is South African time


@broadcast.command("send")
@click.option("--to", "target", required=True,
              help="all | province:NAME | municipality:NAME | centre:ID[,ID] | service:CODE")
@click.option("--lang", default=None, help="Only subscribers who use this language (e.g. zu); the opt-out line is in it.")
@click.option("--message", required=True, help="The announcement; the sender prefix and opt-out line are added.")
@click.option("--at", "at", default=None, help="Send at this ISO 8601 time (no offset: South African time).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def send(target: str, lang: str | None, message: str, at: str | None, yes: bool) -> None:
    """Preview a broadcast, confirm, and send it now or at --at (quiet hours permitting).

    Prints the new broadcast's id on standard output."""
    when = _parse_at(at)
    rt = runtime_for()
    try:
        spec, preview = bc.compose(rt, target, message, lang)
        bc.check_start(rt, when)  # before the preview and the question, not after a "yes"
        click.echo(f"to:         {spec}{f' (language {lang})' if lang else ''}", err=True)
        for line in preview.lines():
            click.echo(line, err=True)
        start = bc.starts_at(rt, when)
        click.echo(f"starts:     {_start_note(rt, when, start)}", err=True)
        if not yes:
            click.confirm(f"Send to {preview.recipients} recipients?", abort=True, err=True)
        row = bc.create(rt, bc.CLI, spec, message, lang, when)
        audit.record(rt, audit.CLI, "broadcast.created", target=f"broadcast {row.id}",
                     detail={"to": row.target, "language": row.language, "recipients": row.recipients})
        row = bc.submit(rt, bc.CLI, row.id)
        audit.record(rt, audit.CLI, "broadcast.sent", target=f"broadcast {row.id}",
                     detail={"starts": bc.utc(row.scheduled_at).isoformat(), "to": row.target})
    except (TargetError, bc.BroadcastError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    click.echo(f"broadcast {row.id} {row.status}, starts {_local(row.scheduled_at)}", err=True)
    click.echo(row.id)


def _start_note(rt, when: datetime | None, start: datetime) -> str:
    asked = bc.utc(when) or rt.clock.now()
    if start <= rt.clock.now():
        return "now"
    if start > asked:
        return f"{_local(start)} (the next window outside quiet hours)"
    return _local(start)


@broadcast.command("list")
@click.option("--limit", default=20, show_default=True)
def list_cmd(limit: int) -> None:
    """The latest broadcasts, newest first."""
    rt = runtime_for()
    try:
        rows = bc.list_broadcasts(rt, limit)
    finally:
        rt.close()
    for r in rows:
        text = r.text if len(r.text) <= 40 else r.text[:39] + "…"
        when = _local(r.scheduled_at) if r.scheduled_at else "-"
        click.echo(f"{r.id:>5}  {r.status:<16} {r.target:<28} {r.language or '':<3} {when:<24} "
                   f"{r.recipients if r.recipients is not None else '-':>7}  {text}")


def _line(rt, row, counts: dict) -> str:
    done = counts["total"] - counts["queued"]
    head = f"broadcast {row.id} {row.status}"
    if row.status in ("scheduled", "approved"):
        head += f", starts {_local(row.scheduled_at)}"
    elif row.status == "paused":
        head += f" (quiet hours), resumes {_local(next_allowed(rt.clock.now(), schedule_of(rt.settings)))}"
    elif row.status == "rejected":
        head += f": {row.rejected_reason}"
    return (f"{head}: {done}/{counts['total']} done — sent {counts['sent']}, delivered {counts['delivered']}, "
            f"failed {counts['failed']}, opted out {counts['opted_out']}, cancelled {counts['cancelled']}, "
            f"waiting {counts['queued']}")


@broadcast.command("status")
@click.argument("broadcast_id", type=int)
@click.option("--no-wait", is_flag=True, help="Print one line and exit instead of a progress bar.")
@click.option("--every", default=0.5, show_default=True, help="Seconds between progress updates.")
def status(broadcast_id: int, no_wait: bool, every: float) -> None:
    """Progress of a broadcast: a progress bar until it is done (or one line with --no-wait)."""
    rt = runtime_for()
    try:
        row = _get(rt, broadcast_id)
        if no_wait or not _worth_watching(rt, row):
            click.echo(_line(rt, row, bc.progress(rt, broadcast_id)))
            return
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"broadcast {broadcast_id}", total=None)
            while True:
                row, counts = _get(rt, broadcast_id), bc.progress(rt, broadcast_id)
                total = row.recipients if row.fanned_out_at else None
                bar.update(task, completed=counts["total"] - counts["queued"], total=total,
                           description=f"broadcast {broadcast_id} {row.status}")
                if row.status in bc.DONE or not _worth_watching(rt, row):
                    break
                time.sleep(every)
        click.echo(_line(rt, row, counts))
    finally:
        rt.close()


def _worth_watching(rt, row) -> bool:
    if row.status in bc.DONE or row.status in ("draft", "pending_approval"):
        return False
    if row.status == "scheduled":
        return (bc.utc(row.scheduled_at) - rt.clock.now()).total_seconds() <= WATCH_AHEAD_SECONDS
    return True


def _get(rt, broadcast_id: int):
    try:
        return bc.get(rt, broadcast_id)
    except bc.NotFound as exc:
        raise click.ClickException(str(exc)) from None


@broadcast.command("cancel")
@click.argument("broadcast_id", type=int)
def cancel(broadcast_id: int) -> None:
    """Stop a broadcast: whatever has not been handed to Africa's Talking is not sent."""
    rt = runtime_for()
    try:
        bc.cancel(rt, bc.CLI, broadcast_id)
        counts = bc.progress(rt, broadcast_id)
        audit.record(rt, audit.CLI, "broadcast.cancelled", target=f"broadcast {broadcast_id}",
                     detail={"not_sent": counts["cancelled"]})
    except bc.BroadcastError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    click.echo(f"broadcast {broadcast_id} cancelled: {counts['cancelled']} not sent, "
               f"{counts['sent'] + counts['delivered']} already sent")
