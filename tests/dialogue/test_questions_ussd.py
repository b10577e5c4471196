"""The USSD "Ask a question" item: one input, the reference on the closing screen and by SMS
at once, routed as by SMS; a retried hop opens nothing twice; past the open-question limit
the item shows the references still waiting instead of the prompt."""

from __future__ import annotations

import re

from sqlalchemy import select

from gateway.sms import consent
from gateway.staff import audit
from gateway.staff import questions as staff
from gateway.store.models import Message
from tests.dialer import Dialer

PHONE = "+27821234567"


def test_asking_on_ussd_gives_the_reference_on_screen_and_by_sms(seeded, client):
    consent.subscribe(seeded, PHONE, seeded.directory.nearest("Kagiso", 1).centres[0].centre.id, "en")
    phone = Dialer(client, PHONE)
    phone.dial()
    assert phone.press("7").startswith("Type your question or complaint:")
    assert phone.press("ok").startswith("Please type a few words:")  # too short: asked again
    screen = phone.press("When does Home Affairs come to Kagiso?")
    assert phone.ended
    ref = re.search(r"Q[2-9]{4}", screen).group(0)
    assert screen == f"Ref {ref}: it went to Kagiso Thusong. Expect an answer by SMS within 2 working days."
    phone.retry()  # AT repeats the hop: the same screen, no second question
    [thread] = staff.inbox(seeded, audit.CLI)
    assert (thread.ref, thread.via, thread.kind) == (ref, "ussd", "ask")
    assert [e.text for e in staff.read(seeded, audit.CLI, ref).entries] == ["When does Home Affairs come to Kagiso?"]
    with seeded.sessions() as s:
        sms = s.scalars(select(Message.text).where(Message.phone == PHONE, Message.direction == "out",
                                                   Message.idempotency_key.like("ussd-ask:%"))).all()
    assert sms == [f"Ref {ref}: your question went to Kagiso Thusong. Expect an answer by SMS within 2 working days."]


def test_at_the_limit_the_item_lists_the_questions_waiting(seeded, client):
    refs = []
    for n in range(3):
        phone = Dialer(client, PHONE)
        phone.dial()
        refs.append(re.search(r"Q[2-9]{4}", phone.press("7", f"question number {n}")).group(0))
    phone = Dialer(client, PHONE)
    phone.dial()
    assert phone.press("7") == f"You have questions waiting: {', '.join(refs)}. We will answer by SMS."
    assert phone.ended
