"""Several ``thusong web`` processes on one host (the shipped units: thusong-web@8001 for the
webhooks, @8002 for the dashboard) keep their metric files apart: each empties only its own
folder at start. They shared instance/prometheus, so starting the second wiped the first's
counts (issue 18: "a second web on the same host wiped the first's metric files")."""

from __future__ import annotations

import pytest

from gateway.cli.processes import metrics_folder
from tests.conftest import TOKEN
from tests.live import http, thusong_web
from tests.web.test_metrics import _hops_counted

pytestmark = pytest.mark.slow
HOP = {"sessionId": "PER-INSTANCE", "serviceCode": "*134*1234#", "phoneNumber": "+27821234567",
       "networkCode": "65501", "text": ""}


def test_a_second_web_process_leaves_the_first_ones_metrics_alone(rt, settings):
    with thusong_web(settings, workers=1) as first:
        for _ in range(3):
            assert http(first, "POST", f"/webhooks/at/ussd?token={TOKEN}", HOP)[0] == 200
        assert _hops_counted(http(first, "GET", "/metrics")[1]) == 3
        with thusong_web(settings, workers=1) as second:
            assert _hops_counted(http(first, "GET", "/metrics")[1]) == 3  # still there
            assert _hops_counted(http(second, "GET", "/metrics")[1]) == 0  # its own, not the first's
        assert metrics_folder(settings, first) != metrics_folder(settings, second)
