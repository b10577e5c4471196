"""Texts to staff about approvals: only to accounts that asked for them, about events after
they asked, one per item and event, audited without the number, and held to quiet hours as
bulk is (no text at night)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from gateway import jobs
from gateway.sms import sending
from gateway.sms.quiet_hours import fixed_windows_setting
from gateway.staff import broadcasts as bc
from gateway.staff import staff_notices
from gateway.staff.accounts import Member, set_phone
from gateway.store.models import AuditEvent, Message, Staff, utcnow
from tests.approving import broadcast_by, change_by, decide_everything, login, make_office, visit_by
from tests.workers import running_workers, wait_until

PHONES = {"clerk@example.org": "+27825550101", "approver@example.org": "+27825550102",
          "chief@example.org": "+27825550103", "other@example.org": "+27825550104"}


@pytest.fixture
def office(seeded, auth, monkeypatch):
    o = make_office(seeded, auth, monkeypatch)
    for email, phone in PHONES.items():
        set_phone(seeded.sessions, email, phone)
    return o


def texts_on(rt, *members: Member, since: datetime | None = None) -> None:
    for m in members:
        assert staff_notices.set_texts(rt, m, True)
    if since is not None:
        with rt.sessions.begin() as s:
            s.execute(update(Staff).values(notice_texts_since=since))


def texts(rt) -> list[tuple[str, str, str]]:
    """(phone, key, text) of every staff text written, by key."""
    with rt.sessions() as s:
        rows = s.execute(select(Message.phone, Message.idempotency_key, Message.text, Message.queue)
                         .where(Message.idempotency_key.startswith("staff:")).order_by(Message.idempotency_key)).all()
    assert all(q == jobs.QUEUE_BULK for *_r, q in rows)  # held to quiet hours, as bulk is
    return [(p, k, t) for p, k, t, _q in rows]


def test_an_approver_is_texted_once_when_an_item_of_their_centres_waits(office):
    o = office
    texts_on(o.rt, o.approver, o.chief, o.clerk)
    soweto, worcester = broadcast_by(o, o.clerk, o.soweto), visit_by(o, o.other_clerk, o.worcester)
    assert staff_notices.send_due(o.rt) == {"rejected": 0, "waiting": 3}
    sent = texts(o.rt)
    assert {(p, k) for p, k, _t in sent} == {
        (PHONES["approver@example.org"], f"staff:waiting:broadcast:{soweto}:{o.approver.id}"),
        (PHONES["chief@example.org"], f"staff:waiting:broadcast:{soweto}:{o.chief.id}"),
        (PHONES["chief@example.org"], f"staff:waiting:visit:{worcester}:{o.chief.id}")}
    assert all(len(t) <= 160 and "waits for your approval" in t for _p, _k, t in sent)
    assert staff_notices.send_due(o.rt) == {"rejected": 0, "waiting": 0}  # one text per item and event
    assert len(texts(o.rt)) == 3


def test_nobody_is_texted_without_asking_nor_about_what_came_before(office):
    o = office
    broadcast_by(o, o.clerk, o.soweto)
    assert staff_notices.send_due(o.rt) == {"rejected": 0, "waiting": 0}  # nobody asked
    texts_on(o.rt, o.approver)  # after the broadcast started waiting: not texted about it
    assert staff_notices.send_due(o.rt) == {"rejected": 0, "waiting": 0}
    later = broadcast_by(o, o.clerk, o.soweto, "A later one")
    assert staff_notices.send_due(o.rt)["waiting"] == 1
    assert [k for _p, k, _t in texts(o.rt)] == [f"staff:waiting:broadcast:{later}:{o.approver.id}"]


def test_an_account_without_a_phone_or_disabled_gets_no_text(office):
    o = office
    texts_on(o.rt, o.approver, o.chief)
    set_phone(o.rt.sessions, o.approver.email, None)
    with o.rt.sessions.begin() as s:
        s.execute(update(Staff).where(Staff.id == o.chief.id).values(active=False))
    broadcast_by(o, o.clerk, o.soweto)
    assert staff_notices.send_due(o.rt) == {"rejected": 0, "waiting": 0}


def test_an_author_is_texted_when_theirs_is_turned_down_not_when_approved(office, auth):
    o = office
    texts_on(o.rt, o.clerk, o.other_clerk, since=utcnow() - timedelta(minutes=1))
    ids = decide_everything(o, auth)
    assert staff_notices.send_due(o.rt)["rejected"] == 4
    keys = {k for _p, k, _t in texts(o.rt)}
    assert keys == {f"staff:rejected:broadcast:{ids['rejected']}:{o.clerk.id}",
                    f"staff:rejected:visit:{ids['visit']}:{o.clerk.id}",
                    f"staff:rejected:centre_change:{ids['change']}:{o.clerk.id}",
                    f"staff:rejected:visit_cancel:{ids['cancel']}:{o.clerk.id}"}
    by_key = {k: t for _p, k, t in texts(o.rt)}
    said = by_key[f"staff:rejected:broadcast:{ids['rejected']}:{o.clerk.id}"]
    assert said.startswith(f"Thusong: your broadcast {ids['rejected']} was turned down. Reason: Wrong date")
    assert staff_notices.send_due(o.rt)["rejected"] == 0


def test_a_rejection_older_than_the_horizon_is_not_texted(office, auth):
    o = office
    texts_on(o.rt, o.clerk, since=utcnow() - staff_notices.HORIZON - timedelta(days=2))
    decide_everything(o, auth)
    with o.rt.sessions.begin() as s:
        s.execute(update(AuditEvent).where(AuditEvent.action.like("%rejected"))
                  .values(at=utcnow() - staff_notices.HORIZON - timedelta(hours=1)))
        s.execute(update(AuditEvent).where(AuditEvent.action == "visit.cancel_refused")
                  .values(at=utcnow() - staff_notices.HORIZON - timedelta(hours=1)))
    assert staff_notices.send_due(o.rt)["rejected"] == 0


def test_each_text_is_audited_with_the_account_and_item_never_the_number(office):
    o = office
    texts_on(o.rt, o.approver)
    change = change_by(o, o.clerk, o.soweto)
    assert staff_notices.send_due(o.rt)["waiting"] == 1
    with o.rt.sessions() as s:
        rows = s.execute(select(AuditEvent.actor, AuditEvent.target, AuditEvent.detail)
                         .where(AuditEvent.action == "staff.texted")).all()
    assert len(rows) == 1
    actor, target, detail = rows[0]
    assert (actor, target) == ("gateway", o.approver.email)
    assert json.loads(detail)["event"] == "waiting" and json.loads(detail)["item"] == f"centre_change {change}"
    digits = PHONES["approver@example.org"][3:]
    assert digits not in (target + detail)


def test_the_setting_is_audited_and_starts_from_now(office):
    o = office
    before = utcnow()
    assert staff_notices.set_texts(o.rt, o.clerk, True)
    assert not staff_notices.set_texts(o.rt, o.clerk, True)  # already on: nothing changes
    assert staff_notices.texts_since(o.rt, o.clerk) >= before
    assert staff_notices.set_texts(o.rt, o.clerk, False)
    assert staff_notices.texts_since(o.rt, o.clerk) is None
    with o.rt.sessions() as s:
        details = [json.loads(d) for d in s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "staff.changed"))]
    assert details == [{"field": "approval_texts", "from": False, "to": True},
                       {"field": "approval_texts", "from": True, "to": False}]


def test_a_text_due_at_night_waits_for_the_bulk_window(office, monkeypatch):
    """Staff texts are bulk: outside the quiet-hours window the send job sends nothing and
    the row waits, queued, for the window's opening."""
    o = office
    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(o.rt, "settings", o.rt.settings.with_(
        BULK_SCHEDULE=fixed_windows_setting([(tomorrow, tomorrow + timedelta(hours=12))])))
    texts_on(o.rt, o.approver)
    broadcast_by(o, o.clerk, o.soweto)
    assert staff_notices.send_due(o.rt)["waiting"] == 1
    sending.send_pending(o.rt, jobs.QUEUE_REPLIES)
    sending.send_pending(o.rt, jobs.QUEUE_BULK)
    with o.rt.sessions() as s:
        assert s.scalars(select(Message.status).where(Message.idempotency_key.startswith("staff:"))).all() == ["queued"]


def test_my_account_turns_the_texts_on_and_off(office, auth):
    o = office
    login(auth, o.clerk)
    page = auth.client.get("/staff/account").get_data(as_text=True)
    assert 'data-testid="texts-state">Off<' in page and "08:00 and 20:00" in page
    assert auth.post("/staff/account/texts", {"texts": "y"}).status_code == 302
    assert 'data-testid="texts-state">On<' in auth.client.get("/staff/account").get_data(as_text=True)
    assert staff_notices.texts_since(o.rt, o.clerk) is not None
    auth.post("/staff/account/texts", {})
    assert staff_notices.texts_since(o.rt, o.clerk) is None
    token_less = auth.client.post("/staff/account/texts", data={"texts": "y"})  # no CSRF token: nothing changes
    assert token_less.status_code in (200, 302, 400) and staff_notices.texts_since(o.rt, o.clerk) is None


def test_a_rejection_before_the_texts_were_turned_on_is_not_texted(office, auth):
    o = office
    texts_on(o.rt, o.clerk)  # long on: the clerk's rejections are texted
    with o.rt.sessions.begin() as s:
        s.execute(update(Staff).where(Staff.id == o.clerk.id).values(notice_texts_since=utcnow() - timedelta(hours=1)))
    theirs, mine = broadcast_by(o, o.other_clerk, o.worcester), broadcast_by(o, o.clerk, o.soweto)
    login(auth, o.chief)
    for row in (theirs, mine):
        auth.post(f"/staff/broadcasts/{row}/reject", {"seen": bc.seen_digest(bc.get(o.rt, row)), "reason": "No"})
    texts_on(o.rt, o.other_clerk)  # after their broadcast was rejected
    assert staff_notices.send_due(o.rt) == {"rejected": 1, "waiting": 0}
    assert [k for _p, k, _t in texts(o.rt)] == [f"staff:rejected:broadcast:{mine}:{o.clerk.id}"]


@pytest.mark.slow
def test_a_worker_texts_the_approver_after_its_sweep(office, settings):
    """End to end: a real worker's sweep queues the notices job, which writes the text, and the
    bulk send job sends it (recorded as simulated: no SMS account in tests)."""
    o = office
    texts_on(o.rt, o.approver)
    broadcast = broadcast_by(o, o.clerk, o.soweto)
    key = f"staff:waiting:broadcast:{broadcast}:{o.approver.id}"

    def sent() -> str | None:
        with o.rt.sessions() as s:
            status = s.scalar(select(Message.status).where(Message.idempotency_key == key))
        return status if status in ("simulated", "sent", "delivered") else None

    with running_workers(settings, args=("--sweep-every", "0.5")):
        assert wait_until(sent, timeout=60) == "simulated"
    with o.rt.sessions() as s:
        assert s.scalar(select(AuditEvent.target).where(AuditEvent.action == "staff.texted")) == o.approver.email
