"""``GET /healthz``: Redis and DB checks as JSON (503 if any fails); ``?worker=1`` also does a
job round trip through a worker process, for the operator who wants to know jobs run."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import jobs
from gateway.web.context import runtime_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    runtime = runtime_of()
    checks = runtime.health()
    if request.args.get("worker") and checks["redis"]["ok"]:
        checks["worker"] = _worker_round_trip(runtime, timeout=float(request.args.get("timeout", 5)))
    ok = all(c["ok"] for c in checks.values())
    return jsonify(status="ok" if ok else "degraded", checks=checks), 200 if ok else 503


def _worker_round_trip(runtime, timeout: float) -> dict:
    token = uuid.uuid4().hex
    job = runtime.queue(jobs.QUEUE_REPLIES).enqueue(jobs.PING, token, result_ttl=60)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh()
        if job.get_status() == "finished":
            result = job.return_value()
            return {"ok": result.get("token") == token, "pid": result.get("pid"),
                    "seconds": round(timeout - (deadline - time.monotonic()), 3)}
        if job.get_status() == "failed":
            return {"ok": False, "error": "job failed"}
        time.sleep(0.05)
    job.cancel()
    return {"ok": False, "error": f"no worker answered within {timeout:g}s"}


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
