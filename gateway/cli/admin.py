"""Administration commands: ``config``, ``db upgrade``, ``centres import|export`` and
``staff add|invite|list|disable|reset-password|set-phone`` (each staff change writes an audit row whose actor
is ``cli``). Each builds the runtime it needs and closes it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import Progress

from config import describe_settings, env_template, mask_phone
from gateway.cli.common import runtime_for, settings_or_exit
from gateway.staff import audit
from gateway.staff.accounts import (
    ROLES,
    StaffError,
    add_staff,
    find_member,
    list_staff,
    reset_password,
    set_active,
    set_phone,
)
from gateway.staff.centres import export_csv, import_csv, search_centres
from gateway.staff.invitations import invite
from gateway.store.engine import make_engine, upgrade
from gateway.web.staff.invitations import invitation_link


@click.command("config")
@click.option("--template", is_flag=True,
              help="Print an environment file naming every setting with its help and default instead.")
def config_cmd(template: bool) -> None:
    """Print every setting, its current value (secrets hidden) and what it does."""
    if template:
        click.echo(env_template(), nl=False)
        return
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
    """List the centres with their ids; import and export the directory (CSV)."""


@centres.command("list")
@click.argument("search", required=False, default="")
def centres_list(search: str) -> None:
    """Each centre's id, name, town and province (the ids `broadcast send --to centre:ID` and
    `staff add --centre ID` take); SEARCH keeps those whose name, town or province contains it."""
    rt = runtime_for()
    try:
        found = search_centres(rt, audit.CLI, search)
    finally:
        rt.close()
    if not found:
        raise click.ClickException(f"no centre matches {search!r}")
    width = len(str(max(c.id for c in found)))
    for c in found:
        where = ", ".join(v for v in (c.town, c.province) if v)
        click.echo(f"{c.id:>{width}}  {c.name}" + (f"  ({where})" if where else "") + ("" if c.active else "  [inactive]"))


def _print_report(report) -> None:
    click.echo(f"inserted {report.inserted}, updated {report.updated}, unchanged {report.unchanged}, "
               f"rejected {report.rejected_rows}")
    for line, name, reason in report.rejected:
        click.echo(f"  rejected line {line}: {name or '(no name)'}: {reason}", err=True)
    for line, name, reason in report.warnings:
        click.echo(f"  warning line {line}: {name}: {reason}", err=True)


@centres.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--dry-run", is_flag=True, help="Check every row and report what would change; write nothing.")
def centres_import(file: str, quiet: bool, dry_run: bool) -> None:
    """Upsert centres from FILE (the export's columns; a file with only the seed's still imports).

    Re-runnable: rows are matched by name. Bad rows are reported by line number and skipped;
    the good rows are written in one transaction (audited as ``csv.imported``, and every
    running process reloads its directory within a second). Exit status 1 if any row was
    rejected, with or without --dry-run.
    """
    try:
        # Bytes, then text: read_text would turn a bare carriage return inside a row into a
        # line end, splitting the row in two instead of refusing it.
        text = Path(file).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text: save it from the spreadsheet as "
                                   "\"CSV UTF-8\"") from None
    rt = runtime_for()
    try:
        rows = max(text.count("\n") - 1, 1)
        with Progress(disable=quiet or rows < 200, transient=True) as bar:
            task = bar.add_task("checking" if dry_run else "importing", total=rows)
            report = import_csv(rt, audit.CLI, text, dry_run, source=Path(file).name,
                                progress=lambda n: bar.advance(task, n))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()
    if dry_run:
        click.echo("dry run, nothing written: ", nl=False)
    _print_report(report)
    if report.rejected:
        sys.exit(1)


@centres.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
def centres_export(file: str | None) -> None:
    """Write every centre as CSV to FILE (or standard output), in the import's columns."""
    rt = runtime_for()
    try:
        text = export_csv(rt, audit.CLI)
    finally:
        rt.close()
    if file:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} centres to {file}", err=True)
    else:
        click.echo(text, nl=False)


@click.group()
def staff() -> None:
    """Staff dashboard accounts: add, list, disable, reset a password, set a mobile number."""


def _password(from_stdin: bool) -> str:
    """The password from standard input (first line, nothing prompted) or prompted twice.
    Never an option: a command line shows in the process list."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account_change(change):
    """``change(rt)`` with a runtime built for it and closed after; a refusal exits cleanly."""
    rt = runtime_for()
    try:
        return change(rt)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()


@staff.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="clerk works for their centres, approver approves broadcasts, admin does everything.")
@click.option("--centre", "centre_ids", type=int, multiple=True, metavar="ID",
              help="A centre the account works for (repeat for several; a clerk needs one).")
@click.option("--name", default="", help="Full name shown in the dashboard [default: the email's local part].")
@click.option("--phone", default=None, metavar="NUMBER",
              help="The person's mobile number (e.g. 082 123 4567; stored as +27821234567); no other account may have it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input; prompt for nothing.")
@click.option("--invite", "invite_url", default=None, metavar="DASHBOARD_URL",
              help="Set no password: print a one-time set-password link on the dashboard at DASHBOARD_URL "
                   "(e.g. https://thusong.example.gov.za) for the person to set their own.")
def staff_add(email: str, role: str, centre_ids: tuple[int, ...], name: str, phone: str | None,
              password_stdin: bool, invite_url: str | None) -> None:
    """Create a staff account (password stored as an argon2 hash).

    Without --password-stdin the password is prompted twice; with --invite none is asked for.
    """
    if invite_url and password_stdin:
        raise click.UsageError("--invite and --password-stdin exclude each other")
    password = None if invite_url else _password(password_stdin)

    def add(rt):
        member = add_staff(rt.sessions, email, name, role, password, centre_ids, phone)
        audit.record(rt, audit.CLI, "staff.added", target=member.email,
                     detail={"role": member.role, "centres": sorted(member.centre_ids),
                             "phone": member.phone and mask_phone(member.phone)})
        return member, invite(rt, member, audit.CLI) if invite_url else None

    member, invitation = _account_change(add)
    click.echo(f"added {member.role} {member.email}")
    if invitation is not None:
        _print_link(invitation, invite_url)


def _print_link(invitation, dashboard_url: str) -> None:
    click.echo(f"set-password link (shown once; works once, until "
               f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):")
    click.echo(invitation_link(dashboard_url, invitation.token))


@staff.command("invite")
@click.argument("email")
@click.argument("dashboard_url")
def staff_invite(email: str, dashboard_url: str) -> None:
    """Print a new one-time set-password link for EMAIL on the dashboard at DASHBOARD_URL; any
    earlier link stops working. The current password (if any) works until the link is used."""

    def make(rt):
        member = find_member(rt.sessions, email)
        if member is None:
            raise StaffError(f"no staff account for {email.strip().lower()}")
        return invite(rt, member, audit.CLI)

    _print_link(_account_change(make), dashboard_url)


@staff.command("list")
def staff_list() -> None:
    """Every staff account: email, role, centres, active or disabled, name, phone (masked)."""
    rt = runtime_for()
    try:
        members = list_staff(rt.sessions)
    finally:
        rt.close()
    for m in members:
        centres = ",".join(map(str, sorted(m.centre_ids))) or "-"
        phone = mask_phone(m.phone) if m.phone else "-"
        click.echo(f"{m.email}\t{m.role}\tcentres={centres}\t{'active' if m.active else 'disabled'}\t{m.name}"
                   f"\tphone={phone}")


@staff.command("disable")
@click.argument("email")
def staff_disable(email: str) -> None:
    """Disable an account: it can no longer log in, and its open sessions end."""

    def disable(rt):
        member = set_active(rt.sessions, email, False)
        audit.record(rt, audit.CLI, "staff.disabled", target=member.email)
        return member

    click.echo(f"disabled {_account_change(disable).email}")


@staff.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input; prompt for nothing.")
def staff_reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password for an account (prompted twice unless --password-stdin)."""
    password = _password(password_stdin)

    def reset(rt):
        member = reset_password(rt.sessions, email, password)
        audit.record(rt, audit.CLI, "staff.password_reset", target=member.email)
        return member

    click.echo(f"new password set for {_account_change(reset).email}")


@staff.command("set-phone")
@click.argument("email")
@click.argument("number", required=False)
@click.option("--clear", is_flag=True, help="Remove the account's mobile number.")
def staff_set_phone(email: str, number: str | None, clear: bool) -> None:
    """Set an account's mobile number (NUMBER, e.g. 082 123 4567), or remove it (--clear)."""
    if bool(number) == clear:
        raise click.UsageError("give a NUMBER or --clear (not both)")

    def change(rt):
        done = set_phone(rt.sessions, email, None if clear else number)
        if done.changed:
            audit.record(rt, audit.CLI, "staff.changed", target=done.member.email, detail=done.detail)
        return done.member

    member = _account_change(change)
    shown = f"set to {mask_phone(member.phone)}" if member.phone else "cleared"
    click.echo(f"phone of {member.email} {shown}")
