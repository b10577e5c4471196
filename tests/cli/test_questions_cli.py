"""`thusong questions show|transfer|list --centre`: a thread read whole, moved to another
centre (audited), an unknown reference refused with exit 1 naming it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.dialogue import questions
from gateway.staff import audit

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def env(seeded, settings, monkeypatch):
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    return seeded


def run(*args):
    return CliRunner().invoke(main, ["questions", *args])


def test_show_transfer_and_list_by_centre(env):
    ref = questions.open_thread(env, "+27821234567", "ask", "Soweto: where is SASSA?", "en", "sms",
                                place="Soweto", now=MONDAY).thread.ref
    soweto, kagiso = (env.directory.nearest(p, 1).centres[0].centre.id for p in ("Soweto", "Kagiso"))
    shown = run("show", ref.lower()).output.splitlines()
    assert shown[0].startswith(f"{ref}\tcentre {soweto}\task\topen\t") and "+2782****567" in shown[0]
    assert shown[1].endswith("\tcitizen\tcitizen\tSoweto: where is SASSA?")
    assert run("transfer", ref, "--centre", str(kagiso)).output == f"{ref}: now at centre {kagiso}\n"
    assert run("list", "--centre", str(soweto)).output == "no open questions\n"
    assert run("list", "--centre", str(kagiso)).output.startswith(f"{ref}\tcentre {kagiso}\t")
    assert [e.target for e in audit.events(env.sessions, "question.transferred").events] == [f"question {ref}"]


def test_an_unknown_reference_is_refused(env):
    result = run("reply", "Q9999", "--message", "hello")
    assert result.exit_code == 1 and "no question Q9999" in result.output
