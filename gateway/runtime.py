"""The one object that builds and owns every client: settings, Redis, SQL, queues, clock.

Contract: ``Runtime.from_settings(settings)`` connects (starting an embedded Redis when
``REDIS_URL`` is unset); ``close()`` releases everything it started. Code below the web layer
takes the runtime explicitly; nothing builds its own client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from gateway import jobs
from gateway.channels.africastalking import make_sender
from gateway.clock import Clock
from gateway.directory.browse import Browse
from gateway.directory.gazetteer import Gazetteer
from gateway.directory.nearest import Directory
from gateway.metrics import SMS_INBOUND_GROUP
from gateway.redis_server import EmbeddedRedis, start_embedded
from gateway.store import engine as db
from gateway.store.group_commit import GroupInsert
from gateway.store.models import Message
from gateway.traced import TracedJob, TracedQueue
from menus.engine import load_journey
from menus.journey import Journey

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=Clock)
    redis_url: str = ""
    embedded: EmbeddedRedis | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None, *,
                      statement_timeout_ms: int = 0, lock_timeout_ms: int = 0,
                      connect_timeout_s: int = db.CONNECT_TIMEOUT_S, deadline_s: float = db.DEADLINE_S) -> Runtime:
        """Connect. The timeouts go on every PostgreSQL connection (:func:`gateway.store.engine.make_engine`):
        the server's (0, the default, is no limit) and the client's (the defaults are long). The web
        app and the operator's status command set tight ones; workers and other commands run long."""
        embedded = None
        url = settings.REDIS_URL
        if not url:
            embedded = start_embedded(settings.instance_path)
            url = embedded.url
        # Short timeouts: a USSD hop must answer within seconds even when Redis is gone.
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1,
                                      health_check_interval=10)
        engine = db.make_engine(settings.database_url, statement_timeout_ms=statement_timeout_ms,
                                lock_timeout_ms=lock_timeout_ms, connect_timeout_s=connect_timeout_s,
                                deadline_s=deadline_s)
        return cls(settings, client, engine, db.make_sessionmaker(engine), clock or Clock(), url, embedded)

    def queue(self, name: str) -> Queue:
        return self.queues[name]

    @cached_property
    def queues(self) -> dict[str, Queue]:
        # JSON, not pickle: job arguments stay plain ids and values any process can read.
        return {name: TracedQueue(name, connection=self.redis, serializer=JSONSerializer, job_class=TracedJob)
                for name in jobs.QUEUES}

    # Built on first use: a CLI command that never resolves a place does not load the gazetteer.
    @cached_property
    def gazetteer(self) -> Gazetteer:
        return Gazetteer.load()

    @cached_property
    def directory(self) -> Directory:
        return Directory(self.sessions, self.gazetteer, redis=self.redis)

    @cached_property
    def browse(self) -> Browse:
        return Browse(self.sessions, self.directory)

    @cached_property
    def journey(self) -> Journey:
        """The citizen USSD journey, loaded and validated once per process."""
        return load_journey()

    @cached_property
    def inbound_rows(self) -> GroupInsert:
        """Where the webhook stores inbound SMS: the requests a process serves at once share a
        commit (:mod:`gateway.store.group_commit`)."""
        return GroupInsert(self.engine, Message.__table__, "idempotency_key", on_group=SMS_INBOUND_GROUP.observe)

    @cached_property
    def sms_sender(self):
        """The SMS sender: the AT SDK, or a simulated sender when no AT credentials are set."""
        return make_sender(self.settings, session=self.http)

    @cached_property
    def http(self):
        """This process's HTTP client for AT: its connections stay open between requests (the
        SDK alone opened one per request). A POST is never retried by the transport (a request
        that may have left is an unknown outcome). Workers run jobs in their own process
        (:mod:`gateway.cli.worker`), so no connection is shared across a fork."""
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=8, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def child_environ(self) -> dict[str, str]:
        """Settings for a child process (worker, web) that must share this runtime's Redis."""
        env = self.settings.as_environ()
        env["REDIS_URL"] = self.redis_url
        env["DATABASE_URL"] = self.settings.database_url
        return env

    def health(self) -> dict[str, dict]:
        """Redis ping and a DB select; never raises."""
        checks: dict[str, dict] = {}
        try:
            checks["redis"] = {"ok": bool(self.redis.ping())}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": type(exc).__name__}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["db"] = {"ok": True}
        except Exception as exc:
            checks["db"] = {"ok": False, "error": type(exc).__name__}
        return checks

    def close(self) -> None:
        if "http" in self.__dict__:
            self.http.close()
        self.redis.close()
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None
