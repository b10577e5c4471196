"""Delivery reports matched to outbox rows: precedence, the reconciliation rule for sends
whose outcome was unknown, a report naming another number, and waiting reports that expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from gateway.channels.africastalking import DeliveryReport
from gateway.sms import consent, delivery, sweeper
from gateway.store.models import Message, PendingDeliveryReport, insert_message, utcnow

A, B = "+27821230001", "+27821230002"


def report(at_id: str, phone: str | None, status: str = "delivered", at_status: str = "Success",
           reason: str | None = None) -> DeliveryReport:
    return DeliveryReport(at_id, at_status, status, phone, "65501", reason, 0)


def row(rt, phone: str, status: str, at_id: str | None = None, attempted_ago: float | None = 5.0) -> int:
    attempted = utcnow() - timedelta(seconds=attempted_ago) if attempted_ago is not None else None
    key = f"t:{phone}:{status}:{at_id}:{attempted_ago}"
    return insert_message(rt.engine, direction="out", idempotency_key=key, phone=phone, text="Clinic day",
                          queue="replies", status=status, at_message_id=at_id, attempts=1,
                          attempted_at=attempted, updated_at=attempted or utcnow())


def status_of(rt, message_id: int) -> tuple[str, str | None]:
    with rt.sessions() as s:
        m = s.get(Message, message_id)
        return m.status, m.at_message_id


def test_every_report_for_an_unrecorded_id_counts_by_precedence(rt):
    """'Sent' then 'Success' for an id we have not recorded yet: when the id is recorded the
    row ends delivered (the later, stronger report is not dropped)."""
    mid = row(rt, A, "sending")
    assert delivery.apply_delivery(rt, report("ATXid_p1", A, "sent", "Sent")) == "stored-for-matching"
    assert delivery.apply_delivery(rt, report("ATXid_p1", A, "delivered", "Success")) == "stored-for-matching"
    assert delivery.apply_delivery(rt, report("ATXid_p1", A, "sent", "Buffered")) == "stored-for-matching"
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == mid).values(status="sent", at_message_id="ATXid_p1"))
        delivery.apply_pending_reports(s, ["ATXid_p1"])
    assert status_of(rt, mid) == ("delivered", "ATXid_p1")


def test_a_report_settles_an_unknown_send_only_when_it_is_the_only_one_in_its_window(rt):
    first, second = row(rt, A, "unknown", attempted_ago=20), row(rt, A, "unknown", attempted_ago=10)
    assert delivery.apply_delivery(rt, report("ATXid_r1", A)) == "stored-for-matching"
    assert status_of(rt, first) == ("unknown", None) and status_of(rt, second) == ("unknown", None)
    sweeper.sweep(rt)  # the sweeper follows the same rule
    assert status_of(rt, first)[0] == "unknown" and status_of(rt, second)[0] == "unknown"


def test_an_unknown_send_outside_the_reports_window_is_not_settled_by_it(rt):
    window = rt.settings.SMS_RECONCILE_SECONDS
    old = row(rt, A, "unknown", attempted_ago=window * 3)
    recent = row(rt, A, "unknown", attempted_ago=5)
    assert delivery.apply_delivery(rt, report("ATXid_r2", A)) == "delivered"
    assert status_of(rt, recent) == ("delivered", "ATXid_r2")
    assert status_of(rt, old) == ("unknown", None)


def test_a_report_in_the_last_stretch_of_an_unknown_sends_wait_settles_it_and_it_is_not_resent(rt):
    """The sweeper made the send unknown a lease after it left, and resends it a reconcile window
    after that. Its report comes more than a window after the send left, yet before the resend:
    it settles the row, by the report itself and by the sweeper's look at waiting reports."""
    window, lease = rt.settings.SMS_RECONCILE_SECONDS, rt.settings.SMS_SEND_LEASE_SECONDS
    direct, stored = row(rt, A, "unknown", attempted_ago=window + lease / 2), row(rt, B, "sending", attempted_ago=window + lease / 2)
    became_unknown = utcnow() - timedelta(seconds=window - lease / 2)  # still waiting
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == direct).values(updated_at=became_unknown))
    assert delivery.apply_delivery(rt, report("ATXid_late1", A)) == "delivered"
    assert delivery.apply_delivery(rt, report("ATXid_late2", B)) == "stored-for-matching"  # still 'sending'
    with rt.sessions.begin() as s:  # the holder died; the sweeper took its lease just now
        s.execute(update(Message).where(Message.id == stored).values(updated_at=utcnow() - timedelta(seconds=lease + 1)))
    sweeper.sweep(rt)
    assert status_of(rt, direct) == ("delivered", "ATXid_late1")
    assert status_of(rt, stored) == ("delivered", "ATXid_late2")


def test_a_report_naming_another_number_changes_nothing_and_opts_nobody_out(rt):
    mid = row(rt, A, "sent", at_id="ATXid_m1")
    outcome = delivery.apply_delivery(rt, report("ATXid_m1", B, "failed", "Failed", "UserInBlackList"))
    assert outcome == "phone-mismatch"
    assert status_of(rt, mid) == ("sent", "ATXid_m1")
    assert not consent.is_opted_out(rt, A) and not consent.is_opted_out(rt, B)


def test_an_early_report_naming_another_number_leaves_the_row_unchanged(rt):
    """A report that beat our write of AT's id waits; when the id is recorded on number A's row,
    a report naming number B changes nothing (it is dropped, not applied)."""
    mid = row(rt, A, "sending")
    assert delivery.apply_delivery(rt, report("ATXid_e1", B, "failed", "Failed", "DeliveryFailure")) \
        == "stored-for-matching"
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.id == mid).values(status="sent", at_message_id="ATXid_e1"))
        assert delivery.apply_pending_reports(s, ["ATXid_e1"]) == 1
    assert status_of(rt, mid) == ("sent", "ATXid_e1")
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PendingDeliveryReport)) == 0


def _count_statements(engine):
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("waiting", [10, 300])
def test_waiting_reports_are_matched_in_a_fixed_number_of_queries(rt, waiting):
    """The sweep's cost does not grow with the number of waiting reports (it was one query each)."""
    with rt.sessions.begin() as s:
        s.add_all([PendingDeliveryReport(at_message_id=f"ATXid_w{i}", phone=f"+2782124{i:04d}", status="delivered",
                                         at_status="Success") for i in range(waiting)])
    seen, stop = _count_statements(rt.engine)
    try:
        delivery.settle_unknown_from_reports(rt)
        delivery.apply_all_pending_reports(rt)
    finally:
        stop()
    assert len(seen) <= 12, len(seen)


def test_waiting_reports_expire_after_their_window(rt):
    window = timedelta(seconds=rt.settings.SMS_RECONCILE_SECONDS)
    with rt.sessions.begin() as s:
        s.add(PendingDeliveryReport(at_message_id="ATXid_old", phone=A, status="delivered", at_status="Success",
                                    received_at=utcnow() - 3 * window))
        s.add(PendingDeliveryReport(at_message_id="ATXid_new", phone=B, status="delivered", at_status="Success"))
    sweeper.sweep(rt)
    with rt.sessions() as s:
        left = set(s.scalars(select(PendingDeliveryReport.at_message_id)))
        assert s.scalar(select(func.count()).select_from(PendingDeliveryReport)) == 1
    assert left == {"ATXid_new"}
