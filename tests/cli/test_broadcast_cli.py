"""``thusong broadcast``: send and status in a subprocess with a real worker, as an operator
types them; the other paths in process (Click's runner: each subprocess costs seconds of imports)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from tests.broadcasting import add_subscribers, centre_id
from tests.workers import ROOT, running_workers


def thusong(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.as_environ()}
    return subprocess.run([sys.executable, "-m", "gateway.cli", "broadcast", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def run(settings, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["broadcast", *args], env=settings.as_environ(), input=input)


@pytest.mark.slow
def test_send_then_status_through_the_command_line(seeded, settings):
    add_subscribers(seeded, [f"+2778{i:07d}" for i in range(30)], centre_id(seeded, "Soweto"))
    sent = thusong(settings, "send", "--to", "province:Gauteng", "--message", "Clinic day Friday.", "--yes")
    assert sent.returncode == 0, sent.stderr
    broadcast_id = int(sent.stdout.strip())
    assert "message:    Thusong: Clinic day Friday. Reply STOP to opt out" in sent.stderr
    assert "recipients: 30 (after opt-outs)" in sent.stderr and "cost:       R7.50" in sent.stderr
    with running_workers(settings):
        status = thusong(settings, "status", str(broadcast_id))  # the bar, until it is done
    assert status.returncode == 0, status.stderr
    assert f"broadcast {broadcast_id} sent: 30/30 done — sent 30" in status.stdout.splitlines()[-1]
    line = run(settings, "status", str(broadcast_id), "--no-wait")
    assert line.output.count("\n") == 1 and line.output.startswith(f"broadcast {broadcast_id} sent")
    assert f"{broadcast_id}  sent" in run(settings, "list").output


def test_a_bad_target_names_what_exists_and_no_is_no(seeded, settings):
    add_subscribers(seeded, [f"+2778{i:07d}" for i in range(3)], centre_id(seeded, "Soweto"))
    bad = run(settings, "send", "--to", "province:Gautang", "--message", "Hello", "--yes")
    assert bad.exit_code == 1 and "provinces: Eastern Cape, Free State, Gauteng" in bad.output
    declined = run(settings, "send", "--to", "province:Gauteng", "--message", "Hello", input="n\n")
    assert declined.exit_code == 1 and "Send to 3 recipients?" in declined.output
    assert bc.list_broadcasts(seeded) == []


def test_a_later_broadcast_says_when_it_starts_and_can_be_cancelled(seeded, settings):
    add_subscribers(seeded, [f"+2779{i:07d}" for i in range(3)], centre_id(seeded, "Soweto"))
    later = run(settings, "send", "--to", "all", "--message", "Office closed", "--at", "2099-01-03T10:00", "--yes")
    assert later.exit_code == 0, later.output
    assert "starts:     2099-01-03 10:00:00 SAST" in later.output
    broadcast_id = bc.list_broadcasts(seeded)[0].id
    assert later.output.rstrip().endswith(str(broadcast_id))
    assert "scheduled, starts 2099-01-03 10:00:00 SAST" in run(settings, "status", str(broadcast_id)).output
    cancelled = run(settings, "cancel", str(broadcast_id))
    assert cancelled.exit_code == 0 and f"broadcast {broadcast_id} cancelled" in cancelled.output
    assert run(settings, "cancel", str(broadcast_id)).exit_code == 1
    events = [(e.action, e.actor, e.target) for e in reversed(audit.events(seeded.sessions, "broadcast").events)]
    assert events == [(f"broadcast.{a}", "cli", f"broadcast {broadcast_id}") for a in ("created", "sent", "cancelled")]
    assert "no broadcast 999999" in run(settings, "status", "999999").output


def test_a_missing_centre_id_points_to_a_command_that_lists_the_ids(seeded, settings):
    bad = run(settings, "send", "--to", "centre:9999", "--message", "Hello", "--yes")
    assert bad.exit_code == 1 and "no centre with id 9999" in bad.output
    named = re.search(r"`thusong ([^`]+)`", bad.output)
    assert named, bad.output
    listing = CliRunner().invoke(main, [*named.group(1).split(), "Kagiso"], env=settings.as_environ())
    assert listing.exit_code == 0, listing.output
    kagiso = centre_id(seeded, "Kagiso")
    assert re.search(rf"^\s*{kagiso}\s+Kagiso Thusong Service Centre\b", listing.output, re.M), listing.output
    assert "Soweto" not in listing.output  # the search narrows the list
    typed_name = run(settings, "send", "--to", "centre:Kagiso", "--message", "Hello", "--yes")
    assert typed_name.exit_code == 1 and named.group(0) in typed_name.output
