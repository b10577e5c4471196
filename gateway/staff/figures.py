"""What one analytics figure is: a table (what the page and its CSV show), its totals, and the
chart drawn from it. Shared by :mod:`~gateway.staff.analytics` and the figures it gathers from
other modules (:mod:`~gateway.staff.status_figures`, :mod:`~gateway.staff.question_figures`,
:mod:`~gateway.staff.funnel`), so that none of them imports the other.

Contract: :func:`chart_spec` gives every series a colour of its own (:func:`colour`: no two
series of a chart share one, however many) and the "others" series :data:`OTHERS_COLOUR`;
:func:`top_and_others` keeps the biggest centres of a chart and sums the rest into one
:data:`OTHERS` bar, so a chart stays readable while the table lists every centre. A figure's
``totals`` are counted over all its rows (not the rows a page shows, nor the top of a chart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

OTHERS = "Other centres"
# Okabe and Ito's colours for colour-blind readers, then Tableau's; beyond them, hues apart.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948", "#FF9DA7", "#9C755F")
OTHERS_COLOUR = "#BAB0AC"  # grey: all the rest, never one of the named


@dataclass
class Figure:
    """One chart and the table beside it. ``chart`` is Chart.js's ``type``/``data`` (plus
    ``stacked``, ``horizontal``, ``axes``: read by ``static/analytics.js``); ``totals`` are
    the table's foot rows, their first cell the row's name."""

    key: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict = field(default_factory=dict)
    note: str = ""
    totals: list[list] = field(default_factory=list)


def colour(i: int) -> str:
    """The ``i``-th series' colour: the palette, then hues 137.5° apart (never the same twice)."""
    if i < len(PALETTE):
        return PALETTE[i]
    k = i - len(PALETTE)
    return f"hsl({(k * 137.508) % 360:.1f}, {60 - 10 * (k // 40 % 3)}%, {40 + 5 * (k // 120 % 4)}%)"


def chart_spec(labels: list, datasets: dict[str, list], kind: str = "line") -> dict:
    """Chart.js's ``type`` and ``data`` for ``labels`` and one dataset per named series, each
    in its own colour (the :data:`OTHERS` series grey)."""
    out, i = [], 0
    for name, values in datasets.items():
        if name == OTHERS:
            shade = OTHERS_COLOUR
        else:
            shade, i = colour(i), i + 1
        out.append({"label": name, "data": values, "backgroundColor": shade, "borderColor": shade})
    return {"type": kind, "data": {"labels": [str(x) for x in labels], "datasets": out}}


def top_and_others(totals: dict[str, float], top: int) -> tuple[list[str], list[str]]:
    """The ``top`` keys by total (ties by name), and the rest (their sum is the others' bar)."""
    ordered = sorted(totals, key=lambda k: (-totals[k], k))
    return ordered[:top], ordered[top:]
