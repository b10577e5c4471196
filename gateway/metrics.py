"""Prometheus metrics the product exposes on ``/metrics`` (prometheus-client).

Counters and histograms here count in the process that serves ``/metrics`` (every gunicorn
worker's, added up). What the RQ workers know lives in Redis and is read at scrape time by
:class:`SharedState`, so it is the same whichever web worker answers.
"""

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

USSD_HOPS = Counter("thusong_ussd_hops_total", "USSD hops answered", ["outcome"])
USSD_SECONDS = Histogram("thusong_ussd_hop_seconds", "Time to answer a USSD hop",
                         buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
SMS_INBOUND = Counter("thusong_sms_inbound_total", "Inbound SMS webhooks", ["outcome"])


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
