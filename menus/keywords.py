"""SMS keyword grammar and replies (pure).

Contract: :func:`parse` reads an SMS: the first word (or two, for "STOP ALL", "OPT OUT") is the
keyword, matched case-, accent- and punctuation-insensitively with one typo tolerated in words
of five letters or more (a typo one edit from keywords of two different actions is not
guessed: ``unknown``); the rest is the argument. It returns a :class:`Command` with the
action, the argument and the language the keyword was written in (None when the word is
shared, e.g. STOP). Text whose first word is no keyword is ``unknown`` — a bare place name
("Soweto") too: the gateway answers it with help, so a citizen learns the keywords.

Words live in ``keywords.yaml``; reply wording in the message catalogues.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from menus.catalogue import LANGUAGES, Catalogues, load_yaml
from menus.render import short_centre_name
from menus.segments import measure
from menus.text import fold
from menus.visits import coming_up_line

KEYWORDS = Path(__file__).with_name("keywords.yaml")
ACTIONS = ("nearest", "services", "help", "join", "stop", "start", "lang", "status", "alerts", "ask", "complain")
REPLY_SEGMENTS = 2
ALERTS_OFF = ("off", "stop", "no", "none", "end", "af")  # ALERTS OFF: the words after ALERTS that end alerts


@dataclass(frozen=True)
class Command:
    action: str  # one of ACTIONS or "unknown"
    argument: str
    language: str | None


@dataclass(frozen=True)
class _Grammar:
    words: dict[str, tuple[str, str | None]]  # folded keyword → (action, language or None)
    fuzzy: list[str]  # keywords long enough for typo tolerance
    languages: dict[str, str]  # folded language name/code → code
    thread_stop: frozenset[str]  # folded words that still opt out inside a question's thread


def keyword_key(word: str) -> str:
    """A keyword as the grammar matches it (case, accents, punctuation and spaces ignored)."""
    return fold(str(word)).replace(" ", "") or str(word)


def clashes(actions: dict) -> list[str]:
    """Every problem of the ``actions`` table (keywords.yaml's): an unknown action or language,
    a word that means two actions. The grammar refuses to load with any; a translation import
    refuses a keyword that would cause one."""
    problems, meaning = [], {}
    for action, by_lang in actions.items():
        if action not in ACTIONS:
            problems.append(f"unknown action {action!r}")
        for lang, items in (by_lang or {}).items():
            if lang not in LANGUAGES:
                problems.append(f"unknown language {lang!r} under {action}")
            for word in items or ():
                prev = meaning.setdefault(keyword_key(word), (action, lang, word))
                if prev[0] != action:
                    problems.append(f"{word!r} would mean both {prev[0]} ({prev[1]} {prev[2]!r}) and {action} ({lang})")
    return problems


@lru_cache(maxsize=2)
def grammar(path: str = str(KEYWORDS)) -> _Grammar:
    data = load_yaml(Path(path))
    problems = clashes(data["actions"])
    if problems:
        raise ValueError(f"{path}: {problems[0]}")
    words: dict[str, tuple[str, str | None]] = {}
    langs_of: dict[str, set[str]] = {}
    for action, by_lang in data["actions"].items():
        for lang, items in by_lang.items():
            for word in items:
                key = keyword_key(word)
                words[key] = (action, None)
                langs_of.setdefault(key, set()).add(lang)
    # A word used by one language only tells us the language; a shared one (STOP) does not.
    words = {k: (a, next(iter(langs_of[k])) if len(langs_of[k]) == 1 else None) for k, (a, _l) in words.items()}
    languages = {}
    for code, names in data["languages"].items():
        for name in names:
            languages[fold(str(name)).replace(" ", "")] = code
    thread_stop = set()
    for lang, items in data["thread_stop"].items():
        for word in items:
            key = fold(str(word)).replace(" ", "")
            if words.get(key, ("",))[0] != "stop":
                raise ValueError(f"{path}: thread_stop {word!r} ({lang}) is not a stop word")
            thread_stop.add(key)
    return _Grammar(words, [w for w in words if len(w) >= 5], languages, frozenset(thread_stop))


def _lookup(word: str, g: _Grammar) -> tuple[str, str | None] | None:
    hit = g.words.get(word)
    if hit is None and len(word) >= 5:
        near = {g.words[k] for k in g.fuzzy if Levenshtein.distance(word, k, score_cutoff=1) <= 1}
        # One typo away from two different actions ('USUBSCRIBE': JOIN or UNSUBSCRIBE?) is
        # not guessed: a wrong guess could subscribe someone who asked to stop.
        if len({action for action, _lang in near}) == 1:
            langs = {lang for _action, lang in near}
            hit = (next(iter(near))[0], langs.pop() if len(langs) == 1 else None)
    return hit


def parse(text: str) -> Command:
    """Read one SMS into a :class:`Command`."""
    g = grammar()
    raw_words = (text or "").strip().split()
    folded = [fold(w).replace(" ", "") for w in raw_words]
    if (text or "").strip() in ("?", "??"):
        return Command("help", "", None)
    if not raw_words or not any(folded):
        return Command("unknown", "", None)
    # Two-word keywords first ("STOP ALL", "OPT OUT"), then one word.
    if len(folded) >= 2 and (folded[0] + folded[1]) in g.words:
        action, lang = g.words[folded[0] + folded[1]]
        rest = raw_words[2:]
    else:
        hit = _lookup(folded[0], g)
        if hit is None:
            return Command("unknown", (text or "").strip()[:160], None)
        (action, lang), rest = hit, raw_words[1:]
    argument = " ".join(rest).strip(" .,!?;:-")[:160]
    if action == "stop" and fold(argument) in ("all", "alles", "konke", "tsohle", "zonke"):
        argument = ""  # STOP ALL means the same as STOP: every bulk message stops
    return Command(action, argument, lang)


def is_thread_stop(text: str) -> bool:
    """True when ``text`` is one ``thread_stop`` word alone, exactly (case, accents and
    punctuation aside; no typo): inside a question's thread nothing else opts out."""
    words = (text or "").split()
    return len(words) == 1 and fold(words[0]).replace(" ", "") in grammar().thread_stop


def language_from_name(text: str) -> str | None:
    """'isiZulu', 'zulu', 'ZU', 'Sesotho sa Leboa' → language code; None if not a language."""
    return grammar().languages.get(fold(text or "").replace(" ", ""))


# --- replies -------------------------------------------------------------------------------

def _cats() -> Catalogues:
    return Catalogues.load()


def reply_text(kind: str, lang: str, **values) -> str:
    """A fixed reply (help, stop, start, lang, unknown, not_found, …) in ``lang``."""
    return _cats().text(lang, f"sms.{kind}", **values)


def welcome_back(lang: str, confirmation: str) -> str:
    """A consent confirmation that also lifted a global STOP says so: START's confirmation
    first, then ``confirmation`` (both exist in every language; within the reply budget)."""
    return f"{reply_text('start', lang)} {confirmation}"


def nearest_reply(lang: str, place: str, centres: list[dict], status_line: str | None = None) -> str:
    """'Nearest to Soweto: 1) …' within two SMS segments. Names are the short forms the USSD
    screens use ("Orange Farm Thusong", not "… Service Centre (launched 2006 as Orange Farm
    MPCC)"): every segment is paid for. ``centres``: dicts with name, town, phone,
    distance_km and optionally ``coming_up`` (service visits, soonest first), shown under
    the centre as "Coming up: SASSA Tue 3 Dec 09:00-14:00".

    To fit, the farthest centres' visits go first, then the farthest centres (never the
    first); the nearest centre's visit is kept over the third centre. ``status_line`` (its
    offices not working normally today) follows the nearest centre in every try: it is what
    saves a wasted trip."""
    cats = _cats()
    title = cats.text(lang, "sms.nearest_title", place=place)
    n = len(centres)
    # (centres shown, how many of them show their visit), most complete first; every count
    # with a visit on the nearest centre before any without one.
    tries = [(count, shown) for count in range(n, 0, -1) for shown in range(count, 0, -1)]
    tries += [(count, 0) for count in range(n, 0, -1)]
    for count, shown in tries:
        lines = [title]
        for i, c in enumerate(centres[:count], 1):
            name = short_centre_name(c["name"])
            km = c.get("distance_km")
            dist = "" if km is None else (" <1km" if km < 1 else f" {km:.0f}km")
            town = f", {c['town']}" if c.get("town") and c["town"].lower() not in name.lower() else ""
            phone = f", {cats.text(lang, 'centre.phone')} {c['phone']}" if c.get("phone") else ""
            lines.append(f"{i}) {name}{town}{dist}{phone}")
            if i == 1 and status_line:
                lines.append(status_line)
            coming = coming_up_line(c.get("coming_up") or (), lang, limit=1) if i <= shown else ""
            if coming:
                lines.append(coming)
        if shown and not any(c.get("coming_up") for c in centres[:shown]):
            continue  # the same text as the try without visits
        lines.append(cats.text(lang, "sms.nearest_more"))
        text = "\n".join(lines)
        if measure(text).segments <= REPLY_SEGMENTS:
            return text
    return title + " " + short_centre_name(centres[0]["name"])[:100]


def services_reply(lang: str, centre_name: str, services: list[str]) -> str:
    cats = _cats()
    if not services:
        return cats.text(lang, "sms.services_none", centre=short_centre_name(centre_name))
    text = cats.text(lang, "sms.services", centre=short_centre_name(centre_name), services=", ".join(services))
    while measure(text).segments > REPLY_SEGMENTS and len(services) > 1:
        services = services[:-1]
        text = cats.text(lang, "sms.services", centre=short_centre_name(centre_name), services=", ".join(services) + "...")
    return text
