"""Questions end to end, through a real worker process, the fake AT and the ``thusong``
command: a subscribed citizen's ``ASK`` gets a reference; ``questions list --open`` lists it;
``questions reply REF --message …`` reaches the citizen with the reference, from the shortcode
they texted; their follow-up "Cancel my complaint" joins the thread and opts nobody out; a
thread opened at an injected time 10 days ago shows as overdue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.dialogue import questions
from gateway.staff import audit
from gateway.staff import questions as staff
from gateway.store.models import AuditEvent, Citizen
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env, inbound
from tests.workers import running_workers, wait_quiet, wait_until

pytestmark = pytest.mark.slow
PHONE, OTHER = "+27821234567", "+27831112222"


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["questions", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_ask_list_reply_follow_up_and_overdue_end_to_end(seeded, client, settings, monkeypatch):
    for key, value in {**settings.as_environ(), "AT_SHORTCODES": "31234"}.items():
        monkeypatch.setenv(key, value)  # the command's own runtime, as on the server
    soweto = seeded.directory.nearest("Soweto", 1).centres[0].centre.id
    with FakeAT() as fake, running_workers(settings, env=at_env(fake, AT_SHORTCODES="31234")):
        inbound(client, "JOIN Soweto", "ATXid_q1")
        wait_until(lambda: len(fake.requests) == 1)
        inbound(client, "ASK where do I renew my ID?", "ATXid_q2")
        wait_until(lambda: len(fake.requests) == 2)
        ack = fake.requests[1].form["message"]
        ref = re.search(r"Q[2-9]{4}", ack).group(0)
        assert ack == (f"Ref {ref}: your question went to Maponya Mall Thusong. Expect an answer by SMS "
                       "within 2 working days.")

        listed = cli("list", "--open").splitlines()
        assert len(listed) == 1 and listed[0].startswith(f"{ref}\tcentre {soweto}\task\topen\t")
        assert "+2782****567" in listed[0] and PHONE not in listed[0]

        assert cli("reply", ref, "--message", "Bring your old ID and a photo") == \
            f"{ref}: answer queued (1 SMS, R0.25)\n"
        wait_until(lambda: len(fake.requests) == 3)
        answer = fake.requests[2].form
        assert answer["message"] == f"{ref}: Bring your old ID and a photo. Reply STOP to opt out"
        assert (answer["to"], answer.get("from")) == (PHONE, "31234")

        inbound(client, "Cancel my complaint", "ATXid_q3")
        wait_until(lambda: len(fake.requests) == 4)
        assert fake.requests[3].form["message"] == f"Thank you. Your message was added to {ref}."
        wait_quiet(seeded)

    with seeded.sessions() as s:
        assert s.scalar(select(Citizen.opted_out).where(Citizen.phone == PHONE)) is False
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "question.replied")) == "cli"
    thread = staff.read(seeded, audit.CLI, ref)
    assert [(e.kind, e.text) for e in thread.entries] == [
        ("citizen", "where do I renew my ID?"), ("answer", "Bring your old ID and a photo"),
        ("citizen", "Cancel my complaint")]
    assert "\tOVERDUE" not in cli("list")

    old = questions.open_thread(seeded, OTHER, "complain", "No one at the SASSA desk", "en", "sms",
                                now=datetime.now(UTC) - timedelta(days=10)).thread
    overdue = cli("list", "--overdue").splitlines()
    assert len(overdue) == 1 and overdue[0].startswith(f"{old.ref}\tunassigned\tcomplain\topen\t")
    assert overdue[0].endswith("\tOVERDUE")
    assert cli("close", old.ref, "--outcome", "Referred to SASSA") == f"{old.ref}: closed\n"
    assert cli("list", "--overdue") == "no overdue questions\n"
