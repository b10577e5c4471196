"""A broadcast composed while Redis is down (a private redis-server, stopped; the shared one is
never touched): the author is not shown a 500 for a broadcast that then goes anyway. It is
accepted — stored, scheduled, audited as created and sent, shown as on its way — and the
sweeper starts it once Redis is back, exactly as a fan-out job lost in an outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from gateway.sms.sweeper import sweep
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.store.models import Broadcast, utcnow
from tests.broadcasting import add_subscribers, centre_id, send_checked
from tests.redis_process import RedisProcess


@pytest.fixture
def private_redis(seeded, settings):
    """A runtime on the shared database and a private Redis the test may stop."""
    from gateway.runtime import Runtime

    server = RedisProcess().start()
    rt = Runtime.from_settings(settings.with_(REDIS_URL=server.url))
    try:
        yield rt, server
    finally:
        server.stop()
        rt.close()


def test_a_broadcast_composed_while_redis_is_down_is_accepted_audited_and_sent_later(private_redis, auth):
    from gateway.web import create_app
    from tests.conftest import Auth

    rt, server = private_redis
    soweto = centre_id(rt, "Soweto")
    add_subscribers(rt, ["+27824000001", "+27824000002"], soweto)
    app = create_app(runtime=rt)
    app.config["TESTING"] = True
    staff = Auth(app.test_client(), rt)
    admin = staff.as_role("admin")
    server.stop()

    response = send_checked(staff, {"kind": "centre", "centres": [soweto], "language": "",
                                    "message": "Home Affairs on Tuesday.", "when": "now"})
    assert response.status_code == 302, response.status_code
    [row] = bc.list_broadcasts(rt)
    assert response.headers["Location"] == f"/staff/broadcasts/{row.id}"
    assert row.status == "scheduled"
    page = staff.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Broadcast {row.id} is on its way." in page
    actions = [(e.action, e.actor) for e in reversed(audit.events(rt.sessions, "broadcast").events)]
    assert actions == [("broadcast.created", admin.email), ("broadcast.sent", admin.email)]

    server.start()  # Redis is back; the sweeper finds the broadcast whose job was never queued
    lease = timedelta(seconds=rt.settings.SMS_SEND_LEASE_SECONDS + 1)
    with rt.sessions.begin() as s:  # as if the lease had passed since
        s.execute(update(Broadcast).values(scheduled_at=utcnow() - lease, updated_at=utcnow() - lease))
    assert sweep(rt)["fan_outs_restarted"] == 1
    assert rt.queue("bulk").count == 1
