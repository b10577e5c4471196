"""What citizens typed comes back in the analytics CSVs as text, never as a formula
(issue 17, item 5): places not found and unrecognised keywords, typed by USSD and SMS, and a
centre's name in the subscribers and centres exports."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select, update

from gateway.sms import inbound as sms_inbound
from gateway.staff import analytics as usage_report
from gateway.store.models import Centre, Citizen, Message, Subscription
from gateway.usage import events
from tests.conftest import TOKEN
from tests.dialer import Dialer

PHONE = "+27821234567"
TYPED_USSD = '=HYPERLINK("http://evil.example","Click")'
TYPED_SMS = ["CENTRE +cmd|' /C calc'!A0", "@SUM(1+1)|cmd", "-2+3+cmd|' /C calc'!A0"]
CENTRE_NAME = "=cmd|' /C calc'!A0"
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _sms(client, rt, text: str, n: int) -> None:
    resp = client.post(f"/webhooks/at/sms?token={TOKEN}", data={
        "from": PHONE, "to": "31234", "text": text, "date": "2026-11-22 10:00:00", "id": f"ATXid_csv{n}",
        "linkId": "l1", "networkCode": "65501"})
    assert resp.status_code == 200
    with rt.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.at_message_id == f"ATXid_csv{n}"))
    sms_inbound.process(rt, message_id)


def _csv(client, key: str) -> list[list[str]]:
    resp = client.get(f"/staff/analytics/{key}.csv?days=7")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


def test_what_citizens_typed_is_text_in_every_analytics_csv(seeded, client, auth):
    phone = Dialer(client, PHONE)
    phone.dial()
    phone.press("1")
    phone.press(TYPED_USSD)
    for n, text in enumerate(TYPED_SMS):
        _sms(client, seeded, text, n)
    events.drain(seeded)
    with seeded.sessions.begin() as s:
        centre_id = s.scalar(select(Centre.id).order_by(Centre.id).limit(1))
        s.execute(update(Centre).where(Centre.id == centre_id).values(name=CENTRE_NAME))
        citizen = Citizen(phone="+27829990001")
        s.add(citizen)
        s.flush()
        s.add(Subscription(citizen_id=citizen.id, centre_id=centre_id))
    auth.as_role("admin")
    not_found = _csv(client, "not_found")
    assert {row[0] for row in not_found[1:]} == {"'" + TYPED_USSD.lower(), "'+cmd|' /c calc'!a0"}
    keywords = _csv(client, "keywords")
    assert {row[0] for row in keywords[1:]} >= {"'@sum(1+1)|cmd", "'-2+3+cmd|'"}
    subscribers = _csv(client, "subscribers")
    assert ["'" + CENTRE_NAME] == [row[0] for row in subscribers[1:]]
    exported = list(csv.reader(io.StringIO(client.get("/staff/centres/export.csv").get_data(as_text=True))))
    assert "'" + CENTRE_NAME in {row[0] for row in exported}
    for key in usage_report.keys():
        for row in _csv(client, key):
            for cell in row:
                assert cell[:1] not in "=+-@\t\r" or _PLAIN_NUMBER.fullmatch(cell), (key, cell)
