"""Every screen of every journey, in every enabled language, fits one USSD screen.

The pure engine (``menus.engine.step``) is driven with the gateway's real ports
(``gateway.ussd.ports.UssdPorts`` over the seeded runtime: real directory, real SQL, real
Redis for the queued SMS), walking each journey the way a caller would: every page of every
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
import re
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
from menus.catalogue import Catalogues
from menus.engine import apology_text, load_journey, step
from menus.journey import Journey, JourneyError
from menus.render import short_centre_name
from menus.segments import fits_ussd_screen, is_gsm7
from tests.conftest import SEED_ROWS

JOURNEY = load_journey()
LANGS = JOURNEY.languages
INVALID = "99"  # never a valid choice: at most 9 items a page, menus have at most 7 options
UNKNOWN_PLACE = "Xyzzyville"
# Townships and places citizens type (aliases, misspellings), besides every centre's town.
TYPED_PLACES = ["Soweto", "Sowetto", "Khayelitsa", "KwaMashu", "Umlazi", "Mthatha",
                "Pietermaritzburg", "Ga-Rankuwa", "Mitchells Plain", "Polokwane", "Kimberley"]
LONG_QUESTION = ("Where do I apply for a replacement ID book and how long does it take? I lost mine "
                 "last month and the clinic wants it before the end of this month.")
SERVICE_PLACES = ["Soweto", "Umlazi", "Khayelitsha", "Mthatha", "Polokwane", "Upington"]
_OPTION = re.compile(r"^(\d)\. ", re.M)
READS = ("provinces", "municipalities", "centres_in", "centre", "nearest", "services",
         "centres_offering")


class CachedPorts:
    """The real ports; reads memoised for the walk (the directory does not change during it)."""

    def __init__(self, inner: UssdPorts, cache: dict):
        self._inner, self._cache = inner, cache

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name not in READS:
            return attr

        def read(*args, **kwargs):
            key = (name, args, tuple(sorted(kwargs.items())))
            if key not in self._cache:
                self._cache[key] = attr(*args, **kwargs)
            return self._cache[key]

        return read


@dataclasses.dataclass
class Problem:
    lang: str
    path: str
    why: str
    text: str

    def __str__(self) -> str:
        return f"[{self.lang}] {self.path}: {self.why}\n{self.text}"


class Walker:
    """Walks one language's journeys through ``step`` and records every screen that breaks
    the budget (or lost its navigation / menu choices to make it fit)."""

    def __init__(self, journey: Journey, ports, lang: str):
        self.journey, self.ports, self.lang = journey, ports, lang
        self.back = journey.catalogues.text(lang, "nav.back")
        self.problems: list[Problem] = []
        self.screens = 0
        self.ucs2_screens = 0
        self.seen_centres: set[int] = set()
        self.status_screens = 0  # screens showing an office's status (the details' first lines)

    # --- checking ------------------------------------------------------------------------

    def check_text(self, text: str, path: str, screen: str | None, end: bool) -> None:
        self.screens += 1
        self.status_screens += f": {self.journey.catalogues.text(self.lang, 'status.down')} - " in text
        self.ucs2_screens += not is_gsm7(text)
        why = []
        if not text.strip():
            why.append("empty screen")
        if not fits_ussd_screen(text):
            enc = "GSM-7" if is_gsm7(text) else "UCS-2"
            why.append(f"{len(text)} chars ({enc}) over the USSD screen budget")
        if not end and screen not in (None, self.journey.start, "resume", "__ended__"):
            if not text.endswith(self.back):
                why.append("navigation (0 Back / 00 Home) cut off")
        spec = self.journey.screens.get(screen or "")
        if not end and spec is not None and spec.type == "menu":
            shown = {int(n) for n in _OPTION.findall(text)}
            if shown != set(range(1, len(spec.options) + 1)):
                why.append(f"menu shows choices {sorted(shown)} of {len(spec.options)}")
        if why:
            self.problems.append(Problem(self.lang, path, "; ".join(why), text))

    def step(self, state: dict | None, key: str | None, path: str):
        reply, new = step(self.journey, state or {"lang": self.lang}, key, self.ports)
        path = f"{path} {key}" if key is not None else path
        self.check_text(reply.text, path, new.get("screen"), reply.end)
        return reply, new

    # --- walking -------------------------------------------------------------------------

    def pages(self, reply, state: dict, path: str) -> list[tuple[object, dict, str]]:
        """Every page of the list/info screen ``state`` shows (98 until the last), with the
        invalid-input variant of each page checked on the way."""
        out = [(reply, state, path)]
        while True:
            self.step(state, INVALID, path)  # the hint variant of this page
            nxt_reply, nxt = self.step(state, "98", path)
            if nxt.get("page", 0) == state.get("page", 0):
                return out  # 98 on the last page is refused (also a hint screen: checked)
            reply, state, path = nxt_reply, nxt, f"{path} 98"
            out.append((reply, state, path))

    def choose_each(self, reply, state: dict, path: str):
        """(reply, state, path) after choosing each item of a list, page by page."""
        for page_reply, page_state, page_path in self.pages(reply, state, path):
            for n in sorted({int(k) for k in _OPTION.findall(page_reply.text)}):
                yield self.step(page_state, str(n), page_path) + (f"{page_path} {n}",)

    def walk(self) -> None:
        reply, main = self.step(None, None, "dial")
        self.step(main, INVALID, "dial")
        self.too_many(main)
        self.check_text(apology_text(self.lang), "apology", None, True)
        self.notices(main, expect_empty=True)
        self.ask(main, until_refused=False)  # no subscription: to "the Thusong team"
        self.find(main)
        self.browse(main)  # also subscribes to every centre: the notices list gets long
        self.ask(main, until_refused=True)  # to the longest-named centre, then the refs waiting
        self.unlisted_centres()
        self.notices(main, expect_empty=False)
        self.services(main)
        self.rate(main)
        self.resume()
        self.languages(main)

    def ask(self, main: dict, until_refused: bool) -> None:
        """"Ask a question": the prompt, its hint (too short a text), the reference screen —
        routed to the centre with the longest name — and, past the open-question limit, the
        screen listing the references still waiting."""
        if until_refused:
            longest = max(self.ports.rt.directory.entries(), key=lambda e: len(short_centre_name(e.name)))
            self.ports.subscribe(longest.id)  # the latest subscription: where questions go
        for _ in range(self.ports.rt.settings.QUESTIONS_OPEN_PER_NUMBER + 1):
            _r, prompt = self.step(main, "7", "dial")
            if prompt["screen"] == "ask_waiting":
                assert until_refused and _r.end, _r.text
                return
            self.step(prompt, "x", "dial 7")  # too short: the hint
            reply, _asked = self.step(prompt, LONG_QUESTION, "dial 7")
            assert reply.end and "Q" in reply.text, reply.text
            if not until_refused:
                return
        raise AssertionError("the open-question limit never showed its screen")

    def too_many(self, main: dict) -> None:
        state = main
        for _ in range(3):
            reply, state = self.step(state, INVALID, "dial (invalid x3)")
        assert reply.end, reply.text
        self.step(state, "1", "dial (after end)")

    def find(self, main: dict) -> None:
        _r, prompt = self.step(main, "1", "dial")
        self.step(prompt, UNKNOWN_PLACE, "dial 1")
        for place in self.places():
            reply, listed = self.step(prompt, place, "dial 1")
            if listed["screen"] == "nearest":
                for _r, centre, path in self.choose_each(reply, listed, f"dial 1 {place!r}"):
                    self.centre(centre, path)

    def places(self) -> list[str]:
        towns = {e.town for e in self.ports.rt.directory.entries() if e.town}
        # The gazetteer's longest names, and those that need UCS-2 (Daniëlskuil): the
        # "Nearest to {place}" title then halves the room on the page.
        names = {p.name for p in self.ports.rt.gazetteer._index.values()}
        longest = sorted(names, key=len, reverse=True)[:15]
        ucs2 = sorted(n for n in names if not is_gsm7(n))
        return sorted(towns) + TYPED_PLACES + longest + ucs2

    def browse(self, main: dict) -> None:
        reply, provinces = self.step(main, "2", "dial")
        for munis_reply, munis, path in self.choose_each(reply, provinces, "dial 2"):
            for centres_reply, centres, path2 in self.choose_each(munis_reply, munis, path):
                for _r, centre, path3 in self.choose_each(centres_reply, centres, path2):
                    self.centre(centre, path3)

    def unlisted_centres(self) -> None:
        """Centres no list leads to (closed, or no province recorded) still have screens: a
        subscription outlives a closure, a resumed session may stand on one. Reach each the
        way a resumed session does."""
        with self.ports.rt.sessions() as s:
            rows = s.execute(select(Centre.id, Centre.name)).all()
        for cid, name in rows:
            if cid in self.seen_centres:
                continue
            dropped = {"screen": "centre", "stack": ["main"], "page": 0, "bad": 0,
                       "v": {"centre_id": cid, "centre": short_centre_name(name)}}
            _r, offer = self.step({"lang": self.lang, "resume_candidate": dropped}, None, "redial")
            _r, centre = self.step(offer, "1", f"redial (centre {cid})")
            self.centre(centre, f"redial (centre {cid}) 1")

    def centre(self, state: dict, path: str) -> None:
        assert state["screen"] == "centre", (path, state["screen"])
        cid = state["v"]["centre_id"]
        if cid in self.seen_centres:
            return
        self.seen_centres.add(cid)
        self.step(state, INVALID, path)
        for key in ("1", "2"):  # details, services: every page
            reply, info = self.step(state, key, path)
            self.pages(reply, info, f"{path} {key}")
        self.step(state, "3", path)  # SMS me → end screen
        _r, consent = self.step(state, "4", path)
        self.step(consent, INVALID, f"{path} 4")
        self.step(consent, "2", f"{path} 4")
        self.step(consent, "1", f"{path} 4")  # subscribed → end screen
        _r, rate = self.step(state, "5", path)
        self.step(rate, INVALID, f"{path} 5")
        _r, reason = self.step(rate, "4", f"{path} 5")
        self.step(reason, INVALID, f"{path} 5 4")
        self.step(reason, "6", f"{path} 5 4")  # thanks → end screen

    def notices(self, main: dict, expect_empty: bool) -> None:
        _r, menu = self.step(main, "4", "dial")
        self.step(menu, INVALID, "dial 4")
        _r, stop_all = self.step(menu, "2", "dial 4")  # stop ALL messages: confirm, no, yes
        self.step(stop_all, INVALID, "dial 4 2")
        self.step(stop_all, "2", "dial 4 2")
        self.step(stop_all, "1", "dial 4 2")  # all stopped → end screen
        reply, notices = self.step(menu, "1", "dial 4")
        if expect_empty:
            self.step(notices, INVALID, "dial 4 1")
            return
        assert "1. " in reply.text, reply.text
        for _r, confirm, path in self.choose_each(reply, notices, "dial 4 1"):
            assert confirm["screen"] == "unsubscribe_confirm", path
            self.step(confirm, INVALID, path)
            self.step(confirm, "2", path)
        _r, confirm = self.step(notices, "1", "dial 4 1")
        self.step(confirm, "1", "dial 4 1 1")  # notices stopped → end screen

    def services(self, main: dict) -> None:
        reply, services = self.step(main, "3", "dial")
        for _r, where, path in self.choose_each(reply, services, "dial 3"):
            self.step(where, INVALID, path)
            _r, prompt = self.step(where, "1", path)
            self.step(prompt, UNKNOWN_PLACE, f"{path} 1")
            for place in SERVICE_PLACES:
                reply, found = self.step(prompt, place, f"{path} 1")
                self.pages(reply, found, f"{path} 1 {place!r}")
            reply, provinces = self.step(where, "2", path)
            for found_reply, found, path2 in self.choose_each(reply, provinces, f"{path} 2"):
                self.pages(found_reply, found, path2)

    def rate(self, main: dict) -> None:
        _r, prompt = self.step(main, "5", "dial")
        self.step(prompt, UNKNOWN_PLACE, "dial 5")
        for place in TYPED_PLACES:
            reply, listed = self.step(prompt, place, "dial 5")
            for _r, rate, path in self.choose_each(reply, listed, f"dial 5 {place!r}"):
                self.step(rate, INVALID, path)
                _r, reason = self.step(rate, "5", path)
                self.step(reason, INVALID, f"{path} 5")
                self.step(reason, "1", f"{path} 5")

    def resume(self) -> None:
        _r, main = self.step(None, None, "dial")
        _r, prompt = self.step(main, "1", "dial")
        _r, listed = self.step(prompt, "Soweto", "dial 1")
        _r, centre = self.step(listed, "1", "dial 1 Soweto")
        dropped = {k: v for k, v in centre.items()}
        reply, offer = self.step({"lang": self.lang, "resume_candidate": dropped}, None, "redial")
        assert offer["screen"] == "resume", reply.text
        self.step(offer, INVALID, "redial")
        self.step(offer, "1", "redial")
        self.step(offer, "2", "redial")

    def languages(self, main: dict) -> None:
        reply, langs = self.step(main, "6", "dial")
        for _r, chosen, path in self.choose_each(reply, langs, "dial 6"):
            assert chosen["screen"] == self.journey.start, path


@pytest.fixture
def read_cache():
    return {}


def walk_language(rt, journey: Journey, lang: str, cache: dict) -> Walker:
    phone = f"+2782{LANGS.index(lang) if lang in LANGS else 99:03d}0000"
    ports = CachedPorts(UssdPorts(rt, phone, f"budget-{lang}", lang), cache)
    walker = Walker(journey, ports, lang)
    walker.walk()
    return walker


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
    ports = CachedPorts(UssdPorts(seeded, "+27829990000", "budget-cover", "en"), {})
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
        ports = CachedPorts(UssdPorts(seeded, "+27829990001", "budget-neg", "zu"), {})
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
