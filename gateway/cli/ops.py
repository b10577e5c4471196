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
from pathlib import Path

import click
import redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from config import ConfigError, Settings, load_settings, mask_phone
from gateway import fleet, jobs
from gateway.channels.africastalking import PermanentSendError, SendError, account_balance
from gateway.cli.common import settings_or_exit
from gateway.directory.centre_csv import export_centres
from gateway.runtime import Runtime
from gateway.sms import credit
from gateway.sms.backlog import oldest_unsent
from gateway.store import backup as backups
from gateway.store.engine import make_engine, revisions
from gateway.store.models import Broadcast, as_utc

# What status and check wait for the database: an operator at 2 a.m. needs an answer, and a
# database silent this long is the answer ("unreachable"). The client's own limits: a database
# that takes the connection and then says nothing has no server-side timeout to end it.
OPERATOR_DB_TIMEOUTS = {"connect_timeout_s": 2, "deadline_s": 5.0}  # 2 s: libpq's least
TOKEN_MIN_LENGTH = 32
# Words that mark a token copied from an example rather than generated (compared without case
# or punctuation): "change-me", "your_token_here", "test-webhook-token"…
PLACEHOLDERS = ("changeme", "replaceme", "yourtoken", "tokenhere", "secret", "password", "example",
                "placeholder", "test", "dummy", "sample", "default", "xxxx", "todo", "123456", "abcdef")


@dataclass(frozen=True)
class Finding:
    name: str
    value: str
    problem: str | None = None  # None: healthy
    warning: str | None = None  # worth a look, but not a failure (exit status stays 0)


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "none waiting"
    seconds = (now - as_utc(created)).total_seconds()
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
        try:
            found += _database_findings(rt, reply_age_limit)
        except DBAPIError as exc:  # it stopped answering since the health check
            found.append(Finding("database", "unreachable", f"database stopped answering ({_why(exc)})"))
    return found


def _redis_findings(rt: Runtime) -> list[Finding]:
    found = []
    for name in jobs.QUEUES:
        found.append(Finding(f"queue {name}", f"{rt.queue(name).count} jobs waiting"))
    found += _fleet_findings(rt)
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


def _fleet_findings(rt: Runtime) -> list[Finding]:
    """Workers alive and dead by their heartbeat (not by RQ's registration, which outlives a
    killed worker by up to a job's timeout), and the scheduler holding each queue's lock."""
    every = rt.settings.WORKER_HEARTBEAT_SECONDS
    members = fleet.workers(rt.redis, every)
    alive = [m.name for m in members if m.alive]
    found = [Finding("workers", f"{len(alive)} alive: {', '.join(alive)}" if alive else "none alive",
                     None if alive else "no worker is running")]
    found += [Finding("dead worker", m.name, f"{m.describe()}: killed or hung; its unit's restart under the "
                                             "same name clears it (journalctl -u 'thusong-worker@*')")
              for m in members if not m.alive]
    held = fleet.schedulers(rt.redis, jobs.QUEUES, every)
    orphaned = [queue for queue, m in held.items() if m is None or not m.alive]
    holders = sorted({m.describe() for m in held.values() if m is not None and m.alive})
    found.append(Finding("scheduler", "; ".join(holders) or "none",
                         f"no live scheduler for {', '.join(orphaned)}: retries, quiet-hours resumes and credit "
                         "probes wait until a worker starts one" if orphaned else None))
    return found


def _database_findings(rt: Runtime, reply_age_limit: float) -> list[Finding]:
    now = datetime.now(UTC)
    with rt.sessions() as s:
        reply, bulk = oldest_unsent(s, jobs.QUEUE_REPLIES), oldest_unsent(s, jobs.QUEUE_BULK)
        running = s.execute(select(Broadcast.id, Broadcast.status, Broadcast.target, Broadcast.recipients)
                            .where(Broadcast.status.in_(("sending", "paused"))).order_by(Broadcast.id)).all()
    stuck = reply is not None and (now - as_utc(reply)).total_seconds() > reply_age_limit
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
@click.option("--reply-age", default=60.0, show_default=True, type=float,
              help="Seconds a citizen's reply may wait unsent before this counts as a problem.")
def status(reply_age: float) -> None:
    """One screen for the operator: queues, oldest unsent messages, last AT error, running
    broadcasts, the pause for credit, database and Redis.

    Exit status 0 when healthy, 1 when something is wrong (each problem named on stderr)."""
    rt = Runtime.from_settings(settings_or_exit(), **OPERATOR_DB_TIMEOUTS)
    try:
        findings = status_findings(rt, reply_age)
    finally:
        rt.close()
    _report(findings, "thusong status")


# --- thusong check ---------------------------------------------------------------------------

def _why(exc: Exception) -> str:
    """A short reason naming the error, secrets and numbers masked."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return mask_phone(f"{type(exc).__name__}: {text[0] if text else ''}")[:160]


def weak_token(token: str) -> str | None:
    """Why ``token`` is too weak for production, or None."""
    if len(token) < TOKEN_MIN_LENGTH:
        return f"{len(token)} characters, fewer than {TOKEN_MIN_LENGTH}"
    folded = "".join(ch for ch in token.lower() if ch.isalnum())
    word = next((w for w in PLACEHOLDERS if w in folded), None)
    if word:
        return f"looks like a placeholder (contains {word!r})"
    if len(set(token)) < 10:
        return "too few different characters"
    return None


def _database_check(settings: Settings) -> Finding:
    engine = make_engine(settings.database_url, **OPERATOR_DB_TIMEOUTS)
    try:
        current, heads = revisions(engine)
    except Exception as exc:
        return Finding("database", "unreachable", f"cannot read the schema version: {_why(exc)}")
    finally:
        engine.dispose()
    shown = ",".join(sorted(current)) or "empty"
    if current != heads:
        return Finding("database", f"at {shown}", f"not migrated to head ({','.join(sorted(heads))}): "
                                                   "run `thusong db upgrade`")
    return Finding("database", f"reachable, at head {shown}")


def _redis_check(settings: Settings) -> Finding:
    if not settings.REDIS_URL:
        if settings.is_production:
            return Finding("redis", "REDIS_URL unset", "production needs a Redis server (REDIS_URL), "
                                                        "not the embedded one")
        return Finding("redis", "embedded (development)")
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)
    try:
        client.ping()
        persistent = _persistent(client)
    except Exception as exc:
        return Finding("redis", "unreachable", _why(exc))
    finally:
        client.close()
    if persistent is False:
        return Finding("redis", "reachable, keeps nothing on disk",
                       warning="a restart of Redis empties the queues and the rate and lease state "
                               "(the sweeper re-queues from the database, minutes late): set "
                               "appendonly yes or a save schedule")
    return Finding("redis", "reachable" + (", persistence unknown" if persistent is None else ", persistent"))


def _persistent(client: redis.Redis) -> bool | None:
    """Whether Redis keeps its data across a restart (AOF on, or an RDB save schedule); None
    when the server will not say (managed services often refuse CONFIG)."""
    try:
        config = client.config_get("appendonly") | client.config_get("save")
    except redis.ResponseError:
        return None
    return config.get("appendonly") == "yes" or bool(config.get("save", "").strip())


def _production_findings(settings: Settings) -> list[Finding]:
    """Settings that are valid but wrong in production: a test schedule replacing the
    quiet-hours rule, AT's sandbox (nothing reaches a phone)."""
    if not settings.is_production:
        return []
    found = []
    if settings.BULK_SCHEDULE:
        found.append(Finding("BULK_SCHEDULE", "set", "replaces the quiet-hours rule (CPA reg. 4): bulk "
                                                     "SMS could go at night or on Sundays; unset it"))
    if settings.AT_USERNAME.strip().lower() == "sandbox":
        found.append(Finding("AT_USERNAME", "sandbox", "AT's sandbox delivers to no phone: use the "
                                                       "live account's username"))
    return found


def _at_check(settings: Settings, offline: bool) -> Finding:
    if settings.sms_is_simulated:
        return Finding("AT credentials", "unset: SMS are simulated",
                       "AT_USERNAME/AT_API_KEY unset: no SMS would leave" if settings.is_production else None)
    if offline:
        return Finding("AT credentials", "not asked (--offline)")
    try:
        balance = account_balance(settings.AT_USERNAME, settings.AT_API_KEY, settings.AT_API_URL or None,
                                  timeout=(3.05, settings.AT_TIMEOUT_SECONDS))
    except PermanentSendError as exc:
        return Finding("AT credentials", "refused", f"AT refused AT_USERNAME/AT_API_KEY: {mask_phone(str(exc))[:120]}")
    except SendError as exc:
        return Finding("AT credentials", "unknown", f"could not ask AT: {_why(exc)}")
    return Finding("AT credentials", f"accepted (balance {balance})")


def check_findings(settings: Settings, offline: bool) -> list[Finding]:
    """Every check ``thusong check`` makes, in order."""
    found = [Finding("settings", f"valid, THUSONG_ENV={settings.THUSONG_ENV}",
                     None if settings.is_production else "THUSONG_ENV is not production"),
             _database_check(settings), _redis_check(settings), _at_check(settings, offline),
             *_production_findings(settings)]
    for name, tokens in (("WEBHOOK_TOKEN", settings.webhook_tokens), ("METRICS_TOKEN", settings.metrics_tokens)):
        problems = [p for p in map(weak_token, tokens) if p] if tokens else ["unset"]
        found.append(Finding(name, f"{len(tokens)} token(s)", "; ".join(problems) or None))
    return found


def _print_lines(findings: list[Finding]) -> None:
    """One line per finding (``ok``/``WARN``/``FAIL`` first, for grep); exit 1 if any failed."""
    for f in findings:
        word = "FAIL" if f.problem else "WARN" if f.warning else "ok  "
        why = f.problem or f.warning
        click.echo(f"{word} {f.name}: {f.value}" + (f" — {why}" if why else ""))
    if any(f.problem for f in findings):
        sys.exit(1)


@click.command("check")
@click.option("--offline", is_flag=True, help="Do not call Africa's Talking (no network beyond DB and Redis).")
def check(offline: bool) -> None:
    """Validate this environment for production without serving: settings, database migrated
    to head, Redis, AT credentials (one cheap authenticated call), token strength.

    One line per check, ok or FAIL with the reason; exit status 0 only if every check passed."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        _print_lines([Finding("settings", "invalid", str(exc))])
        return
    _print_lines(check_findings(settings, offline))


# --- thusong backup / restore ----------------------------------------------------------------

@click.command("backup")
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The backup file [default: thusong-YYYYmmddTHHMMSSZ.tar here].")
def backup(output: str | None) -> None:
    """Write a consistent backup of the database (pg_dump custom format, or SQLite's online
    backup) with a manifest (time, revisions, rows per table, checksum of the centres export),
    as one tar file. Safe while the service runs.

    Redis is not in it: see README "Operating" for what a restore loses."""
    settings = settings_or_exit()
    out = Path(output or f"thusong-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar")
    engine = make_engine(settings.database_url)
    try:
        manifest = backups.dump(engine, out, export_centres)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    rows = sum(manifest["tables"].values())
    click.echo(f"wrote {out}: {manifest['database']} at {','.join(manifest['revisions'])}, "
               f"{len(manifest['tables'])} tables, {rows} rows")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore(file: str) -> None:
    """Restore FILE (from `thusong backup`) into the EMPTY database DATABASE_URL names (a
    non-empty one is refused), then check every table's row count and the centres export
    against the backup's manifest. Exit status 1 if anything differs."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    try:
        manifest = backups.restore(engine, Path(file), export_centres)
    except backups.Mismatch as exc:
        for problem in exc.problems:
            click.echo(f"FAIL {problem}", err=True)
        raise click.ClickException("the restored database differs from the backup") from None
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"restored {file} (taken {manifest['created_at']}): {len(manifest['tables'])} tables, "
               f"row counts and centres export match")
