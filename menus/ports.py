"""What the menu engine needs from the outside world, as plain data. The gateway implements
:class:`DirectoryPorts` (``gateway.ussd.ports``); tests use an in-memory fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Protocol


@dataclass(frozen=True)
class Named:
    id: int
    name: str
    code: str | None = None


@dataclass(frozen=True)
class CentreSummary:
    id: int
    name: str
    town: str | None
    distance_km: float | None  # None when the centre has no coordinates
    matched_place: str | None


@dataclass(frozen=True)
class Visit:
    """A service's visit to a centre, as citizens are told of it (local day and times)."""

    service: str
    day: date
    starts: time
    ends: time


@dataclass(frozen=True)
class CentreDetails:
    id: int
    name: str
    address: str | None
    hours: str | None
    phone: str | None
    town: str | None
    municipality: str | None
    province: str | None
    services_by_block: list[tuple[str, list[str]]] = field(default_factory=list)
    coming_up: tuple[Visit, ...] = ()  # approved visits still to come, soonest first


@dataclass(frozen=True)
class OfficeNews:
    """An office's status today at a centre, as citizens are told of it: codes (the catalogues
    name them in each language) and the local (SAST) time it was reported."""

    office: str  # an office code (catalogue ``office.<CODE>``)
    state: str  # up | slow | down
    reason: str | None  # a reason code (catalogue ``status_reason.<code>``)
    since: time


@dataclass(frozen=True)
class Asked:
    """A question just opened: its reference and the centre it went to (None: unassigned)."""

    ref: str
    centre: str | None


class DirectoryPorts(Protocol):
    """Reads answer from the directory; writes are quick rows or queued SMS (no network)."""

    def provinces(self) -> list[Named]: ...
    def municipalities(self, province_id: int) -> list[Named]: ...
    def centres_in(self, province_id: int, municipality_id: int | None) -> list[CentreSummary]: ...
    def centre(self, centre_id: int) -> CentreDetails | None: ...
    def office_news(self, centre_id: int) -> tuple[OfficeNews, ...]: ...  # today's, not-up first
    def nearest(self, place_text: str, limit: int = 3) -> tuple[str | None, list[CentreSummary]]: ...
    def services(self) -> list[Named]: ...
    def centres_offering(self, service_code: str, place_text: str | None = None,
                         province_id: int | None = None, limit: int = 3) -> list[CentreSummary]: ...
    def subscriptions(self) -> list[Named]: ...
    def sms_me(self, centre_id: int) -> bool: ...  # False: the caller's SMS for today are used up
    def subscribe(self, centre_id: int) -> None: ...
    def unsubscribe(self, centre_id: int) -> None: ...
    def stop_all(self) -> None: ...
    def feedback(self, centre_id: int, rating: int, reason: str | None) -> None: ...
    def set_language(self, code: str) -> None: ...
    def questions_waiting(self) -> tuple[str, ...]: ...  # refs, when no new question is taken
    def ask(self, text: str) -> Asked | None: ...  # None: refused (the open limit, reached meanwhile)
