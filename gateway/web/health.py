"""``GET /livez``, ``GET /healthz`` and ``GET /metrics``.

- ``/livez`` is liveness: 200 whenever this process answers, touching no dependency (a hung
  database or a lost Redis is not cured by restarting the web, so it must not look dead).
- ``/healthz`` is readiness, public and cheap: Redis and DB as ``ok`` or ``degraded`` (503 if
  any is degraded), and nothing else: no error class names, no process ids. It never hangs:
  Redis has its socket timeouts, the database the web's deadlines (a silent database is
  ``degraded`` within seconds: :mod:`gateway.store.deadline`).
- ``/healthz?worker=1[&timeout=S]`` is for the operator and needs ``Authorization: Bearer
  $METRICS_TOKEN``: it adds a job round trip through a worker, waiting S seconds (a number;
  at most :data:`MAX_TIMEOUT`, since a sync web worker waits with it; anything else → 400),
  and a ``detail`` object saying why a check failed and how long the worker took. The ping
  goes on the ``bulk`` queue, never ``replies``, where it would wait in front of a citizen.
- ``/metrics`` needs the same bearer token whenever one is set (always in production).
  Under ``thusong web`` (``PROMETHEUS_MULTIPROC_DIR`` set) it adds up every worker's values; what
  the RQ workers know (the pause for credit, queue depths) is read from Redis, and the
  outbox's backlog and running broadcasts from the database, at scrape time
  (:mod:`gateway.sms.backlog`: a few index probes).

The token rule: with ``METRICS_TOKEN`` set, a request without a bearer token gets 401 and one
with a wrong token 403; unset (development only: production requires it), both are open.
"""

from __future__ import annotations

import math
import time
import uuid

from flask import Blueprint, Response, abort, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from gateway import fleet, jobs
from gateway.metrics import BacklogState, FleetState, SharedState
from gateway.runtime import Runtime
from gateway.sms import backlog, credit
from gateway.web.context import runtime_of
from gateway.web.tokens import token_matches

bp = Blueprint("health", __name__)

DEFAULT_TIMEOUT = 2.0
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 5.0


def _require_bearer(rt: Runtime) -> None:
    """Abort 401/403 unless the request bears a METRICS_TOKEN (open when none is set)."""
    accepted = rt.settings.metrics_tokens
    if not accepted:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(Response("bearer token required\n", 401, {"WWW-Authenticate": 'Bearer realm="thusong"'}))
    if not token_matches(token.strip(), accepted):
        abort(403)


def _timeout(raw: str | None) -> float | None:
    """Seconds to wait for the worker, capped; None if ``raw`` is not a positive number."""
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return min(max(value, MIN_TIMEOUT), MAX_TIMEOUT)


@bp.get("/livez")
def livez():
    return Response("ok\n", mimetype="text/plain")


@bp.get("/healthz")
def healthz():
    rt = runtime_of()
    checks = rt.health()
    detail = None
    if request.args.get("worker"):
        _require_bearer(rt)
        timeout = _timeout(request.args.get("timeout"))
        if timeout is None:
            return jsonify(error=f"timeout: expected seconds, {MIN_TIMEOUT:g}-{MAX_TIMEOUT:g}",
                           field="timeout"), 400
        checks["worker"] = (_worker_round_trip(rt, timeout) if checks["redis"]["ok"]
                            else {"ok": False, "error": "redis unavailable"})
        detail = {name: {k: v for k, v in c.items() if k != "ok"} for name, c in checks.items()}
        detail = {name: d for name, d in detail.items() if d}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "degraded",
            "checks": {name: "ok" if c["ok"] else "degraded" for name, c in checks.items()}}
    if detail is not None:
        body["detail"] = detail
    return jsonify(body), 200 if ok else 503


def _worker_round_trip(rt: Runtime, timeout: float) -> dict:
    token = uuid.uuid4().hex
    job = rt.queue(jobs.QUEUE_BULK).enqueue(jobs.PING, token, result_ttl=60, ttl=60)
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == "finished":
            result = job.return_value() or {}
            return {"ok": result.get("token") == token, "pid": result.get("pid"),
                    "seconds": round(time.monotonic() - started, 3)}
        if status == "failed":
            return {"ok": False, "error": "job failed"}
        time.sleep(0.05)
    job.cancel()
    return {"ok": False, "error": f"no worker answered within {timeout:g}s"}


def _registry() -> CollectorRegistry:
    """This process's metrics, or every web worker's when they share a folder."""
    folder = runtime_of().settings.PROMETHEUS_MULTIPROC_DIR
    if not folder:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return registry


@bp.get("/metrics")
def metrics():
    rt = runtime_of()
    _require_bearer(rt)
    shared = CollectorRegistry(auto_describe=False)
    shared.register(SharedState(lambda: credit.state(rt)))
    shared.register(BacklogState(lambda: backlog.snapshot(rt)))
    shared.register(FleetState(lambda: fleet.snapshot(rt.redis, jobs.QUEUES, rt.settings.WORKER_HEARTBEAT_SECONDS)))
    return Response(generate_latest(_registry()) + generate_latest(shared), mimetype=CONTENT_TYPE_LATEST)
