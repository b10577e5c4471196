"""What one analytics figure is: a table (what the page and its CSV show) and the chart drawn
from it. Shared by :mod:`~gateway.staff.analytics` and the figures it gathers from other
modules (:mod:`~gateway.staff.status_figures`), so that none of them imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figure:
    """One chart and the table beside it. ``chart`` is Chart.js's ``type``/``data``."""

    key: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict = field(default_factory=dict)
    note: str = ""


def chart_spec(labels: list, datasets: dict[str, list], kind: str = "line") -> dict:
    """Chart.js's ``type`` and ``data`` for ``labels`` and one dataset per named series."""
    return {"type": kind, "data": {"labels": [str(x) for x in labels],
                                   "datasets": [{"label": k, "data": v} for k, v in datasets.items()]}}

