"""Staff jobs: a JSON-safe shim over ``gateway.staff.staff_notices`` (texts about approvals)."""

from __future__ import annotations

from gateway import jobs
from gateway.staff import staff_notices
from workers.context import runtime


def notices() -> dict:
    rt = runtime()
    jobs.started(rt, jobs.STAFF_NOTICES_FLAG)
    return staff_notices.send_due(rt)
