"""The budget walk: every USSD screen of one language, rendered as a phone shows it, checked
against the screen budget. CI runs it for every language (tests/ussd/test_screen_budget.py);
``thusong translations import`` runs it on a translator's wording before accepting it.

Contract: :func:`walk_language` drives the pure engine (``menus.engine.step``) through
:class:`DryPorts` — the gateway's real reads (directory, gazetteer, offices' news) with every
write kept in memory (no subscription, SMS, feedback or language is recorded) — the way a
caller would: every page of every list (98), every province, municipality and centre with its
details and services pages, nearest lists for real and long place names, every service near
places and per province, the notices list, the language list, end screens, and the
invalid-input (hint) variant of every screen and page. It returns the :class:`Walker` with
``problems``: each screen over 160 GSM-7 characters (70 when it needs UCS-2), or "fitted" by
cutting its navigation or a menu choice off, or a step the journey did not take as expected.
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select

from gateway.store.models import Centre
from gateway.ussd.ports import UssdPorts
from menus.engine import TOO_MANY, apology_text, step
from menus.journey import Journey
from menus.ports import Asked, Named
from menus.render import short_centre_name
from menus.segments import fits_ussd_screen, is_gsm7

INVALID = "99"  # never a valid choice: at most 9 items a page, menus have at most 7 options
UNKNOWN_PLACE = "Xyzzyville"
# Townships and places citizens type (aliases, misspellings), besides every centre's town.
TYPED_PLACES = ["Soweto", "Sowetto", "Khayelitsa", "KwaMashu", "Umlazi", "Mthatha",
                "Pietermaritzburg", "Ga-Rankuwa", "Mitchells Plain", "Polokwane", "Kimberley"]
LONG_QUESTION = ("Where do I apply for a replacement ID book and how long does it take? I lost mine "
                 "last month and the clinic wants it before the end of this month.")
# The longest reference the walk shows: references start at 4 digits and grow when a length fills.
WALK_REF = "Q2345678"
SERVICE_PLACES = ["Soweto", "Umlazi", "Khayelitsha", "Mthatha", "Polokwane", "Upington"]
_OPTION = re.compile(r"^(\d)\. ", re.M)
READS = ("provinces", "municipalities", "centres_in", "centre", "nearest", "services",
         "centres_offering")


class DryPorts:
    """The real ports' reads, memoised for the walk (the directory does not change during it);
    writes stay in memory, so walking a live service's screens records nothing for anyone."""

    def __init__(self, inner: UssdPorts, cache: dict):
        self._inner, self._cache = inner, cache
        self._subscribed: dict[int, str] = {}  # centre id -> name, as subscribe() left it (latest last)
        self._asked: list[str] = []  # references of the questions "opened" on this walk

    def sms_me(self, centre_id: int) -> bool:
        return True

    def subscribe(self, centre_id: int, alerts: bool = False) -> None:
        details = self.centre(centre_id)
        if details is not None:
            self._subscribed.pop(centre_id, None)
            self._subscribed[centre_id] = details.name

    def questions_waiting(self) -> tuple[str, ...]:
        limit = self._inner.rt.settings.QUESTIONS_OPEN_PER_NUMBER
        return tuple(self._asked) if len(self._asked) >= limit else ()

    def ask(self, text: str) -> Asked:
        """A question routed as the real one is (the latest subscription, else unassigned),
        with the longest reference the service gives; nothing is recorded."""
        self._asked.append(WALK_REF)
        return Asked(WALK_REF, next(reversed(self._subscribed.values()), None))

    def forget_questions(self) -> None:
        self._asked.clear()

    def unsubscribe(self, centre_id: int) -> None:
        self._subscribed.pop(centre_id, None)

    def stop_all(self) -> None:
        """Stops bulk messages only; the notices list keeps its centres (as consent does)."""

    def subscriptions(self) -> list[Named]:
        return [Named(cid, name) for cid, name in sorted(self._subscribed.items(), key=lambda i: i[1])]

    def is_subscribed(self, centre_id: int) -> bool:
        return centre_id in self._subscribed

    def feedback(self, centre_id: int, rating: int, reason: str | None) -> None:
        """Nothing recorded: a walk is no visit."""

    def set_language(self, code: str) -> None:
        self._inner.language = code

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

    def __init__(self, journey: Journey, ports: DryPorts | None, lang: str):
        self.journey, self.ports, self.lang = journey, ports, lang
        self.back = journey.catalogues.text(lang, "nav.back")
        self.problems: list[Problem] = []
        self.screens = 0
        self.ucs2_screens = 0
        self.seen_centres: set[int] = set()
        self.status_screens = 0  # screens showing an office's status (the details' first lines)
        self.first_pages: dict[str, str] = {}  # screen id -> its first page as first shown

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
        if not end and screen not in (None, self.journey.start, "resume", TOO_MANY):
            if not text.endswith(self.back):
                why.append("navigation (0 Back / 00 Home) cut off")
        spec = self.journey.screens.get(screen or "")
        if not end and spec is not None and spec.type == "menu":
            shown = {int(n) for n in _OPTION.findall(text)}
            if shown != set(range(1, len(spec.options) + 1)):
                why.append(f"menu shows choices {sorted(shown)} of {len(spec.options)}")
        if why:
            self.problems.append(Problem(self.lang, path, "; ".join(why), text))

    def expect(self, holds: bool, path: str, why: str, text: str) -> bool:
        """Record a problem unless ``holds`` (the journey went where the walk expected)."""
        if not holds:
            self.problems.append(Problem(self.lang, path, why, text))
        return holds

    def step(self, state: dict | None, key: str | None, path: str):
        reply, new = step(self.journey, state or {"lang": self.lang}, key, self.ports)
        path = f"{path} {key}" if key is not None else path
        self.check_text(reply.text, path, new.get("screen"), reply.end)
        if key != INVALID and not new.get("page"):
            self.first_pages.setdefault(new.get("screen") or "", reply.text)
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
        # With no centre yet (a fresh install) browsing subscribed to nothing: the list stays empty.
        self.notices(main, expect_empty=self.ports is not None and not self.ports.rt.directory.entries())
        self.services(main)
        self.rate(main)
        self.resume()
        self.languages(main)

    def ask(self, main: dict, until_refused: bool) -> None:
        """"Ask a question": the prompt, its hint (too short a text), the reference screen —
        routed to the centre with the longest name — and, past the open-question limit, the
        screen listing the references still waiting."""
        if self.ports is None:
            return
        self.ports.forget_questions()
        entries = self.ports.rt.directory.entries()
        if until_refused and entries:  # an empty directory (a fresh install) has no centre to ask
            longest = max(entries, key=lambda e: len(short_centre_name(e.name)))
            self.ports.subscribe(longest.id)  # the latest subscription: where questions go
        ask_item = str(1 + [o.label for o in self.journey.screens[self.journey.start].options].index("main.ask"))
        for _ in range(self.ports.rt.settings.QUESTIONS_OPEN_PER_NUMBER + 1):
            reply, prompt = self.step(main, ask_item, "dial")
            if prompt.get("screen") == "ask_waiting":
                self.expect(until_refused and reply.end, f"dial {ask_item}", "the waiting list came too early", reply.text)
                return
            self.step(prompt, "x", f"dial {ask_item}")  # too short: the hint
            reply, _asked = self.step(prompt, LONG_QUESTION, f"dial {ask_item}")
            self.expect(reply.end and WALK_REF in reply.text, f"dial {ask_item}", "no reference shown", reply.text)
            if not until_refused:
                return
        self.expect(False, f"dial {ask_item}", "the open-question limit never showed its screen", "")

    def too_many(self, main: dict) -> None:
        state = main
        for _ in range(3):
            reply, state = self.step(state, INVALID, "dial (invalid x3)")
        self.expect(reply.end, "dial (invalid x3)", "three invalid inputs did not end the session", reply.text)
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
        if not self.expect(state["screen"] == "centre", path, f"reached {state['screen']!r}, not a centre", ""):
            return
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
        self.expect("1. " in reply.text, "dial 4 1", "the notices list is empty after subscribing", reply.text)
        for _r, confirm, path in self.choose_each(reply, notices, "dial 4 1"):
            self.expect(confirm["screen"] == "unsubscribe_confirm", path, "no unsubscribe confirmation", "")
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
        self.expect(offer["screen"] == "resume", "redial", "no offer to resume", reply.text)
        self.step(offer, INVALID, "redial")
        self.step(offer, "1", "redial")
        self.step(offer, "2", "redial")

    def languages(self, main: dict) -> None:
        reply, langs = self.step(main, "6", "dial")
        for _r, chosen, path in self.choose_each(reply, langs, "dial 6"):
            self.expect(chosen["screen"] == self.journey.start, path, "choosing a language did not lead home", "")




def walk_language(rt, journey: Journey, lang: str, cache: dict | None = None) -> Walker:
    """Walk every screen of ``journey`` in ``lang`` over ``rt``'s directory; the walker holds
    the problems found. ``cache`` may be shared by walks of the same directory."""
    ports = DryPorts(UssdPorts(rt, "+27820000000", f"budget-{lang}", lang), {} if cache is None else cache)
    walker = Walker(journey, ports, lang)
    walker.walk()
    return walker
