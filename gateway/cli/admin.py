"""Administration commands: ``config``, ``db upgrade``, ``centres import|export`` and
``staff add``. Each builds the runtime it needs and closes it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import Progress

from config import describe_settings
from gateway.cli.common import runtime_for, settings_or_exit
from gateway.directory.centre_csv import export_centres, import_centres
from gateway.staff.accounts import StaffError, add_staff
from gateway.store.engine import make_engine, upgrade


@click.command("config")
def config_cmd() -> None:
    """Print every setting, its current value (secrets hidden) and what it does."""
    settings = settings_or_exit()
    for name, value, help_text in describe_settings(settings):
        click.echo(f"{name}={value}\n    {help_text}")


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema (Alembic)."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    upgrade(engine, revision)
    engine.dispose()
    click.echo(f"database at {revision}: {settings.database_url.split('@')[-1]}")


@click.group()
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


@click.group()
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
    rt = runtime_for()
    try:
        add_staff(rt.sessions, email, name, role, password)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    click.echo(f"added {role} {email}")
