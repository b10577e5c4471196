"""Prometheus metrics the product exposes on ``/metrics`` (prometheus-client).

Counters and histograms here count in the process that serves ``/metrics`` (every web
worker's, added up). What the RQ workers know lives in Redis and is read at scrape time by
:class:`SharedState`, so it is the same whichever web worker answers; what the database knows
(the outbox's backlog, running broadcasts) is read at scrape time by :class:`BacklogState`.

Series (``thusong_`` prefix): ``ussd_hops_total{outcome}``, ``ussd_hop_seconds``,
``ussd_apologies_total`` (hops ended by an error), ``sms_inbound_total{outcome}``,
``sms_inbound_group_rows`` (inbound SMS that shared one commit),
``sms_delivery_report_lag_seconds`` (send → final report, for reports the web app applies),
``sms_credit_paused``, ``sms_insufficient_balance_total``; at scrape time
``queue_jobs{queue}``, ``queue_failed_jobs{queue}``, ``outbox_unsent{queue,status}``,
``sms_oldest_unsent_seconds{queue}`` (0 when nothing waits),
``sms_delivery_reports_waiting``, ``broadcast_recipients{broadcast,status}`` and
``broadcast_messages{broadcast,status}``; from RQ's records in Redis (:class:`FleetState`)
``workers_alive{queue}``, ``scheduler_heartbeat_age_seconds{queue}`` (``+Inf``: no scheduler
holds the queue) and ``failed_job_oldest_age_seconds{queue}`` (0: none failed).
"""

from datetime import UTC, datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

USSD_HOPS = Counter("thusong_ussd_hops_total", "USSD hops answered", ["outcome"])
USSD_SECONDS = Histogram("thusong_ussd_hop_seconds", "Time to answer a USSD hop",
                         buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
USSD_APOLOGIES = Counter("thusong_ussd_apologies_total",
                         "USSD hops ended with an apology because something failed (also counted in hops)")
SMS_INBOUND = Counter("thusong_sms_inbound_total", "Inbound SMS webhooks", ["outcome"])
SMS_INBOUND_GROUP = Histogram("thusong_sms_inbound_group_rows",
                              "Inbound SMS stored by one commit (gateway.store.group_commit)",
                              buckets=(1, 2, 4, 8, 16, 32, 64, 100))
DELIVERY_REPORT_LAG = Histogram(
    "thusong_sms_delivery_report_lag_seconds",
    "From the send to AT's final delivery report (delivered or failed), for reports matched on arrival",
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600))


class SharedState:
    """A collector over ``read()`` → an object with ``paused`` and ``refusals`` (the credit
    state, :func:`gateway.sms.credit.state`). A failing read yields nothing: a scrape without
    these series says Redis could not be read."""

    def __init__(self, read):
        self._read = read

    def collect(self):
        try:
            credit = self._read()
        except Exception:
            return
        yield GaugeMetricFamily("thusong_sms_credit_paused",
                                "1 while bulk SMS are paused because AT answered 405 (out of credit)",
                                value=1 if credit.paused else 0)
        yield CounterMetricFamily("thusong_sms_insufficient_balance",
                                  "Recipients AT refused with 405 InsufficientBalance", value=credit.refusals)


class BacklogState:
    """A collector over ``read()`` → a :class:`gateway.sms.backlog.Backlog`, read at scrape
    time. A failing read (database or Redis down) yields nothing, as :class:`SharedState`."""

    def __init__(self, read, now=lambda: datetime.now(UTC)):
        self._read, self._now = read, now

    def collect(self):
        try:
            backlog = self._read()
        except Exception:
            return
        now = self._now()
        queued = GaugeMetricFamily("thusong_queue_jobs", "RQ jobs waiting in each queue", labels=["queue"])
        failed = GaugeMetricFamily("thusong_queue_failed_jobs", "RQ jobs in each queue's failed registry",
                                   labels=["queue"])
        for name, n in backlog.queued_jobs.items():
            queued.add_metric([name], n)
        for name, n in backlog.failed_jobs.items():
            failed.add_metric([name], n)
        unsent = GaugeMetricFamily("thusong_outbox_unsent",
                                   "Outbound SMS rows not yet handed to AT (or outcome unknown), by queue and status",
                                   labels=["queue", "status"])
        for (queue, status), n in sorted(backlog.unsent.items()):
            unsent.add_metric([queue, status], n)
        oldest = GaugeMetricFamily("thusong_sms_oldest_unsent_seconds",
                                   "Age of the oldest unsent outbound SMS in each queue (0: none waits)",
                                   labels=["queue"])
        for queue, at in backlog.oldest_unsent.items():
            oldest.add_metric([queue], max(0.0, (now - at).total_seconds()) if at else 0.0)
        recipients = GaugeMetricFamily("thusong_broadcast_recipients",
                                       "Recipients of each broadcast being sent or paused", labels=["broadcast", "status"])
        rows = GaugeMetricFamily("thusong_broadcast_messages",
                                 "Outbox rows of each broadcast being sent or paused, by row status",
                                 labels=["broadcast", "status"])
        for b in backlog.broadcasts:
            recipients.add_metric([str(b.id), b.status], b.recipients)
            for status, n in sorted(b.rows.items()):
                rows.add_metric([str(b.id), status], n)
        yield from (queued, failed, unsent, oldest, recipients, rows)
        yield GaugeMetricFamily("thusong_sms_delivery_reports_waiting",
                                "Delivery reports kept until their message's AT id is recorded",
                                value=backlog.reports_waiting)


class FleetState:
    """A collector over ``read()`` → a :class:`gateway.fleet.Fleet`, read at scrape time. A
    failing read (Redis down) yields nothing, as :class:`SharedState`."""

    def __init__(self, read):
        self._read = read

    def collect(self):
        try:
            fleet = self._read()
        except Exception:
            return
        alive = GaugeMetricFamily("thusong_workers_alive", "RQ workers registered on each queue (a killed "
                                  "worker drops out when its registration expires)", labels=["queue"])
        beat = GaugeMetricFamily("thusong_scheduler_heartbeat_age_seconds",
                                 "Seconds since the RQ scheduler holding each queue last beat (+Inf: none holds it)",
                                 labels=["queue"])
        failed = GaugeMetricFamily("thusong_failed_job_oldest_age_seconds",
                                   "Age of the oldest job in each queue's failed registry (0: none)", labels=["queue"])
        for queue, n in fleet.workers.items():
            alive.add_metric([queue], n)
        for queue, age in fleet.scheduler_age.items():
            beat.add_metric([queue], age)
        for queue, age in fleet.oldest_failed_age.items():
            failed.add_metric([queue], age)
        yield from (alive, beat, failed)
