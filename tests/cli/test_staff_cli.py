"""`thusong staff add|list|disable|reset-password`: the password from standard input or
prompted twice (never an option), each change audited with actor "cli"; and one real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.staff import audit
from gateway.staff.accounts import check_password, find_member
from gateway.store.models import Centre, Staff

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def env(settings, monkeypatch):
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    return settings.as_environ()


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def test_add_with_password_stdin_prompts_nothing(rt, env):
    result = run(["staff", "add", "Admin@Example.org", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "added admin admin@example.org\n"  # no prompt
    member = check_password(rt.sessions, "admin@example.org", PASSWORD)
    assert member.name == "admin"  # the local part of the address
    with rt.sessions() as session:
        assert session.scalar(select(Staff.password_hash)).startswith("$argon2id$")
    event = audit.events(rt.sessions).events[0]
    assert (event.actor, event.action, event.target, event.staff_id) == ("cli", "staff.added", member.email, None)


def test_add_prompts_twice_without_password_stdin(rt, env):
    result = run(["staff", "add", "a@example.org", "--role", "approver", "--name", "Ann"],
                 input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert check_password(rt.sessions, "a@example.org", PASSWORD).name == "Ann"


def test_the_password_option_is_gone():
    result = run(["staff", "add", "a@example.org", "--role", "admin", "--password", PASSWORD])
    assert result.exit_code == 2 and "No such option '--password'" in result.output


def test_clerk_with_several_centres_and_list(seeded, env):
    with seeded.sessions() as session:
        first, second = session.scalars(select(Centre.id).order_by(Centre.id).limit(2))
    args = ["staff", "add", "clerk@example.org", "--role", "clerk", "--centre", str(first),
            "--centre", str(second), "--password-stdin"]
    assert run(args, input=PASSWORD).exit_code == 0
    assert find_member(seeded.sessions, "clerk@example.org").centre_ids == {first, second}
    listing = run(["staff", "list"])
    assert listing.exit_code == 0
    assert f"clerk@example.org\tclerk\tcentres={first},{second}\tactive\tclerk" in listing.output


@pytest.mark.parametrize("args, stdin, message", [
    (["staff", "add", "c@example.org", "--role", "clerk", "--password-stdin"], PASSWORD, "needs at least one centre"),
    (["staff", "add", "c@example.org", "--role", "admin", "--password-stdin"], "short", "at least 10 characters"),
    (["staff", "add", "c@example.org", "--role", "admin", "--password-stdin"], "", "no password on standard input"),
    (["staff", "disable", "nobody@example.org"], None, "no staff account for nobody@example.org"),
], ids=["clerk without centre", "short password", "empty stdin", "unknown account"])
def test_refusals_exit_1_saying_why(rt, env, args, stdin, message):
    result = run(args, input=stdin)
    assert result.exit_code == 1 and message in result.output


def test_duplicate_is_refused(rt, env):
    args = ["staff", "add", "a@example.org", "--role", "admin", "--password-stdin"]
    assert run(args, input=PASSWORD).exit_code == 0
    again = run(args, input=PASSWORD)
    assert again.exit_code == 1 and "already has an account" in again.output


def test_disable_and_reset_password_are_audited(rt, env):
    run(["staff", "add", "a@example.org", "--role", "admin", "--password-stdin"], input=PASSWORD)
    result = run(["staff", "reset-password", "a@example.org", "--password-stdin"], input="another-password\n")
    assert result.exit_code == 0 and check_password(rt.sessions, "a@example.org", "another-password")
    assert run(["staff", "disable", "A@example.org"]).exit_code == 0
    assert check_password(rt.sessions, "a@example.org", "another-password") is None
    assert "disabled" in run(["staff", "list"]).output
    assert [(e.action, e.actor) for e in audit.events(rt.sessions).events] == [
        ("staff.disabled", "cli"), ("staff.password_reset", "cli"), ("staff.added", "cli")]


def test_real_process_reads_the_password_from_stdin(rt, env):
    """`python -m gateway.cli staff add … --password-stdin` in its own process: no terminal, no
    prompt, the password never on the command line."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "staff", "add", "ops@example.org", "--role", "approver",
         "--name", "Ops Desk", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "added approver ops@example.org\n"
    member = check_password(rt.sessions, "ops@example.org", PASSWORD)
    assert member is not None and member.name == "Ops Desk"


def test_a_command_without_the_settings_refuses_instead_of_creating_a_database(tmp_path):
    """``sudo -u thusong thusong staff add`` without the env file: a clear refusal, not an empty
    SQLite file and a traceback quoting the new password's hash."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "staff", "add", "ops@example.gov.za",
                           "--role", "admin", "--password-stdin"], input="a long enough password\n",
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "no database: DATABASE_URL is unset" in done.stderr
    assert "Traceback" not in done.stderr and "argon2" not in done.stderr
    assert not (tmp_path / "instance" / "thusong.db").exists()


def test_production_needs_a_database_url():
    from config import ConfigError, load_settings

    secrets = {name: "x" * 40 for name in ("SECRET_KEY", "WEBHOOK_TOKEN", "METRICS_TOKEN", "ANALYTICS_HASH_KEY")}
    with pytest.raises(ConfigError, match="DATABASE_URL: required when THUSONG_ENV=production"):
        load_settings({"THUSONG_ENV": "production", "REDIS_URL": "redis://127.0.0.1:6379/0", **secrets},
                      dotenv=False)


def test_add_with_invite_asks_no_password_and_prints_a_link_that_sets_one(rt, env, app):
    from gateway.staff import invitations

    result = run(["staff", "add", "Clerkless@Example.org", "--role", "approver", "--invite",
                  "https://thusong.example.gov.za/"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "added approver clerkless@example.org" and "shown once" in lines[1]
    assert lines[2].startswith("https://thusong.example.gov.za/staff/invitation?token=")
    token = lines[2].rsplit("token=", 1)[1]
    with app.test_request_context():
        from flask import url_for

        assert url_for("staff.invitation_page", token=token) == lines[2].removeprefix("https://thusong.example.gov.za")
    assert not find_member(rt.sessions, "clerkless@example.org").password_set
    invitations.accept(rt, token, PASSWORD)
    assert check_password(rt.sessions, "clerkless@example.org", PASSWORD) is not None
    assert [(e.actor, e.action) for e in reversed(audit.events(rt.sessions).events)] == [
        ("cli", "staff.added"), ("cli", "staff.invited"), ("clerkless@example.org", "staff.invitation_used")]
    again = run(["staff", "invite", "clerkless@example.org", "https://thusong.example.gov.za"])
    assert again.exit_code == 0 and again.output.splitlines()[1].rsplit("token=", 1)[1] != token
    assert run(["staff", "invite", "nobody@example.org", "https://x"]).exit_code == 1
    refused = run(["staff", "add", "b@example.org", "--role", "admin", "--invite", "https://x", "--password-stdin"])
    assert refused.exit_code == 2 and find_member(rt.sessions, "b@example.org") is None
