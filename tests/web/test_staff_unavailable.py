"""Staff login (and any staff page) with Redis stopped or the database unreachable answers the
staff error page with 503 and Retry-After, never a 500: a real redis-server is stopped, and the
database is a port nobody listens on (or an SQLite file without tables)."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from gateway.web import create_app
from tests.conftest import CSRF_FIELD, PASSWORD, Auth
from tests.redis_process import RedisProcess

UNAVAILABLE_TITLE = "Temporarily unavailable"


def _app(runtime):
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


def _is_503_page(response) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert UNAVAILABLE_TITLE in page and response.headers["Retry-After"] == "60"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def stopped_redis(rt):
    """The session runtime on a private redis-server, which the test stops when it likes."""
    server = RedisProcess().start()
    client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=1)
    yield server, dataclasses.replace(rt, redis=client, redis_url=server.url)
    server.stop()
    client.close()


def test_login_with_redis_stopped_is_a_503_page(stopped_redis):
    server, runtime = stopped_redis
    auth = Auth(_app(runtime).test_client(), runtime)
    member = auth.add("admin")
    token = auth.token()  # the page opened while Redis was up
    server.stop()
    response = auth.client.post("/staff/login", data={"email": member.email, "password": PASSWORD,
                                                     "csrf_token": token})
    _is_503_page(response)


def test_login_with_the_database_down_is_a_503_page(rt_without_db):
    client = _app(rt_without_db).test_client()
    token = CSRF_FIELD.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD,
                                                 "csrf_token": token})
    _is_503_page(response)


def test_a_logged_in_page_with_the_database_down_is_a_503_page(app, rt, auth, rt_without_db):
    auth.as_role("admin")
    broken = _app(rt_without_db).test_client()  # the same secret key: the cookie is good
    broken.set_cookie("session", auth.client.get_cookie("session").value)
    _is_503_page(broken.get("/staff/accounts/"))
