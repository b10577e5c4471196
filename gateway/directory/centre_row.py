"""One row of a centres CSV checked into the values a :class:`~gateway.store.models.Centre`
stores (the columns are :mod:`gateway.directory.centre_csv`'s).

Contract: :func:`parse_row` returns the row's values and warnings, or raises :class:`RowErrors`
(a ValueError) listing *everything* wrong with it, each reason in words for the person who made
the file, so one round of corrections fixes the row. Whatever it returns the
database takes as it is (:func:`storable_problems`: lengths read from the model's columns, no
NUL), on SQLite and PostgreSQL alike, so a preview accepts exactly what an import writes.
"""

from __future__ import annotations

import re

from sqlalchemy import String

from gateway.directory.catalogue import PROVINCES
from gateway.directory.gazetteer import Gazetteer
from gateway.directory.hours import DAYS, HoursError, parse_day
from gateway.store.models import Centre, Municipality
from menus.text import fold

SEED_COLUMNS = ["name", "province", "municipality", "town", "address", "phone", "latitude",
                "longitude", "source", "coord_source", "notes"]
HOURS_COLUMNS = [f"hours_{day}" for day in DAYS]
COLUMNS = [*SEED_COLUMNS, *HOURS_COLUMNS, "active", "services", "offices"]
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
# South Africa's bounding box, generously: a coordinate outside it is a typo, not a centre.
_LAT, _LON = (-35.5, -22.0), (16.0, 33.5)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")  # "-26,2678": Excel's number in a South African locale
# The longest text each stored value may hold, read from the columns it is stored in.
_LIMITS = {c.name: c.type.length for c in Centre.__table__.columns
           if isinstance(c.type, String) and c.type.length} | {
           "municipality": Municipality.__table__.c.name.type.length}


class RowErrors(ValueError):
    """A row :func:`parse_row` refuses; ``reasons`` holds every problem, in the columns' order
    (``str()`` joins them, for a caller that shows one line)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


def point_problems(lat: float, lon: float) -> list[str]:
    """What puts the point outside South Africa's (generous) bounding box (nothing if inside)."""
    problems = []
    if not (_LAT[0] <= lat <= _LAT[1]):
        problems.append(f"latitude {lat} outside South Africa")
    if not (_LON[0] <= lon <= _LON[1]):
        problems.append(f"longitude {lon} outside South Africa")
    return problems


def check_point(lat: float, lon: float) -> None:
    """Raise ValueError unless the point is in South Africa's (generous) bounding box."""
    problems = point_problems(lat, lon)
    if problems:
        raise ValueError(problems[0])


def centre_key(name: str) -> str:
    return fold(name)


def province_lookup() -> dict[str, str]:
    """Folded province name, code or old name → province name."""
    table = {}
    for code, name, others in PROVINCES:
        for label in (code, name, *others):
            table[fold(label)] = name
    return table


def _town_candidates(town: str) -> list[str]:
    """'Roodepan, Kimberley' → ['Roodepan, Kimberley', 'Roodepan', 'Kimberley']."""
    bare = re.sub(r"\(.*?\)", "", town).strip()
    parts = [p.strip() for p in re.split(r"[,/;]", bare) if p.strip()]
    return [town, bare, *parts]


def parse_row(row: dict, provinces: dict[str, str], gaz: Gazetteer, present: set[str],
              service_codes: set[str], office_codes: set[str] = frozenset()) -> tuple[dict, list[str]]:
    """Validate one CSV row; return clean values and warnings, or raise :class:`RowErrors` with
    every reason. Keys for optional columns appear only when the file has the column
    (``present``)."""
    clean = {k: (row.get(k) or "").strip() for k in COLUMNS}
    warnings: list[str] = []
    errors: list[str] = []
    if not clean["name"]:
        errors.append("missing name")
    province = None
    if clean["province"]:
        province = provinces.get(fold(clean["province"]))
        if province is None:
            errors.append(f"unknown province {_shown(clean['province'])}")
    lat = lon = None
    if clean["latitude"] or clean["longitude"]:
        try:
            lat, lon = _number(clean["latitude"]), _number(clean["longitude"])
        except ValueError:
            errors.append(f"latitude/longitude not numbers: {_shown(clean['latitude'])}, "
                          f"{_shown(clean['longitude'])}")
        else:
            errors += point_problems(lat, lon)
    coord_source = clean["coord_source"] or ("building" if lat is not None else None)
    if lat is None and clean["town"]:
        place = next(filter(None, (gaz.exact(t) for t in _town_candidates(clean["town"]))), None)
        if place is not None:
            lat, lon, coord_source = place.latitude, place.longitude, "gazetteer"
            if province is None and place.province and not clean["province"]:
                province = dict((c, n) for c, n, _o in PROVINCES)[place.province]
        else:
            warnings.append(f"town {_shown(clean['town'])} not in the gazetteer: findable by municipality/province "
                            "only")
    if lat is None and not province:
        warnings.append("no coordinates and no province: findable by name only")
    values = {
        "key": centre_key(clean["name"]),
        "name": clean["name"],
        "province": province,
        "municipality": clean["municipality"] or None,
        "town": re.sub(r"[\r\n]", " ", clean["town"]) or None,
        "address": clean["address"] or None,
        "phone": clean["phone"] or None,
        "latitude": lat,
        "longitude": lon,
        "coord_source": coord_source if lat is not None else None,
        "source": clean["source"] or None,
        "notes": clean["notes"] or None,
    }
    optional, problems = _optional_columns(clean, present, service_codes, office_codes)
    values.update(optional)
    errors += problems + storable_problems(values)
    if errors:
        raise RowErrors(errors)
    return values, warnings


def _optional_columns(clean: dict, present: set[str], service_codes: set[str],
                      office_codes: set[str]) -> tuple[dict, list[str]]:
    """Hours, active, services and offices from the columns the file has (the rules are
    :mod:`gateway.directory.centre_csv`'s), and every problem found in them."""
    values: dict = {}
    problems: list[str] = []
    for column in HOURS_COLUMNS:
        if column in present:
            try:
                values[column] = parse_day(clean[column])
            except HoursError as exc:
                problems.append(f"{column}: {exc}")
    active = clean["active"].lower()
    if "active" in present and active:
        if active in _YES | _NO:
            values["active"] = active in _YES
        else:
            problems.append(f"active must be yes or no, not {_shown(clean['active'])}")
    if "services" in present:
        codes = [c.strip().lower() for c in clean["services"].split(";") if c.strip()]
        unknown = [c for c in codes if c not in service_codes]
        if unknown:
            problems.append(f"unknown service code {', '.join(map(_shown, unknown))}")
        values["services"] = list(dict.fromkeys(codes))
    if "offices" in present:
        given = [c.strip() for c in clean["offices"].split(";") if c.strip()]
        codes = [c.upper() for c in given]  # codes are capitals; "ha" is HA
        unknown = [g for g, c in zip(given, codes, strict=True) if c not in office_codes]
        if unknown:
            problems.append(f"unknown office code {', '.join(map(_shown, unknown))}")
        values["offices"] = list(dict.fromkeys(codes))
    return values, problems


def storable_problems(values: dict) -> list[str]:
    """Why the database would not take every value of a parsed row as it is (nothing if it
    would): a NUL, or text longer than its column. PostgreSQL refuses both; SQLite would keep
    them, so without this a preview could accept what the import then cannot write."""
    problems, bad = [], set()
    for name in sorted(values, key=lambda k: k == "key"):  # the name's own problem before its key's
        value = values[name]
        if not isinstance(value, str) or (name == "key" and "name" in bad):  # one cell, one reason
            continue
        shown = "name, once folded for matching," if name == "key" else name
        if "\x00" in value:
            problems.append(f"{shown}: contains a NUL character")
            bad.add(name)
        elif len(value) > _LIMITS.get(name, len(value)):
            problems.append(f"{shown}: longer than {_LIMITS[name]} characters")
            bad.add(name)
    return problems


def _number(text: str) -> float:
    return float(text.replace(",", ".") if _DECIMAL_COMMA.fullmatch(text) else text)


def _shown(text: str, most: int = 40) -> str:
    """A cell quoted in a reason, cut short: the report must not repeat a 100,000-character cell."""
    return repr(text if len(text) <= most else text[:most] + "…")
