"""Client-side deadlines on PostgreSQL round trips, and the stall they reveal.

A database that takes the connection and then says nothing (a stalled network path, a frozen
primary: the far kernel still acknowledges every packet) is ended by no server-side timeout
and by no TCP keepalive, so the client must give up on its own:

- :class:`GuardedConnection` (a psycopg connection): a round trip on it (statement, fetch,
  commit, rollback, the pool's pre-ping) that gets no complete answer within
  :attr:`Stall.deadline` seconds closes the connection and raises :class:`Stalled`, a
  ``psycopg.OperationalError``: SQLAlchemy sees a disconnect and drops it from the pool.
- :class:`Stall`, one per engine: after a round trip or a connect ran out of time, every
  round trip and connect on that engine fails at once with :class:`Stalled` for
  :attr:`Stall.cooldown` seconds; then one caller at a time tries the database again, and the
  first answer (any answer: an error is an answer too) lets everyone through. So a burst of
  requests during a freeze costs one deadline per process, not one each, and traffic comes
  back within ``cooldown`` (plus the try) of the database answering. Each change is logged once.

Errors: :class:`Stalled` (``psycopg.OperationalError``; wrapped by SQLAlchemy as
``sqlalchemy.exc.OperationalError``, a ``DBAPIError``) is retryable: the database may answer
the next time.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from psycopg import errors  # Connection.wait(timeout=…) and its _WaitTimeout: psycopg 3.3

log = logging.getLogger(__name__)


class Stalled(psycopg.OperationalError):
    """The database gave no answer within the deadline, or is held stalled after one that did
    not. Retryable."""

    retryable = True


class Stall:
    """Whether the database behind one engine is answering. Thread-safe; costs one attribute
    read per round trip while it answers."""

    def __init__(self, deadline: float, cooldown: float = 2.0):
        self.deadline, self.cooldown = deadline, cooldown
        self._lock = threading.Lock()
        self._since = 0.0  # monotonic time of the first unanswered wait; 0: answering
        self._until = 0.0  # fail at once before this
        self._trying = False  # one caller is trying the database after the cooldown

    @property
    def stalled(self) -> bool:
        return bool(self._since)

    def admit(self) -> None:
        """Before a round trip or a connect: raise :class:`Stalled` while held stalled. After
        the cooldown the first caller goes through (it tries the database); the others still fail."""
        if not self._since:
            return
        with self._lock:
            if self._since and (self._trying or time.monotonic() < self._until):
                raise Stalled(f"the database has not answered for {time.monotonic() - self._since:.1f} s")
            self._trying = True

    def answered(self) -> None:
        if not self._since:
            return
        with self._lock:
            if self._since:
                log.warning("database answers again after %.1f s", time.monotonic() - self._since)
            self._since, self._until, self._trying = 0.0, 0.0, False

    def expired(self, what: str) -> None:
        """``what`` (e.g. "round trip within 3.5 s") got no answer: hold the database stalled
        for the cooldown."""
        with self._lock:
            now = time.monotonic()
            if not self._since:
                self._since = now
                log.error("database gave no answer to a %s: database calls fail at once, trying again "
                          "every %g s", what, self.cooldown)
            else:
                log.warning("database still not answering (%.0f s)", now - self._since)
            self._until, self._trying = now + self.cooldown, False

    def forgive(self) -> None:
        """The admitted caller went away without an answer either way: let the next one try."""
        self._trying = False


class GuardedConnection(psycopg.Connection):
    """A psycopg connection whose every round trip has :attr:`stall`'s deadline (none when
    ``stall`` is unset). Waits psycopg bounds itself (``notifies(timeout=…)``) keep theirs."""

    stall: Stall | None = None

    @classmethod
    def open(cls, stall: Stall, *args, **kwargs) -> GuardedConnection:
        """Connect (bounded by libpq's ``connect_timeout``, which the caller sets) unless the
        database is held stalled."""
        stall.admit()
        try:
            conn = cls.connect(*args, **kwargs)
        except errors.ConnectionTimeout:
            stall.expired(f"connection within {kwargs.get('connect_timeout', '?')} s")
            raise
        except BaseException:
            stall.forgive()
            raise
        stall.answered()
        conn.stall = stall
        return conn

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        stall = self.stall
        if stall is None or timeout is not None:
            return super().wait(gen, interval, timeout)
        try:
            stall.admit()
        except Stalled:
            gen.close()
            self.pgconn.finish()  # a pooled connection to a stalled database is not worth keeping
            raise
        try:
            result = super().wait(gen, interval, stall.deadline)
        except errors._WaitTimeout:  # psycopg's own: raised only for the timeout passed above
            self.pgconn.finish()  # mid-protocol: the connection cannot be used again
            stall.expired(f"round trip within {stall.deadline:g} s")
            raise Stalled(f"the database gave no answer within {stall.deadline:g} s") from None
        except psycopg.Error:
            stall.answered()  # the server said something (an error is an answer)
            raise
        except BaseException:
            stall.forgive()
            raise
        stall.answered()
        return result
