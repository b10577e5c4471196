"""Operating commands: ``thusong status`` (one screen: is the service sending?), ``thusong
check`` (is this environment fit for production, without serving?) and ``thusong backup`` /
``thusong restore`` (a consistent dump with a manifest, restored only into an empty database).

Each prints one line per finding and exits 0 when all is well, 1 naming what is wrong — for
an operator and for scripts alike.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table
from rq import Worker
from sqlalchemy import func, select

from gateway import jobs
from gateway.cli.common import runtime_for
from gateway.runtime import Runtime
from gateway.sms import credit
from gateway.store.models import Broadcast, Message

UNSENT_REPLY = ("queued", "sending", "retry", "unknown")
UNSENT_BULK = ("queued", "sending", "retry", "unknown")


@dataclass(frozen=True)
class Finding:
    name: str
    value: str
    problem: str | None = None  # None: healthy


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "none waiting"
    seconds = (now - (created if created.tzinfo else created.replace(tzinfo=UTC))).total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def status_findings(rt: Runtime, reply_age_limit: float) -> list[Finding]:
    """Everything ``thusong status`` shows, each with the problem it reveals (if any)."""
    health = rt.health()
    found = [Finding("database", "reachable" if health["db"]["ok"] else "unreachable",
                     None if health["db"]["ok"] else f"database unreachable ({health['db'].get('error')})"),
             Finding("redis", "reachable" if health["redis"]["ok"] else "unreachable",
                     None if health["redis"]["ok"] else f"redis unreachable ({health['redis'].get('error')})")]
    if health["redis"]["ok"]:
        found += _redis_findings(rt)
    if health["db"]["ok"]:
        found += _database_findings(rt, reply_age_limit)
    return found


def _redis_findings(rt: Runtime) -> list[Finding]:
    found = []
    for name in jobs.QUEUES:
        found.append(Finding(f"queue {name}", f"{rt.queue(name).count} jobs waiting"))
    workers = len(Worker.all(connection=rt.redis))
    found.append(Finding("workers", str(workers), None if workers else "no worker is running"))
    state = credit.state(rt)
    if state.paused:
        since = datetime.fromtimestamp(state.since or 0, UTC).isoformat(timespec="seconds")
        probe = datetime.fromtimestamp(state.probe_at or 0, UTC).isoformat(timespec="seconds")
        found.append(Finding("credit", f"bulk PAUSED since {since}, next probe {probe}",
                             "AT answered 405 (insufficient balance): top up the Africa's Talking account"))
    else:
        found.append(Finding("credit", "not paused"))
    error = credit.last_error(rt)
    found.append(Finding("last AT error", f"{error['at']} {error['kind']}: {error['text']}" if error else "none"))
    return found


def _database_findings(rt: Runtime, reply_age_limit: float) -> list[Finding]:
    now = datetime.now(UTC)
    with rt.sessions() as s:
        def oldest(queue: str, statuses: tuple[str, ...]):
            return s.scalar(select(func.min(Message.created_at)).where(
                Message.direction == "out", Message.queue == queue, Message.status.in_(statuses)))

        reply, bulk = oldest(jobs.QUEUE_REPLIES, UNSENT_REPLY), oldest(jobs.QUEUE_BULK, UNSENT_BULK)
        running = s.execute(select(Broadcast.id, Broadcast.status, Broadcast.target, Broadcast.recipients)
                            .where(Broadcast.status.in_(("sending", "paused"))).order_by(Broadcast.id)).all()
    stuck = reply is not None and (now - (reply if reply.tzinfo else reply.replace(tzinfo=UTC))).total_seconds() > reply_age_limit
    found = [Finding("oldest unsent reply", _age(reply, now),
                     f"a citizen's reply has waited more than {reply_age_limit:.0f} s" if stuck else None),
             Finding("oldest unsent bulk", _age(bulk, now))]
    listed = ", ".join(f"#{i} {st} {target} ({n or 0} recipients)" for i, st, target, n in running)
    found.append(Finding("broadcasts running", listed or "none"))
    return found


def _report(findings: list[Finding], title: str) -> None:
    """One table, then one line per problem on standard error; exit 1 if there is any."""
    console = Console(width=max(Console().width, 100))
    table = Table(title=title)
    for column in ("", "value", "state"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.name, f.value, "ok" if f.problem is None else f"[red]FAIL[/red] {f.problem}")
    console.print(table)
    problems = [f for f in findings if f.problem]
    for f in problems:
        click.echo(f"FAIL {f.name}: {f.problem}", err=True)
    if problems:
        sys.exit(1)


@click.command("status")
@click.option("--reply-age", default=300.0, show_default=True, type=float,
              help="Seconds a citizen's reply may wait unsent before this counts as a problem.")
def status(reply_age: float) -> None:
    """One screen for the operator: queues, oldest unsent messages, last AT error, running
    broadcasts, the pause for credit, database and Redis.

    Exit status 0 when healthy, 1 when something is wrong (each problem named on stderr)."""
    rt = runtime_for()
    try:
        findings = status_findings(rt, reply_age)
    finally:
        rt.close()
    _report(findings, "thusong status")
