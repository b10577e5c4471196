"""Every screen of every journey, in every enabled language, fits one USSD screen.

The walk is product code (``gateway.ussd.walk``: translations are checked by it on import):
the pure engine (``menus.engine.step``) is driven with the gateway's real reads over the
seeded runtime (real directory, real SQL), writes kept in memory, walking each journey the way a caller would: every page of every
list (98), every province, every municipality, every centre with its details and services
pages (half the centres with every office reported down today for the language's longest
reason: the details screen lists those first), nearest lists for real and long place names, every service near places and per
province, the notices list, the language list, end screens, and the invalid-input (hint)
variant of every screen and page. Each rendered screen must be ≤160 GSM-7 characters (≤70
when it needs UCS-2) and must still show its navigation and every menu choice (a screen
"fitted" by cutting its options off is a failure too).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from gateway.clock import SAST
from gateway.dialogue.office_status import REASONS
from gateway.store.models import (
    Centre,
    Municipality,
    Office,
    OfficeStatus,
    Province,
    centre_offices,
)
from gateway.ussd.ports import UssdPorts
from gateway.ussd.walk import DryPorts, Walker, walk_language
from menus.catalogue import Catalogues
from menus.engine import load_journey, step
from menus.journey import JourneyError
from menus.render import short_centre_name
from tests.conftest import SEED_ROWS

JOURNEY = load_journey()
LANGS = JOURNEY.languages


@pytest.fixture
def read_cache():
    return {}


def report_every_office_down(rt, lang: str) -> str:
    """Give every other centre every office, each reported ``down`` now for the reason whose
    words are longest in ``lang``; returns the first office's status line as screens show it."""
    reason = max(REASONS, key=lambda code: len(JOURNEY.catalogues.text(lang, f"status_reason.{code}")))
    now = rt.clock.now()
    with rt.sessions.begin() as s:
        offices = list(s.scalars(select(Office.id).order_by(Office.id)))
        centres = list(s.scalars(select(Centre.id).order_by(Centre.id)))[::2]
        s.execute(insert(centre_offices), [{"centre_id": c, "office_id": o} for c in centres for o in offices])
        s.execute(insert(OfficeStatus), [
            {"centre_id": c, "office_id": o, "state": "down", "reason": reason, "via": "cli",
             "set_at": now - timedelta(minutes=1), "expires_at": now + timedelta(hours=1)}
            for c in centres for o in offices])
    return JOURNEY.catalogues.text(lang, "status.line", office=JOURNEY.catalogues.text(lang, "office.HA"),
                                   state=JOURNEY.catalogues.text(lang, "status.down"),
                                   reason=JOURNEY.catalogues.text(lang, f"status_reason.{reason}"),
                                   time=f"{(now - timedelta(minutes=1)).astimezone(SAST):%H:%M}")


@pytest.mark.parametrize("lang", LANGS)
def test_every_screen_fits_in_every_language(seeded, lang, read_cache):
    line = report_every_office_down(seeded, lang)
    walker = walk_language(seeded, JOURNEY, lang, read_cache)
    assert walker.status_screens, f"no details screen showed {line!r}"
    assert not walker.problems, (
        f"{len(walker.problems)} of {walker.screens} screens break the budget:\n\n"
        + "\n\n".join(str(p) for p in walker.problems[:20]))
    # the walk really covered the directory: every seed centre's screens were rendered
    with seeded.sessions() as s:
        assert set(s.scalars(select(Centre.id))) == walker.seen_centres
    assert len(walker.seen_centres) == SEED_ROWS and walker.screens > 2000


def test_walk_includes_the_longest_real_names_and_every_municipality(seeded):
    """Guard the walk's coverage: the longest seed centre names and every province's
    municipalities are on screens the walk renders (checked in English)."""
    seen: list[str] = []
    ports = DryPorts(UssdPorts(seeded, "+27829990000", "budget-cover", "en"), {})
    walker = Walker(JOURNEY, ports, "en")
    original = walker.check_text

    def record(text, path, screen, end):
        seen.append(text)
        original(text, path, screen, end)

    walker.check_text = record
    walker.browse(step(JOURNEY, {"lang": "en"}, None, ports)[1])
    shown = "\n".join(seen)
    with seeded.sessions() as s:
        names = list(s.scalars(select(Centre.name).where(Centre.active.is_(True),
                                                         Centre.province_id.is_not(None))))
        munis = list(s.scalars(select(Municipality.name).join(Province).join(
            Centre, Centre.municipality_id == Municipality.id).where(Centre.active.is_(True))))

    longest = sorted(names, key=lambda n: len(short_centre_name(n)), reverse=True)[:5]
    for name in longest:
        assert short_centre_name(name) in shown, name
    for muni in munis:
        assert f". {muni}\n" in shown, muni
    assert not walker.problems, "\n\n".join(str(p) for p in walker.problems[:10])


# --- the checks can fail ---------------------------------------------------------------------

def _catalogues_with(lang: str, key: str, text: str) -> Catalogues:
    cats = Catalogues.load()
    cat = cats.by_code[lang]
    changed = dataclasses.replace(cat, strings={**cat.strings, key: text})
    return Catalogues({**cats.by_code, lang: changed})


@pytest.mark.parametrize("key, screens", [
    ("main.title", {"main"}),  # a menu title: must not load "fitted" by cutting the choices off
    ("resume.title", {"resume"}),
    ("find.prompt", {"find_place", "service_place"}),  # an input prompt
    ("subscribe.consent", {"subscribe_confirm"}),
    ("rate.thanks", {"thanks"}),  # an end screen
])
def test_too_long_translation_of_a_static_screen_is_refused_at_load(key, screens):
    cats = _catalogues_with("zu", key, "Lokhu kuyinde kakhulu " * 10)  # 220 chars, GSM-7
    with pytest.raises(JourneyError) as caught:
        load_journey(catalogues=cats)
    assert screens <= set(caught.value.problems), caught.value.problems
    assert all("zu:" in msg for sid in screens for msg in caught.value.problems[sid])


def test_too_long_translation_on_a_list_screen_is_caught_by_the_walk(seeded):
    """List titles are paginated with live data, so the loader cannot check them: the walk
    does. A 200-character isiZulu province prompt is reported (GSM-7 and UCS-2 variants)."""
    for text in ("Khetha " * 29, "Khetha š " * 23):
        journey = load_journey(catalogues=_catalogues_with("zu", "browse.provinces", text[:200]))
        ports = DryPorts(UssdPorts(seeded, "+27829990001", "budget-neg", "zu"), {})
        walker = Walker(journey, ports, "zu")
        _r, main = walker.step(None, None, "dial")
        reply, provinces = walker.step(main, "2", "dial")
        walker.pages(reply, provinces, "dial 2")
        assert walker.problems, text
        assert all(p.path.startswith("dial 2") for p in walker.problems)


def test_walker_flags_an_over_budget_screen():
    walker = Walker(JOURNEY, None, "en")
    walker.check_text("x" * 161 + "\n0.Back 00.Home", "p", "provinces", False)
    walker.check_text("ṱ" * 60 + "\n0.Back 00.Home", "p", "provinces", False)  # UCS-2: 75
    walker.check_text("x" * 100, "p", "provinces", False)  # navigation lost
    assert [p.why.split(" ")[0] for p in walker.problems] == ["176", "75", "navigation"]
    walker.problems.clear()
    walker.check_text("Choose a province:\n1. Gauteng\n0.Back 00.Home", "p", "provinces", False)
    assert not walker.problems


def test_a_language_with_non_gsm7_letters_walks_within_70_units(seeded):
    """Every shipped string is GSM-7, so without this the walk never renders a UCS-2 screen
    and a renderer treating UCS-2 as 160 would pass. Sepedi spelt with its own letter (š) in
    every list and details text (not titles that carry a place name: a translator keeps those
    GSM-7, as a long place leaves no room in 70 units, and the walk reports it — see above):
    each such screen must fit 70 UCS-2 units."""
    journey = JOURNEY
    keys = {s.title for s in journey.screens.values() if s.type in ("list", "info") and s.title}
    static = {k for s in journey.screens.values() if s.type not in ("list", "info") for k in s.text_keys()}
    keys |= {k for k in journey.catalogues.by_code["nso"].strings if k.startswith("centre.")} - static
    cats = journey.catalogues
    nso = cats.by_code["nso"]
    strings = {k: (v.replace("s", "š", 1) if "s" in v else v + " š") if k in keys and "{" not in v else v
               for k, v in nso.strings.items()}
    variant = Catalogues({**cats.by_code, "nso": dataclasses.replace(nso, strings=strings)})
    walker = walk_language(seeded, load_journey(catalogues=variant), "nso", {})
    assert not walker.problems, "\n\n".join(str(p) for p in walker.problems[:10])
    assert walker.ucs2_screens > 500, walker.ucs2_screens  # the 70-unit limit was exercised


# The longest week the hours grammar allows: every day different, each with a lunch break.
LONGEST_WEEK = {f"hours_{day}": f"0{n}:00-12:30,13:30-1{n + 2}:45"
                for n, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), start=1)}
# English and the language whose details labels are longest (a walk takes ~3 s a language).
LONGEST_LABELS = max(LANGS, key=lambda lang: sum(len(JOURNEY.catalogues.text(lang, k)) for k in (
    "centre.address", "centre.hours", "centre.phone", "nav.more", "nav.back", "nav.invalid")))


@pytest.mark.parametrize("lang", sorted({"en", LONGEST_LABELS}))
def test_every_screen_fits_with_the_longest_opening_hours(seeded, lang):
    with seeded.sessions.begin() as s:
        for centre in s.scalars(select(Centre)):
            for column, hours in LONGEST_WEEK.items():
                setattr(centre, column, hours)
    seeded.directory.changed()
    details = seeded.browse.centre(next(iter(seeded.browse.centres_in(seeded.browse.provinces()[0].id, None))).id)
    assert details.hours.startswith("Mon 01:00-12:30,13:30-13:45, Tue 02:00-12:30") and len(details.hours) > 180
    walker = walk_language(seeded, JOURNEY, lang, {})
    assert not walker.problems, "\n\n".join(str(p) for p in walker.problems[:20])
