import dataclasses

import pytest

from tests.workers import running_workers, wait_until

BEARER = {"Authorization": "Bearer metrics-secret"}


def app_for(rt, **changes):
    from gateway.web import create_app

    application = create_app(runtime=dataclasses.replace(rt, settings=rt.settings.with_(**changes)))
    application.config["TESTING"] = True
    return application


@pytest.fixture
def guarded(rt):
    """A client of an app with a METRICS_TOKEN (as production has)."""
    return app_for(rt, METRICS_TOKEN="metrics-secret").test_client()


def test_healthz_reports_redis_and_db(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"redis": "ok", "db": "ok"}}


def test_healthz_is_503_naming_redis_when_it_is_down_without_saying_why(settings):
    from gateway.runtime import Runtime
    from gateway.web import create_app

    rt = Runtime.from_settings(settings.with_(REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        resp = create_app(runtime=rt).test_client().get("/healthz")
    finally:
        rt.close()
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "degraded", "checks": {"redis": "degraded", "db": "ok"}}
    assert "Error" not in resp.get_data(as_text=True)  # no exception class names for the public


@pytest.mark.slow
def test_job_round_trip_through_a_real_worker_process(rt, guarded, settings):
    from rq import Worker

    with running_workers(settings):
        wait_until(lambda: Worker.all(connection=rt.redis), timeout=30)
        # 20 s: a worker's first job (its fork, its imports) took over 5 s on a host with a load
        # of 7 on two cores; what is checked is the round trip, not its speed.
        resp = guarded.get("/healthz?worker=1&timeout=20", headers=BEARER)
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["checks"]["worker"] == "ok"
    assert body["detail"]["worker"]["seconds"] < 20


def test_round_trip_without_a_worker_says_so_and_leaves_replies_alone(rt, guarded):
    from gateway import jobs

    resp = guarded.get("/healthz?worker=1&timeout=0.3", headers=BEARER)
    body = resp.get_json()
    assert resp.status_code == 503
    assert body["checks"]["worker"] == "degraded"
    assert body["detail"]["worker"] == {"error": "no worker answered within 0.3s"}
    # The ping went on the bulk queue (and was cancelled): a citizen's reply never waits behind it.
    assert len(rt.queue(jobs.QUEUE_BULK).canceled_job_registry) == 1
    assert len(rt.queue(jobs.QUEUE_REPLIES).canceled_job_registry) == 0
    assert rt.queue(jobs.QUEUE_REPLIES).count == 0


@pytest.mark.parametrize(
    "headers, status",
    [({}, 401), ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": "Basic bWV0cmljcw=="}, 401)],
    ids=["none", "wrong-token", "not-bearer"],
)
def test_worker_check_needs_the_metrics_token(guarded, headers, status):
    resp = guarded.get("/healthz?worker=1&timeout=0.1", headers=headers)
    assert resp.status_code == status
    assert "worker" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("timeout", ["abc", "nan", "inf", "-1", ""], ids=["word", "nan", "inf", "negative", "empty"])
def test_bad_worker_timeout_is_400(guarded, timeout):
    resp = guarded.get(f"/healthz?worker=1&timeout={timeout}", headers=BEARER)
    assert resp.status_code == 400
    assert resp.get_json()["field"] == "timeout"


def test_large_worker_timeout_is_capped(guarded):
    """Issue 9.2: timeout=60 held a sync web worker for a minute; the cap is 5 s."""
    import time

    t0 = time.monotonic()
    body = guarded.get("/healthz?worker=1&timeout=60", headers=BEARER).get_json()
    assert time.monotonic() - t0 < 6
    assert body["detail"]["worker"] == {"error": "no worker answered within 5s"}


def test_livez_answers_with_every_dependency_down_and_healthz_says_not_ready(settings):
    """Liveness touches nothing: a process whose database and Redis are gone is alive (restarting
    it would cure neither), just not ready."""
    from gateway.runtime import Runtime
    from gateway.web import create_app

    rt = Runtime.from_settings(settings.with_(REDIS_URL="redis://127.0.0.1:1/0",
                                              DATABASE_URL="postgresql://thusong@127.0.0.1:1/none"))
    try:
        client = create_app(runtime=rt).test_client()
        live, ready = client.get("/livez"), client.get("/healthz")
    finally:
        rt.close()
    assert (live.status_code, live.get_data(as_text=True), live.mimetype) == (200, "ok\n", "text/plain")
    assert ready.status_code == 503
