"""The analytics figure of citizens' questions and complaints: how many each centre received and
how soon they were answered. Counts and times only: no text, no number.

Contract: :func:`questions` counts, per centre, the threads opened in the period (``since`` to
``today``, SAST days, both included) by kind, those answered, the median time from opening
to the first staff answer in working hours (:mod:`gateway.sms.working_time`: weekdays
08:00–16:30 SAST without public holidays) and the share answered within the promise
(:data:`~gateway.dialogue.questions.ANSWER_DAYS` working days) among those whose promise has
come — answered, or due before ``now`` — so a question still within its time counts neither
way. ``scope`` None sees every centre and the unassigned ones (as "Unassigned"); a set of
centre ids only those centres.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from statistics import median

from sqlalchemy import func, select

from gateway.dialogue.questions import ANSWER_DAYS
from gateway.runtime import Runtime
from gateway.sms.working_time import DAY_HOURS, working_hours
from gateway.staff.figures import OTHERS, Figure, chart_spec, top_and_others
from gateway.store.models import Question, QuestionEntry, as_utc
from gateway.usage.rollup import day_bounds

TOP = 15  # centres drawn (the table lists them all)
UNASSIGNED = "Unassigned"
PROMISE_HOURS = ANSWER_DAYS * DAY_HOURS
COLUMNS = ["Centre", "Questions", "Complaints", "Answered", "Median first answer (working h)",
           f"Answered within {ANSWER_DAYS} working days (%)"]


class _Tally:
    def __init__(self):
        self.kinds: dict[str, int] = defaultdict(int)
        self.waits: list[float] = []  # working hours to the first answer
        self.due = self.in_time = 0


def questions(rt: Runtime, since: date, today: date, scope: frozenset[int] | None,
              names: dict[int, str], now: datetime) -> Figure:
    """The figure ``questions`` (see the module's contract), the most received first."""
    start, end = day_bounds(since)[0], day_bounds(today)[1]  # UTC: SQLite compares naive UTC text
    first_answer = (select(QuestionEntry.question_id, func.min(QuestionEntry.created_at).label("at"))
                    .where(QuestionEntry.kind == "answer").group_by(QuestionEntry.question_id).subquery())
    query = (select(Question.centre_id, Question.kind, Question.created_at, first_answer.c.at)
             .outerjoin(first_answer, first_answer.c.question_id == Question.id)
             .where(Question.created_at >= start, Question.created_at < end))
    if scope is not None:
        query = query.where(Question.centre_id.in_(scope))
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    with rt.engine.connect() as conn:
        for centre_id, kind, created, answered in conn.execute(query):
            t = tallies[names.get(centre_id, f"centre {centre_id}") if centre_id is not None else UNASSIGNED]
            t.kinds[kind] += 1
            created = as_utc(created)
            if answered is not None:
                wait = working_hours(created, as_utc(answered))
                t.waits.append(wait)
                t.due += 1
                t.in_time += wait <= PROMISE_HOURS
            elif working_hours(created, now) > PROMISE_HOURS:
                t.due += 1  # past its promise, still unanswered
    rows = [[name, t.kinds["ask"], t.kinds["complain"], len(t.waits),
             round(median(t.waits), 1) if t.waits else None,
             round(100 * t.in_time / t.due) if t.due else None] for name, t in tallies.items()]
    rows.sort(key=lambda x: (-(x[1] + x[2]), x[0]))
    every = _Tally()
    for t in tallies.values():
        for kind, n in t.kinds.items():
            every.kinds[kind] += n
        every.waits += t.waits
        every.due += t.due
        every.in_time += t.in_time
    totals = [["All centres", every.kinds["ask"], every.kinds["complain"], len(every.waits),
               round(median(every.waits), 1) if every.waits else None,
               round(100 * every.in_time / every.due) if every.due else None]]
    drawn, rest = top_and_others({x[0]: x[1] + x[2] for x in rows}, TOP)
    series = {"Questions": lambda t: t.kinds["ask"], "Complaints": lambda t: t.kinds["complain"],
              f"Answered within {ANSWER_DAYS} working days": lambda t: t.in_time}
    bars = [*drawn, OTHERS] if rest else drawn
    chart = chart_spec(bars, {label: [sum(count(tallies[c]) for c in ([name] if name != OTHERS else rest))
                                      for name in bars] for label, count in series.items()}, "bar")
    return Figure("questions", "Citizens' questions and complaints: received, and how soon answered",
                  COLUMNS, rows, chart,
                  f"Working hours: weekdays 08:00–16:30 without public holidays. The share counts the questions "
                  f"answered, or unanswered past {ANSWER_DAYS} working days; newer ones count neither way. "
                  "Counts only: no text.", totals)
