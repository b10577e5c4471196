"""Offices' status today as citizens are told of it: :func:`news` reads one centre's statuses in
force (:func:`gateway.dialogue.office_status.current`, one query; expired ones are not there)
as the menus' plain :class:`menus.ports.OfficeNews`, timed in SAST.

The SMS keyword replies live below this package (``gateway.sms``): they are given this reader
by :mod:`gateway.dialogue.inbound`, the USSD ports call it themselves.
"""

from __future__ import annotations

from datetime import datetime

from gateway.clock import SAST
from gateway.dialogue import office_status
from gateway.runtime import Runtime
from menus.ports import OfficeNews


def news(rt: Runtime, centre_id: int, now: datetime | None = None) -> tuple[OfficeNews, ...]:
    """Centre ``centre_id``'s statuses in force at ``now`` (the runtime's clock), office order."""
    return tuple(OfficeNews(s.office, s.state, s.reason, s.set_at.astimezone(SAST).time().replace(second=0, microsecond=0))
                 for s in office_status.current(rt, [centre_id], now=now))

