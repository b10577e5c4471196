"""The ``thusong`` command line (click, in Flask's CLI conventions: ``.env`` is read, commands
that need the app get it from the factory): config, db, centres, staff, worker, web; ``run``
and ``simulate`` (everything for a laptop) are in ``gateway.laptop``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from config import ConfigError, Settings, configure_logging, describe_settings, load_settings

log = logging.getLogger("thusong")


def settings_or_exit() -> Settings:
    """Settings from the environment, or a clear message naming the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def runtime_for(settings: Settings | None = None):
    """The runtime (every client) for ``settings`` (default: the environment's)."""
    from gateway.runtime import Runtime

    return Runtime.from_settings(settings or settings_or_exit())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Thusong gateway: USSD and SMS access to Thusong Service Centres.

    Settings come from the environment (and a .env file); `thusong config` lists them.
    """


@main.command("config")
def config_cmd() -> None:
    """Print every setting, its current value (secrets hidden) and what it does."""
    settings = settings_or_exit()
    for name, value, help_text in describe_settings(settings):
        click.echo(f"{name}={value}\n    {help_text}")


# --- database ------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema (Alembic)."""
    from gateway.db import make_engine, upgrade

    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    upgrade(engine, revision)
    engine.dispose()
    click.echo(f"database at {revision}: {settings.database_url.split('@')[-1]}")


# --- centres -------------------------------------------------------------------------------

@main.group()
def centres() -> None:
    """Import and export the centres directory (CSV)."""


def _print_report(report) -> None:
    click.echo(f"inserted {report.inserted}, updated {report.updated}, unchanged {report.unchanged}, "
               f"rejected {len(report.rejected)}")
    for line, name, reason in report.rejected:
        click.echo(f"  rejected line {line}: {name or '(no name)'}: {reason}", err=True)
    for line, name, reason in report.warnings:
        click.echo(f"  warning line {line}: {name}: {reason}", err=True)


@centres.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--quiet", is_flag=True, help="No progress bar.")
def centres_import(file: str, quiet: bool) -> None:
    """Upsert centres from FILE (columns as in the shipped seed CSV).

    Re-runnable: rows are matched by name. Bad rows are reported by line number and skipped;
    the good rows are written in one transaction. Exit status 1 if any row was rejected.
    """
    from rich.progress import Progress

    from gateway.centre_csv import import_centres

    text = Path(file).read_text(encoding="utf-8-sig")
    rt = runtime_for()
    try:
        rows = max(text.count("\n") - 1, 1)
        with Progress(disable=quiet or rows < 200, transient=True) as bar:
            task = bar.add_task("importing", total=rows)
            report = import_centres(rt.sessions, text, rt.gazetteer, lambda n: bar.advance(task, n))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    _print_report(report)
    if report.rejected:
        sys.exit(1)


@centres.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
def centres_export(file: str | None) -> None:
    """Write every centre as CSV to FILE (or standard output), in the import's columns."""
    from gateway.centre_csv import export_centres

    rt = runtime_for()
    try:
        text = export_centres(rt.sessions)
    finally:
        rt.close()
    if file:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} centres to {file}", err=True)
    else:
        click.echo(text, nl=False)


# --- staff ---------------------------------------------------------------------------------

@main.group()
def staff() -> None:
    """Staff dashboard accounts."""


@staff.command("add")
@click.argument("email")
@click.option("--name", prompt=True, help="Full name shown in the dashboard.")
@click.option("--role", type=click.Choice(["clerk", "approver", "admin"]), default="clerk", show_default=True,
              help="clerk composes broadcasts, approver approves them, admin does everything.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Login password (prompted if not given).")
def staff_add(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account (password stored as an argon2 hash)."""
    from gateway.staff import StaffError, add_staff

    rt = runtime_for()
    try:
        add_staff(rt.sessions, email, name, role, password)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    click.echo(f"added {role} {email}")


# --- processes -----------------------------------------------------------------------------

@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (for scripts and tests).")
@click.option("--name", default=None, help="Worker name (default: generated).")
@click.option("--sweep-every", default=15.0, show_default=True, type=float,
              help="Seconds between housekeeping sweeps (lost jobs, expired leases).")
def worker(burst: bool, name: str | None, sweep_every: float) -> None:
    """Run one RQ worker on the queues `replies` (first) and `bulk`.

    It also runs RQ's scheduler (for retries with back-off) and, every --sweep-every seconds,
    queues a sweep that re-queues work a killed worker left behind.
    """
    import threading

    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from gateway import jobs

    settings = settings_or_exit()
    configure_logging(settings.LOG_LEVEL, settings.LOG_JSON)
    rt = runtime_for(settings)
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(sweep_every):
            try:
                # One sweep per interval across all workers: whoever takes the lock queues it.
                if rt.redis.set("sweep:lock", "1", nx=True, ex=max(int(sweep_every), 1)):
                    rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)
            except Exception:
                log.warning("sweep not queued (redis unavailable?)")

    try:
        rt.queue(jobs.QUEUE_REPLIES).enqueue(jobs.SWEEP)  # pick up what a dead worker left
        if not burst:
            threading.Thread(target=sweeper, daemon=True).start()
        # Jobs run in this process, not a fork per job: a send job then reuses the worker's
        # runtime (SQL pool, Redis, SDK session) instead of building one each time (~0.1 s).
        # A worker killed mid-job loses nothing: the outbox lease and the sweeper recover.
        w = SimpleWorker([rt.queue(q) for q in jobs.QUEUES], connection=rt.redis, name=name,
                         serializer=JSONSerializer)
        w.work(burst=burst, logging_level=settings.LOG_LEVEL, with_scheduler=True)
    finally:
        stop.set()
        rt.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Use the single-process development server instead of gunicorn.")
def web(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web app (webhooks, simulator, health and metrics).

    gunicorn's sync workers must not face the internet: put the nginx site in deploy/nginx/
    in front (it buffers slow clients) and set TRUSTED_PROXIES=1.
    """
    settings = settings_or_exit()
    if dev:
        from werkzeug.serving import run_simple

        from gateway.web import create_app

        run_simple(host, port, create_app(settings), threaded=True, use_reloader=False)
        return
    settings = _shared_metrics_folder(settings)
    from gunicorn.app.base import BaseApplication
    from prometheus_client import multiprocess

    folder = settings.PROMETHEUS_MULTIPROC_DIR

    def child_exit(_server, worker) -> None:
        multiprocess.mark_process_dead(worker.pid, folder)  # its live gauges no longer count

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)

        def load(self):
            from gateway.web import create_app

            return create_app(settings)

    _App().run()


def _shared_metrics_folder(settings: Settings) -> Settings:
    """Empty the folder where gunicorn workers keep their metric values (default
    instance/prometheus) and point prometheus-client at it, before anything imports it:
    /metrics then adds up every worker instead of showing whichever one answered."""
    import os

    folder = Path(settings.PROMETHEUS_MULTIPROC_DIR or settings.instance_path / "prometheus")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):  # a previous run's counts are not this run's
        old.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # read by prometheus-client itself
    return settings.with_(PROMETHEUS_MULTIPROC_DIR=str(folder))


# The laptop commands live in their own module (they import this one's helpers lazily).
from gateway import laptop  # noqa: E402

main.add_command(laptop.run)
main.add_command(laptop.simulate)

if __name__ == "__main__":
    main()
