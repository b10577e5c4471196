import pytest
from click.testing import CliRunner

from gateway.cli import main

COMMANDS = [
    [], ["run"], ["web"], ["worker"], ["config"], ["db"], ["db", "upgrade"], ["centres"],
    ["centres", "import"], ["centres", "export"], ["staff"], ["staff", "add"], ["staff", "list"], ["staff", "disable"],
    ["staff", "reset-password"], ["simulate"],
    ["broadcast"], ["broadcast", "send"], ["broadcast", "list"], ["broadcast", "status"], ["broadcast", "cancel"],
    ["status"], ["check"], ["backup"], ["restore"], ["privacy"], ["privacy", "export"], ["privacy", "delete"],
    ["demo"], ["demo", "seed"], ["jobs"], ["jobs", "requeue"],
    ["office-status"], ["office-status", "set"], ["office-status", "list"],
    ["questions"], ["questions", "list"], ["questions", "show"], ["questions", "reply"], ["questions", "close"],
    ["questions", "transfer"],
    ["translations"], ["translations", "status"], ["translations", "export"], ["translations", "import"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "thusong")
def test_every_command_explains_itself(args):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20, f"{args}: no explanation"


def test_config_lists_settings_with_help(monkeypatch):
    monkeypatch.setenv("AT_API_KEY", "secret-key")
    monkeypatch.setenv("AT_USERNAME", "sandbox")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    assert "REDIS_URL=" in result.output and "AT_API_KEY=(set)" in result.output
    assert "secret-key" not in result.output


def test_bad_setting_fails_naming_the_variable(monkeypatch):
    monkeypatch.setenv("SIMULATOR_ENABLED", "perhaps")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code != 0 and "SIMULATOR_ENABLED" in result.output


def test_simulate_dials_the_service_in_the_terminal(rt, settings, monkeypatch):
    """`thusong simulate`: the same handler as AT's webhook, screens drawn in the terminal."""
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["simulate", "--phone", "0821234567"], input="1\nSoweto\nq\n")
    assert result.exit_code == 0, result.output
    assert "Thusong Service Centres" in result.output  # the first screen
    assert "Nearest to Soweto" in result.output and "Maponya Mall Thusong" in result.output


def test_every_command_in_the_table_is_listed_and_loads():
    from gateway.cli import COMMANDS as TABLE

    listed = CliRunner().invoke(main, ["--help"]).output
    for name in TABLE:
        assert f"  {name} " in listed, name
    assert {a[0] for a in COMMANDS if a} == set(TABLE)  # the --help walk above covers each


def test_a_worker_does_not_import_the_web_app_or_the_other_commands():
    """Workers start on every deploy and in many tests: importing Flask, gunicorn and the
    staff pages cost each one about a second of CPU before its first job."""
    import subprocess
    import sys

    probe = ("import sys, gateway.cli.worker; print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('flask', 'gunicorn', 'werkzeug', 'flask_login', 'flask_wtf') or m.startswith(('gateway.web', "
             "'gateway.cli.admin', 'gateway.cli.laptop', 'gateway.cli.processes', 'gateway.cli.ops')))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", out
