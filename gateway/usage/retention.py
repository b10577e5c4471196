"""Retention: message bodies and typed USSD inputs older than ``RETENTION_DAYS`` are emptied.

Contract: :func:`apply` first rolls up every closed day (:func:`gateway.usage.rollup.roll_up`),
then refuses to empty anything from a day that still has no roll-up (a failed roll-up must not
lose counts), then empties, for rows older than the cutoff: ``messages.text`` (to ''), the text of
questions' thread messages (``question_entries.text``, to '') and their outcomes,
``ussd_sessions.input`` and ``last_app_response`` (AT's copy of what was typed and shown),
and ``usage_searches.term``; and deletes ``ussd_hops`` rows (their counts live in the
roll-up). Rows stay otherwise: delivery outcomes, counts and consent records are not bodies.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, update

from gateway.store.models import (
    Message,
    Question,
    QuestionEntry,
    UsageSearch,
    UssdHopLog,
    UssdSessionLog,
)
from gateway.usage import rollup

log = logging.getLogger(__name__)


def apply(rt) -> dict:
    """Roll up, then empty the detail older than ``RETENTION_DAYS``; returns what changed."""
    rollup.roll_up(rt)
    cutoff_day = rollup.retention_cutoff_day(rt)
    cutoff, _ = rollup.day_bounds(cutoff_day)  # whole local days only: a day is rolled or not
    with rt.engine.connect() as conn:
        first = rollup.first_day(conn)
        done = rollup.rolled_days(conn)
    if first is not None:
        missing = [first + timedelta(days=i) for i in range((cutoff_day - first).days)
                   if first + timedelta(days=i) not in done]
        if missing:
            log.error("retention skipped: %d day(s) before %s have no roll-up (first %s)",
                      len(missing), cutoff_day, missing[0])
            return {"skipped": len(missing)}
    with rt.engine.begin() as conn:
        bodies = conn.execute(update(Message).where(Message.created_at < cutoff, Message.text != "")
                              .values(text="")).rowcount
        # Questions: the words go like SMS bodies; the threads stay (counts, ages, outcomes' existence).
        bodies += conn.execute(update(QuestionEntry).where(QuestionEntry.created_at < cutoff, QuestionEntry.text != "")
                               .values(text="")).rowcount
        bodies += conn.execute(update(Question).where(Question.created_at < cutoff, Question.outcome.is_not(None))
                               .values(outcome=None)).rowcount
        inputs = conn.execute(update(UssdSessionLog).where(
            UssdSessionLog.created_at < cutoff,
            (UssdSessionLog.input.is_not(None)) | (UssdSessionLog.last_app_response.is_not(None)))
            .values(input=None, last_app_response=None)).rowcount
        terms = conn.execute(update(UsageSearch).where(UsageSearch.at < cutoff, UsageSearch.term.is_not(None))
                             .values(term=None)).rowcount
        hops = conn.execute(delete(UssdHopLog).where(UssdHopLog.at < cutoff)).rowcount
    if bodies or inputs or terms or hops:
        log.info("retention: emptied %d message bodies, %d ussd inputs, %d search terms; %d hops deleted "
                 "(before %s)", bodies, inputs, terms, hops, cutoff_day)
    return {"bodies": bodies, "inputs": inputs, "terms": terms, "hops": hops}
