"""``/metrics`` for operations (issue 11, item 5): queue depths, unsent outbox rows by status,
the age of the oldest unsent reply and bulk row, delivery-report lag, broadcast progress and
USSD apologies — each read from a real scrape and compared with counts taken independently."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from gateway import jobs
from gateway.sms import sending
from gateway.sms.outbox import queue_sms
from gateway.staff import broadcasts as bc
from gateway.store.models import Message, PendingDeliveryReport, utcnow
from gateway.ussd import hop as ussd_hop
from tests.broadcasting import add_subscribers, centre_id
from tests.conftest import TOKEN
from tests.dialer import Dialer
from tests.fake_at import FakeAT, at_runtime

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "thusong-alerts.yml"


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape: (name, sorted labels) → value."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True)) for s in family.samples}


def test_backlog_gauges_equal_the_rows(seeded, client):
    soweto = centre_id(seeded, "Soweto")
    add_subscribers(seeded, [f"+2772{i:07d}" for i in range(40)], soweto)
    row = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{soweto}", "Clinic Friday.").id)
    bc.fan_out(seeded, row.id)
    for i in range(3):
        queue_sms(seeded, f"+2773{i:07d}", "Your reply.", key=f"test-reply:{i}")
    with seeded.sessions.begin() as s:  # one reply waits 90 s, a few bulk rows wait to retry
        s.execute(update(Message).where(Message.idempotency_key == "test-reply:0")
                  .values(created_at=utcnow() - timedelta(seconds=90)))
        ids = s.scalars(select(Message.id).where(Message.broadcast_id == row.id).limit(5)).all()
        s.execute(update(Message).where(Message.id.in_(ids)).values(status="retry"))
        s.add(PendingDeliveryReport(at_message_id="ATXid_wait", phone="+27721234567", status="delivered",
                                    at_status="Success"))
    got = scrape(client)
    with seeded.sessions() as s:
        unsent = dict(((q, st), n) for q, st, n in s.execute(
            select(Message.queue, Message.status, func.count()).where(Message.direction == "out")
            .group_by(Message.queue, Message.status)))
    assert unsent == {("replies", "queued"): 3, ("bulk", "queued"): 35, ("bulk", "retry"): 5}
    for (queue, status), n in unsent.items():
        assert got[("thusong_outbox_unsent", (("queue", queue), ("status", status)))] == n
    assert 89 <= got[("thusong_sms_oldest_unsent_seconds", (("queue", "replies"),))] < 120
    assert 0 <= got[("thusong_sms_oldest_unsent_seconds", (("queue", "bulk"),))] < 30
    assert got[("thusong_queue_jobs", (("queue", "replies"),))] == seeded.queue("replies").count >= 1
    assert got[("thusong_queue_jobs", (("queue", "bulk"),))] == seeded.queue("bulk").count
    assert got[("thusong_sms_delivery_reports_waiting", ())] == 1
    b = str(row.id)
    assert got[("thusong_broadcast_recipients", (("broadcast", b), ("status", "sending")))] == 40
    assert got[("thusong_broadcast_messages", (("broadcast", b), ("status", "queued")))] == 35
    assert got[("thusong_broadcast_messages", (("broadcast", b), ("status", "retry")))] == 5


def test_nothing_waiting_reads_zero(rt, client):
    got = scrape(client)
    assert got[("thusong_sms_oldest_unsent_seconds", (("queue", "replies"),))] == 0
    assert not [k for k in got if k[0] in ("thusong_outbox_unsent", "thusong_broadcast_messages")]


def test_a_hop_ended_by_an_error_counts_one_apology(seeded, client, monkeypatch):
    def broken(rt, hop):
        raise RuntimeError("a bug")

    before = scrape(client)
    Dialer(client).dial()  # a good hop: no apology
    monkeypatch.setattr(ussd_hop, "_answer", broken)
    screen = Dialer(client, "+27820000001", failure_expected=True).dial()
    assert "sorry" in screen.lower()
    after = scrape(client)
    key = ("thusong_ussd_apologies_total", ())
    assert after[key] - before.get(key, 0) == 1
    hops = sum(v for (name, _l), v in after.items() if name == "thusong_ussd_hops_total")
    hops_before = sum(v for (name, _l), v in before.items() if name == "thusong_ussd_hops_total")
    assert hops - hops_before == 2


def test_delivery_report_lag_is_the_time_from_send_to_report(seeded, client):
    with FakeAT() as fake:
        queue_sms(seeded, "+27821234567", "Hello.", key="lag-1")
        assert sending.send_pending(at_runtime(seeded, fake), jobs.QUEUE_REPLIES) == 1
    with seeded.sessions.begin() as s:
        s.execute(update(Message).where(Message.idempotency_key == "lag-1")
                  .values(attempted_at=utcnow() - timedelta(seconds=42)))
        at_id = s.scalar(select(Message.at_message_id).where(Message.idempotency_key == "lag-1"))
    before = scrape(client)
    for status in ("Success", "Success"):  # AT repeats itself: counted once
        resp = client.post(f"/webhooks/at/sms/delivery?token={TOKEN}", data={
            "id": at_id, "status": status, "phoneNumber": "+27821234567", "networkCode": "65501", "retryCount": "0"})
        assert resp.status_code == 200
    after = scrape(client)
    count = ("thusong_sms_delivery_report_lag_seconds_count", ())
    total = ("thusong_sms_delivery_report_lag_seconds_sum", ())
    assert after[count] - before.get(count, 0) == 1
    assert 42 <= after[total] - before.get(total, 0) < 60
    le_60 = ("thusong_sms_delivery_report_lag_seconds_bucket", (("le", "60.0"),))
    le_30 = ("thusong_sms_delivery_report_lag_seconds_bucket", (("le", "30.0"),))
    assert after[le_60] - before.get(le_60, 0) == 1 and after[le_30] - before.get(le_30, 0) == 0


# --- the shipped alert rules ------------------------------------------------------------


def test_the_operating_alerts_read_the_series_they_mean(seeded, client):
    """The replies alert reads the replies queue's oldest unsent age at 60 s; the apologies
    alert compares apologies with hops (deploy/prometheus/thusong-alerts.yml, the one file)."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = {r["alert"]: r["expr"] for group in rules["groups"] for r in group["rules"]}
    assert "thusong_ussd_apologies_total[5m]" in alerts["ThusongUssdApologies"]
    assert "thusong_ussd_hops_total[5m]" in alerts["ThusongUssdApologies"] and "0.01" in alerts["ThusongUssdApologies"]
    assert 'thusong_sms_oldest_unsent_seconds{queue="replies"}) > 60' in alerts["ThusongReplyWaiting"]
    assert 'thusong_workers_alive{queue="replies"}' in alerts["ThusongNoWorker"]


@pytest.mark.slow
def test_the_fleet_is_on_metrics_workers_scheduler_and_failed_jobs(seeded, client, settings):
    """A real worker process: it counts on both queues and its scheduler beats; once it stops,
    none counts and no scheduler holds a queue (+Inf); a failed job shows its age."""
    from math import isinf

    from tests.workers import running_workers, start_worker, wait_until

    alive = ("thusong_workers_alive", (("queue", "replies"),))
    beat = ("thusong_scheduler_heartbeat_age_seconds", (("queue", "replies"),))
    with running_workers(settings, 1):
        seen = wait_until(lambda: (lambda m: m if m.get(alive) == 1 and m.get(beat, 1e9) < 30 else None)(
            scrape(client)), timeout=30)
        assert seen[("thusong_workers_alive", (("queue", "bulk"),))] == 1
    wait_until(lambda: scrape(client)[alive] == 0, timeout=30)  # a stopped worker unregisters
    seeded.redis.delete("rq:scheduler-lock:replies", "rq:scheduler-lock:bulk")  # its lock's TTL, at once
    assert isinf(scrape(client)[beat])

    failed = ("thusong_failed_job_oldest_age_seconds", (("queue", "bulk"),))
    assert scrape(client)[failed] == 0
    seeded.queue(jobs.QUEUE_BULK).enqueue("workers.health.missing", job_timeout=30)
    assert start_worker(settings, "--burst").wait(timeout=60) == 0
    assert scrape(client)[failed] > 0 and scrape(client)[("thusong_queue_failed_jobs", (("queue", "bulk"),))] == 1
    seeded.queue(jobs.QUEUE_BULK).failed_job_registry.remove(
        seeded.queue(jobs.QUEUE_BULK).failed_job_registry.get_job_ids()[0], delete_job=True)
