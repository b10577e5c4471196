"""The USSD funnel: the share of sessions that reached each screen and the share that ended
there, each screen by its words and what ending on it means.

Contract: :func:`funnel` takes the period's ``reached`` (screen id → sessions that showed
it) and ``ended`` (screen id → sessions whose last screen it was; every session once, so
their sum is the sessions) and returns the figure ``funnel``: a row per screen, the most
reached first, shares in per cent of the sessions; the foot counts the sessions that ended on
an answer, that the service closed, that gave up, and all of them. Words and endings come
from :mod:`menus.screen_names` (an answer is where the caller got what they came for, so
ending there is no give-up, whatever AT's end notification said).
"""

from __future__ import annotations

from gateway.staff.figures import Figure, chart_spec
from menus.screen_names import ANSWER, CLOSED, GAVE_UP, name_of

TOP = 15  # screens drawn (the table lists them all)
COLUMNS = ["Screen", "Reached", "Reached (%)", "Ended there", "Ended there (%)", "Ending there is"]
FOOT = ((ANSWER, "Ended on an answer"), (CLOSED, "Closed by the service"), (GAVE_UP, "Gave up"))


def _share(n: int, total: int) -> float:
    return round(100 * n / total, 1) if total else 0.0


def funnel(reached: dict[str, int], ended: dict[str, int]) -> Figure:
    """The figure ``funnel`` (see the module's contract)."""
    sessions = sum(ended.values())
    screens = sorted(set(reached) | set(ended), key=lambda s: (-reached.get(s, 0), name_of(s).words))
    rows = []
    for screen in screens:
        name, got, left = name_of(screen), reached.get(screen, 0), ended.get(screen, 0)
        rows.append([name.words, got, _share(got, sessions), left, _share(left, sessions), name.ending])
    by_ending = {kind: sum(x[3] for x in rows if x[5] == kind) for kind, _words in FOOT}
    totals = [[words, None, None, by_ending[kind], _share(by_ending[kind], sessions), kind]
              for kind, words in FOOT]
    totals.append(["All sessions", sessions, _share(sessions, sessions), sessions, _share(sessions, sessions), ""])
    drawn = rows[:TOP]
    chart = chart_spec([x[0] for x in drawn], {
        "Reached (%)": [x[2] for x in drawn],
        "Ended there on an answer (%)": [x[4] if x[5] == ANSWER else 0 for x in drawn],
        "Ended there without one (%)": [x[4] if x[5] != ANSWER else 0 for x in drawn]}, "bar")
    chart["horizontal"] = True
    return Figure("funnel", "The USSD funnel: how far sessions got, and where they ended", COLUMNS, rows, chart,
                  "Shares of all sessions in the period. A session counts once on every screen it reached and "
                  "once on the screen it ended on. Ending on an answer — a centre's hours, an SMS, a "
                  "subscription, a reference — is no give-up.", totals)
