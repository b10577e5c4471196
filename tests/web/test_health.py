import os

from tests.workers import running_workers


def test_healthz_reports_redis_and_db(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "checks": {"redis": {"ok": True}, "db": {"ok": True}}}


def test_healthz_is_503_naming_redis_when_it_is_down(settings):
    from gateway.runtime import Runtime
    from gateway.web import create_app

    rt = Runtime.from_settings(settings.with_(REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        resp = create_app(runtime=rt).test_client().get("/healthz")
    finally:
        rt.close()
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["db"]["ok"] is True


def test_job_round_trip_through_a_real_worker_process(client, settings):
    with running_workers(settings):
        resp = client.get("/healthz?worker=1&timeout=20")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["checks"]["worker"]["ok"] is True
    assert body["checks"]["worker"]["pid"] != os.getpid()


def test_round_trip_without_a_worker_says_so(client):
    body = client.get("/healthz?worker=1&timeout=0.3").get_json()
    assert body["checks"]["worker"] == {"ok": False, "error": "no worker answered within 0.3s"}
