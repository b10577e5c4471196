"""Prometheus metrics the product exposes on ``/metrics`` (prometheus-client)."""

from prometheus_client import Counter, Histogram

USSD_HOPS = Counter("thusong_ussd_hops_total", "USSD hops answered", ["outcome"])
USSD_SECONDS = Histogram("thusong_ussd_hop_seconds", "Time to answer a USSD hop",
                         buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
SMS_INBOUND = Counter("thusong_sms_inbound_total", "Inbound SMS webhooks", ["outcome"])
