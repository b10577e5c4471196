"""A worker's hold on the outbox rows it claimed, from the claim until their outcome is written.

Contract: a claimed row is ``sending`` and its ``attempts`` (raised by every claim) is the
holder's fencing token. While the holder works on its batch — waiting its turn for a request,
waiting for AT's answer, recording — a :class:`SendClaim` renews the rows (``updated_at``)
every quarter of ``SMS_SEND_LEASE_SECONDS``, so the sweeper takes to ``unknown`` only rows
whose holder stopped renewing for a whole lease (dead, or frozen). A renewal also takes back
rows the sweeper moved to ``unknown`` while the holder was held up, as long as no one claimed
them since (same token). :meth:`SendClaim.confirm` is asked right before each AT request: a
row goes out only if the database confirmed, less than half a lease ago, that this holder
still holds it. Rows another worker claimed since (the sweeper resent them) are never sent by
this holder, and the holder's results are written only under its token (``gateway.sms.sending``).

Why: AT's send API has no idempotency key. Without renewal a batch that outlived the lease and
the reconcile window (replies are a request each, four at a time, and are recorded when the
batch ends) was resent by another worker while its holder still sent it, or had sent it.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.store.models import Message, utcnow

log = logging.getLogger(__name__)
_T = Message.__table__
# Still this holder's: in flight ('sending', or 'unknown' when the sweeper took the lease of a
# holder held up) and not claimed since (a claim raises attempts).
HELD = ("sending", "unknown")
_HELD = or_(*(_T.c.status == s for s in HELD))  # not IN: executemany takes no expanding IN
_RENEW = update(_T).where(_T.c.id == bindparam("row_id"), _T.c.attempts == bindparam("attempt"), _HELD).values(
    status="sending", updated_at=bindparam("now"))


class SendClaim:
    """The rows of one batch this worker claimed: ``{id: attempts}``. :meth:`start` the renewal,
    :meth:`stop` it before the outcomes are written (a renewal after an outcome would undo it)."""

    def __init__(self, rt, tokens: dict[int, int]):
        self.rt = rt
        self.lease = rt.settings.SMS_SEND_LEASE_SECONDS
        self.tokens = dict(tokens)
        self.held = set(tokens)
        self.confirmed_at = time.monotonic()  # the claim itself confirmed them
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_every, name="send-claim", daemon=True)

    def start(self) -> SendClaim:
        if self.tokens:
            self._renewer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._renewer.is_alive():
            self._renewer.join()

    def confirm(self, ids: list[int]) -> set[int]:
        """Of ``ids``, those this holder may send now: confirmed by the database less than half a
        lease ago (renewed here first if the last confirmation is older)."""
        with self._lock:
            if time.monotonic() - self.confirmed_at >= self.lease / 2:
                self._renew()
            return self.held & set(ids)

    def _renew_every(self) -> None:
        while not self._stop.wait(self.lease / 4):
            with self._lock:
                try:
                    self._renew()
                except SQLAlchemyError as exc:  # the next turn tries again; confirm() renews itself
                    log.warning("claimed sends not renewed (%s)", type(exc).__name__)

    def _renew(self) -> None:
        """Renew what is still ours (a conditional UPDATE per row) and read back which rows that
        is, in one transaction: rows we renewed stay locked to us until it commits."""
        started = time.monotonic()
        ids = sorted(self.held)
        if not ids:
            self.confirmed_at = started
            return
        with self.rt.sessions.begin() as s:
            now = utcnow()
            s.connection().execute(_RENEW, [{"row_id": i, "attempt": self.tokens[i], "now": now} for i in ids])
            ours = {i for i, attempts, status in s.execute(
                select(Message.id, Message.attempts, Message.status).where(Message.id.in_(ids)))
                if status == "sending" and attempts == self.tokens[i]}
        lost = self.held - ours
        if lost:
            log.warning("%d claimed sends were taken over while this worker was held up: not sending them", len(lost))
        self.held = ours
        self.confirmed_at = started


__all__ = ["SendClaim", "HELD"]
