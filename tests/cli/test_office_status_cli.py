"""`thusong office-status set --centre ID OFFICE up|slow|down [--note REASON]` and
`office-status list [--centre ID]`: audited with actor cli; a note is a reason code, never free
text; an office the centre lacks is refused saying so."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.directory.centre_csv import import_centres
from gateway.staff import audit
from gateway.store.models import Centre

CSV = "name,province,town,offices\nAlpha Thusong,Gauteng,Soweto,HA;SASSA;POST\n"


@pytest.fixture
def alpha(rt, settings, monkeypatch) -> int:
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    assert not import_centres(rt.sessions, CSV, rt.gazetteer).rejected
    with rt.sessions() as s:
        return s.scalar(select(Centre.id))


def run(*args):
    return CliRunner().invoke(main, ["office-status", *args])


def test_set_then_list(rt, alpha):
    result = run("set", "--centre", str(alpha), "ha", "DOWN", "--note", "offline")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"centre {alpha}\tHA\tdown\toffline (system offline)\tset ")
    assert "by cli\tuntil " in result.output and result.output.endswith(" 00:00 SAST\n")
    assert run("set", "--centre", str(alpha), "SASSA", "slow").exit_code == 0
    listed = run("list").output.splitlines()
    assert [line.split("\t")[1:3] for line in listed] == [["HA", "down"], ["SASSA", "slow"]]
    every = run("list", "--centre", str(alpha)).output.splitlines()
    assert every[-1] == f"centre {alpha}\tPOST\tno news" and len(every) == 3
    events = audit.events(rt.sessions, "office.status_set").events
    assert [(e.actor, e.target) for e in events] == [("cli", f"centre {alpha} SASSA"), ("cli", f"centre {alpha} HA")]


def test_a_free_text_note_is_refused_with_the_codes(rt, alpha):
    result = run("set", "--centre", str(alpha), "HA", "down", "--note", "system is offline")
    assert result.exit_code == 1
    assert "unknown reason 'system is offline': use one of offline (system offline), queue (long queue)" in result.output
    assert run("list").output == "no office statuses in force\n"


def test_an_office_the_centre_lacks_or_a_bad_state_is_refused(rt, alpha):
    lacking = run("set", "--centre", str(alpha), "UIF", "down")
    assert lacking.exit_code == 1 and f"centre {alpha} has no UIF office" in lacking.output
    bad = run("set", "--centre", str(alpha), "HA", "broken")
    assert bad.exit_code == 2 and "'broken' is not one of 'up', 'slow', 'down'" in bad.output
    missing = run("list", "--centre", str(alpha + 1000))
    assert missing.exit_code == 1 and f"no centre {alpha + 1000}" in missing.output
    assert audit.events(rt.sessions, "office.status_set").total == 0
