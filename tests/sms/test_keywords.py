"""The SMS keyword grammar (menus.keywords.parse), the words keywords.yaml holds, and the reply
composer: nearest/services replies within two segments, fixed replies with English fallback, and
the reply language an inbound SMS gets (keyword language, else the stored one)."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from gateway.channels.africastalking import InboundSms
from gateway.sms import consent, inbound, optout
from gateway.store.models import Citizen, Message
from menus.catalogue import LANGUAGES, Catalogues, load_yaml
from menus.keywords import (
    ACTIONS,
    KEYWORDS,
    REPLY_SEGMENTS,
    Command,
    is_thread_stop,
    language_from_name,
    nearest_reply,
    parse,
    reply_text,
    services_reply,
    welcome_back,
)
from menus.render import short_centre_name
from menus.segments import measure
from menus.text import fold
from tests.conftest import SEED

YAML = load_yaml(KEYWORDS)
CATALOGUES = Catalogues.load()


def _words(action: str) -> list[tuple[str, str]]:
    """(word, language) for every word keywords.yaml lists under ``action``."""
    return [(str(w), lang) for lang, items in YAML["actions"][action].items() for w in items]


def _languages_of(word: str) -> set[str]:
    key = word.upper().replace(" ", "")
    return {lang for by_lang in YAML["actions"].values() for lang, items in by_lang.items()
            if key in {str(w).upper().replace(" ", "") for w in items}}


# --- the grammar table ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, action, argument, language",
    [
        # nearest: every English spelling, with a place
        ("CENTRE Soweto", "nearest", "Soweto", "en"),
        ("CENTER Soweto", "nearest", "Soweto", "en"),
        ("THUSONG Mthatha", "nearest", "Mthatha", "en"),
        ("NEAREST Umlazi", "nearest", "Umlazi", "en"),
        ("centres Khayelitsha", "nearest", "Khayelitsha", "en"),
        ("FIND Kagiso", "nearest", "Kagiso", "en"),
        ("WHERE Sebokeng", "nearest", "Sebokeng", "en"),
        ("CENTRE Umlazi section B", "nearest", "Umlazi section B", "en"),
        ("CENTRE", "nearest", "", "en"),  # no place: the gateway answers with help
        # case, accents, punctuation, spacing
        ("centre, Soweto!", "nearest", "Soweto", "en"),
        ("Céntre soweto", "nearest", "soweto", "en"),
        ("CENTRE: Soweto.", "nearest", "Soweto", "en"),
        ("*CENTRE* Soweto", "nearest", "Soweto", "en"),
        ("  centre    Soweto  ", "nearest", "Soweto", "en"),
        ("cEnTrE sOwEtO", "nearest", "sOwEtO", "en"),
        ("CENTRE\nSoweto", "nearest", "Soweto", "en"),
        ("CENTRE Polokwane/Pietersburg", "nearest", "Polokwane/Pietersburg", "en"),
        # one typo in a keyword of five letters or more
        ("CENTRR Soweto", "nearest", "Soweto", "en"),
        ("CENTE Soweto", "nearest", "Soweto", "en"),
        ("THUSNG Mthatha", "nearest", "Mthatha", "en"),
        ("THUSOGN Mthatha", "unknown", "THUSOGN Mthatha", None),  # a swap is two edits
        ("NEARST Umlazi", "nearest", "Umlazi", "en"),
        ("SERVICS Kagiso", "services", "Kagiso", "en"),
        ("SERVISES Kagiso", "services", "Kagiso", "en"),
        ("UNSUBSCRIBED", "stop", "", "en"),
        ("UNSUBCRIBE", "stop", "", "en"),
        ("SUBSRIBE Kagiso", "join", "Kagiso", "en"),
        ("CNETRE Soweto", "unknown", "CNETRE Soweto", None),
        ("CENTREEE Soweto", "unknown", "CENTREEE Soweto", None),
        # keywords under five letters take no typo
        ("HLEP", "unknown", "HLEP", None),
        ("JION Kagiso", "unknown", "JION Kagiso", None),
        ("STPO", "unknown", "STPO", None),
        ("STOPP", "unknown", "STOPP", None),
        # a typo one edit from two different actions is not guessed
        ("USUBSCRIBE", "unknown", "USUBSCRIBE", None),  # JOIN or UNSUBSCRIBE?
        ("NSUBSCRIBE", "unknown", "NSUBSCRIBE", None),
        ("STARK", "unknown", "STARK", None),  # START or STAAK (af: stop)?
        ("STAAT", "unknown", "STAAT", None),
        ("THUSON Soweto", "unknown", "THUSON Soweto", None),  # THUSONG or THUSO (help)?
        # services, help
        ("SERVICES Kagiso", "services", "Kagiso", "en"),
        ("service kagiso", "services", "kagiso", "en"),
        ("HELP", "help", "", "en"),
        ("help?", "help", "", "en"),
        ("Help!", "help", "", "en"),
        ("INFO", "help", "", "en"),
        ("MENU", "help", "", "en"),
        ("?", "help", "", None),
        ("??", "help", "", None),
        # join
        ("JOIN", "join", "", "en"),
        ("JOIN Kagiso", "join", "Kagiso", "en"),
        ("join Maponya Mall Thusong", "join", "Maponya Mall Thusong", "en"),
        ("SUBSCRIBE Kagiso", "join", "Kagiso", "en"),
        # stop and its two-word forms; STOP ALL means STOP
        ("STOP", "stop", "", None),
        ("stop", "stop", "", None),
        ("Stop.", "stop", "", None),
        ("STOP!", "stop", "", None),
        ("STOP ALL", "stop", "", "en"),
        ("stop all", "stop", "", "en"),
        ("STOPALL", "stop", "", "en"),
        ("STOP alles", "stop", "", None),
        ("UNSUBSCRIBE", "stop", "", "en"),
        ("OPT OUT", "stop", "", "en"),
        ("opt-out", "stop", "", "en"),
        ("OPTOUT", "stop", "", "en"),
        ("CANCEL", "stop", "", "en"),
        ("QUIT", "stop", "", "en"),
        ("END", "stop", "", "en"),
        ("YEKA konke", "stop", "", None),
        ("EMISA tsohle", "stop", "", None),
        ("MISA zonke", "stop", "", None),
        # start
        ("START", "start", "", "en"),
        ("start", "start", "", "en"),
        ("UNSTOP", "start", "", "en"),
        ("RESUME", "start", "", "en"),
        ("BEGIN", "start", "", "af"),
        ("QALA", "start", "", None),
        # language
        ("LANG zulu", "lang", "zulu", "en"),
        ("LANG isiXhosa", "lang", "isiXhosa", "en"),
        ("LANG af", "lang", "af", "en"),
        ("language Sesotho sa Leboa", "lang", "Sesotho sa Leboa", "en"),
        ("TAAL Afrikaans", "lang", "Afrikaans", "af"),
        ("ULIMI isiZulu", "lang", "isiZulu", "zu"),
        # status: offices' state today at the nearest centre; the staff form reads the same
        ("STATUS Soweto", "status", "Soweto", "en"),
        ("status maponya mall", "status", "maponya mall", "en"),
        ("STATUS", "status", "", "en"),  # no place: the gateway answers with help
        ("STATUS HA DOWN offline", "status", "HA DOWN offline", "en"),
        ("STATS Soweto", "status", "Soweto", "en"),  # one typo
        ("STATUSS Soweto", "status", "Soweto", "en"),
        ("STAND Soweto", "status", "Soweto", "af"),
        ("ISIMO Umlazi", "status", "Umlazi", None),  # zu and nr share it
        ("IMEKO Khayelitsha", "status", "Khayelitsha", "xh"),
        ("MAEMO Polokwane", "status", "Polokwane", None),  # nso and tn share it
        ("BOEMO Mangaung", "status", "Mangaung", "st"),
        ("XIYIMO Giyani", "status", "Giyani", "ts"),
        ("VHUIMO Thohoyandou", "status", "Thohoyandou", "ve"),
        ("SIMO Nelspruit", "status", "Nelspruit", "ss"),
        ("ISIZO", "help", "", "nr"),  # one letter from ISIMO, still help
        ("START", "start", "", "en"),  # STATUS did not take START's typos
        # questions and complaints: the rest is the question, a place before a colon included
        ("ASK Soweto: where do I renew my ID?", "ask", "Soweto: where do I renew my ID", "en"),
        ("ask when is SASSA here", "ask", "when is SASSA here", "en"),
        ("QUESTION about grants", "ask", "about grants", "en"),
        ("QUESTON about grants", "ask", "about grants", "en"),  # one typo
        ("COMPLAIN the queue was 5 hours", "complain", "the queue was 5 hours", "en"),
        ("COMPLAINT no forms", "complain", "no forms", "en"),
        ("COMPLIAN no forms", "unknown", "COMPLIAN no forms", None),  # two edits: not guessed
        ("VRA waar is die kantoor", "ask", "waar is die kantoor", "af"),
        ("KLA die tou", "complain", "die tou", "af"),
        ("BUZA ngifuna i-ID", "ask", "ngifuna i-ID", None),  # zu, xh and nr share it
        ("KHALAZA ulayini mude", "complain", "ulayini mude", None),
        ("BOTSISA", "ask", "", "nso"),
        ("TLETLEBA", "complain", "", "st"),
        ("VUTISA", "ask", "", "ts"),
        ("VHILAELA", "complain", "", "ve"),
        ("STAAK", "stop", "", "af"),
        # not a keyword: unknown, a bare place name too
        ("Soweto", "unknown", "Soweto", None),
        ("Khayelitsha", "unknown", "Khayelitsha", None),
        ("Mthatha", "unknown", "Mthatha", None),
        ("hello there", "unknown", "hello there", None),
        ("Sawubona", "unknown", "Sawubona", None),
        ("0821234567", "unknown", "0821234567", None),
        ("CENTRE-Soweto", "unknown", "CENTRE-Soweto", None),  # one word once folded
        ("", "unknown", "", None),
        ("   ", "unknown", "", None),
        ("!!!", "unknown", "", None),
        ("...", "unknown", "", None),
    ],
)
def test_grammar_table(text, action, argument, language):
    assert parse(text) == Command(action, argument, language)


@pytest.mark.parametrize(
    "text, language",
    [
        ("ISIKHUNGO Soweto", "zu"), ("ESEDUZE Soweto", "zu"), ("IZIKO Mthatha", "xh"),
        ("EKUFUTSHANE Mthatha", "xh"), ("SENTRUM Kaapstad", "af"), ("NAASTE Kaapstad", "af"),
        ("SENTHARA Polokwane", "nso"), ("KGAUSWI Polokwane", "nso"), ("SETSI Maseru", "st"),
        ("HAUFI Bloemfontein", "st"), ("SETHEO Mahikeng", "tn"), ("GAUFI Mahikeng", "tn"),
        ("XIVANDLA Giyani", "ts"), ("SIKHUNGO Mbombela", "ss"), ("SENDARA Thohoyandou", "ve"),
        ("IMKHUNGO KwaMhlanga", "nr"),
        ("Sentrum, Kaapstad!", "af"), ("ISIKUNGO Soweto", "zu"),  # punctuation / one typo keep the language
        ("HULP", "af"), ("USIZO", "zu"), ("UNCEDO", "xh"), ("STAAK", "af"), ("KANSELLEER", "af"),
        ("TAAL af", "af"), ("ULWIMI xh", "xh"), ("POLELO nso", "nso"), ("HERBEGIN", "af"),
        ("DIENSTE Kagiso", "af"), ("IZINSIZAKALO Umlazi", "zu"), ("IINKONZO Mthatha", "xh"),
        ("SIMOLOLA", "tn"), ("LITSHA", "ve"), ("JAMA", "nr"),
        # shared by several languages: no language claimed
        ("THUSO", None), ("STOP", None), ("YEKA", None), ("MISA", None), ("EMISA", None), ("EMA", None),
        ("QALA", None), ("THOMA", None), ("JOYINA Umlazi", None), ("DITIRELO Mahikeng", None), ("PUO st", None),
    ],
)
def test_language_is_detected_from_a_language_specific_keyword(text, language):
    assert parse(text).language == language


@pytest.mark.parametrize("action", ACTIONS)
def test_every_word_in_keywords_yaml_parses_to_its_action(action):
    for word, lang in _words(action):
        cmd = parse(word + " Soweto") if action in ("nearest", "services", "join") else parse(word)
        assert cmd.action == action, (word, lang, cmd)
        langs = _languages_of(word)
        if word != "?":  # '?' is answered with help before any word is looked up
            assert cmd.language == (lang if len(langs) == 1 else None), (word, langs, cmd)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("action", ["stop", "start", "help", "nearest", "lang"])
def test_every_language_has_the_words_a_citizen_needs(action, lang):
    """DESIGN §6: STOP must work for every language (WASPA); the others for a usable service."""
    words = YAML["actions"][action].get(lang) or []
    if action == "start" and not words:
        # Allowed only where the language's STOP confirmation tells the citizen to text START.
        assert "START" in CATALOGUES.text(lang, "sms.stop"), lang
        return
    assert words, f"{action} has no word in {lang}"
    assert all(parse(str(w)).action == action for w in words)


def test_no_keyword_is_also_a_place_name():
    """A citizen texting a bare place ("Cala") must not trigger STOP, START or JOIN."""
    from gateway.directory.gazetteer import Gazetteer

    places = {fold(p.name).replace(" ", "") for p in Gazetteer.load()._index.values()}
    clashes = [(action, lang, w) for action, by_lang in YAML["actions"].items()
               for lang, words in by_lang.items() for w in words
               if fold(str(w)).replace(" ", "") in places]
    assert clashes == []


THREAD_STOP = [
    # label, text, still opts out inside a question's thread
    ("STOP alone", "STOP", True), ("lower case, punctuation", " stop! ", True), ("Afrikaans", "Staak.", True),
    ("isiZulu", "YEKA", True), ("Sesotho", "ema", True), ("siSwati", "YEKELA", True),
    ("CANCEL is not STOP's translation", "CANCEL", False), ("END", "END", False), ("QUIT", "quit", False),
    ("UNSUBSCRIBE", "UNSUBSCRIBE", False), ("KANSELLEER (cancel)", "KANSELLEER", False),
    ("STOP ALL: more than the word", "STOP ALL", False), ("a sentence", "Stop sending me SMS", False),
    ("one typo is not exact", "STOPP", False), ("Cancel my complaint", "Cancel my complaint", False),
    ("empty", "", False),
]


@pytest.mark.parametrize("text, stops", [r[1:] for r in THREAD_STOP], ids=[r[0] for r in THREAD_STOP])
def test_thread_stop_is_an_exact_stop_word_alone(text, stops):
    assert is_thread_stop(text) is stops


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_keeps_a_stop_word_inside_a_thread(lang):
    """WASPA: STOP works everywhere, inside a question's thread too, in every language."""
    words = YAML["thread_stop"].get(lang) or []
    assert words and all(is_thread_stop(str(w)) and parse(str(w)).action == "stop" for w in words)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("action", ["ask", "complain"])
def test_every_language_can_ask_and_complain(action, lang):
    words = YAML["actions"][action].get(lang) or []
    assert words and all(parse(f"{w} something").action == action for w in words)


@pytest.mark.parametrize("word, lang", _words("stop"))
def test_stop_words_of_every_language(word, lang):
    for text in (word, word.lower(), f"{word}.", f" {word}! "):
        assert parse(text).action == "stop", text
    assert parse(f"{word} ALL").action == "stop"


@pytest.mark.parametrize("word", ["all", "ALL", "alles", "konke", "tsohle", "zonke"])
def test_stop_all_in_several_languages_means_stop(word):
    assert parse(f"STOP {word}") == Command("stop", "", parse(f"STOP {word}").language)


def test_keyword_words_do_not_clash_with_seed_town_names():
    towns = {row["town"] for row in csv.DictReader(SEED.open(encoding="utf-8")) if row["town"]}
    assert towns
    clashes = {t: parse(t).action for t in towns if parse(t).action != "unknown"}
    assert clashes == {}


@pytest.mark.parametrize(
    "name, code",
    [
        ("zulu", "zu"), ("isiZulu", "zu"), ("ZU", "zu"), ("isiXhosa", "xh"), ("xhosa", "xh"), ("af", "af"),
        ("Afrikaans", "af"), ("English", "en"), ("Engels", "en"), ("Sepedi", "nso"), ("Sesotho sa Leboa", "nso"),
        ("Northern Sotho", "nso"), ("Setswana", "tn"), ("tswana", "tn"), ("Sesotho", "st"), ("Southern Sotho", "st"),
        ("Xitsonga", "ts"), ("Shangaan", "ts"), ("siSwati", "ss"), ("Swazi", "ss"), ("Tshivenda", "ve"),
        ("Venda", "ve"), ("isiNdebele", "nr"), ("isi-Zulu", "zu"), (" Zulu! ", "zu"),
        ("klingon", None), ("", None), (None, None), ("Soweto", None),
    ],
)
def test_language_from_name(name, code):
    assert language_from_name(name) == code


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_language_code_and_own_name_is_understood(code):
    assert language_from_name(code) == code
    assert language_from_name(Catalogues.load().by_code[code].name) == code


# --- reply composer --------------------------------------------------------------------------

LONG_CENTRES = [
    {"name": "Maponya Mall Thusong Service Centre (launched 2007 as the Soweto Multi-Purpose Community Centre)",
     "town": "Soweto", "phone": "011 938 1234", "distance_km": 2.4},
    {"name": "Kagiso Thusong Service Centre (Mogale City Local Municipality, West Rand District)",
     "town": "Kagiso", "phone": "011 410 0000", "distance_km": 22.6},
    {"name": "Thusong Service Centre (Langeberg Municipality) next to the old magistrate's court building",
     "town": "Ashton", "phone": "023 615 1100", "distance_km": 180.2},
]
TITLE_START = {"en": "Nearest Thusong to", "af": "Naaste Thusong aan", "zu": "iThusong eseduze ne-",
               "xh": None, "nso": "Thusong ya kgauswi le", "st": "Thusong e haufi le"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("count", [1, 2, 3])
def test_nearest_reply_fits_two_segments_with_long_names(lang, count):
    text = nearest_reply(lang, "Soweto", LONG_CENTRES[:count])
    assert measure(text).segments <= REPLY_SEGMENTS
    assert "Maponya Mall Thusong" in text  # the nearest is never dropped
    assert text.startswith(Catalogues.load().text(lang, "sms.nearest_title", place="Soweto"))
    if TITLE_START.get(lang):
        assert text.startswith(TITLE_START[lang])


def test_nearest_reply_shortens_names_then_drops_the_farthest():
    text = nearest_reply("en", "Soweto", LONG_CENTRES)
    assert "(launched" not in text  # shortened: 'Maponya Mall Thusong'
    huge = [dict(c, name=c["name"] + " " + "x" * 120) for c in LONG_CENTRES]
    text = nearest_reply("en", "Soweto", huge)
    assert measure(text).segments <= REPLY_SEGMENTS
    assert text.startswith("Nearest Thusong to Soweto:") and "1) Maponya Mall Thusong" in text


def test_nearest_reply_when_even_one_centre_does_not_fit():
    giant = [{"name": "Z" * 400, "town": "T" * 100, "phone": "0" * 50, "distance_km": 1.0}]
    text = nearest_reply("en", "Soweto", giant)
    assert measure(text).segments <= REPLY_SEGMENTS and text.startswith("Nearest Thusong to Soweto:")


@pytest.mark.parametrize(
    "centre, line",
    [
        ({"name": "Kagiso Thusong Service Centre", "town": "Kagiso", "phone": "011 410 0000", "distance_km": 22.6},
         "1) Kagiso Thusong 23km, Phone 011 410 0000"),  # town already in the name
        ({"name": "Maponya Mall Thusong Service Centre", "town": "Soweto", "phone": None, "distance_km": 2.4},
         "1) Maponya Mall Thusong, Soweto 2km"),
        ({"name": "Maponya Mall Thusong Service Centre", "town": "Soweto", "phone": None, "distance_km": 0.3},
         "1) Maponya Mall Thusong, Soweto <1km"),  # as the USSD list says it, not "0km"
        ({"name": "Orange Farm Thusong Service Centre (launched 2006 as Orange Farm MPCC)", "town": "Orange Farm",
          "phone": None, "distance_km": 24.0}, "1) Orange Farm Thusong 24km"),  # short name: segments cost
        ({"name": "Alexandra Thusong", "town": None, "phone": "011 000 0000", "distance_km": None},
         "1) Alexandra Thusong, Phone 011 000 0000"),
    ],
)
def test_nearest_reply_line_format(centre, line):
    lines = nearest_reply("en", "Soweto", [centre]).split("\n")
    assert lines[0] == "Nearest Thusong to Soweto:" and lines[1] == line
    assert lines[-1] == "Reply SERVICES <place> for services."


@pytest.mark.parametrize("lang, label", [("en", "Phone"), ("zu", "Ucingo"), ("af", "Foon"), ("xh", "Umnxeba"),
                                         ("nso", "Mogala"), ("st", "Mohala")])
def test_nearest_reply_phone_label_follows_the_language(lang, label):
    text = nearest_reply(lang, "Soweto", LONG_CENTRES[1:2])
    assert f", {label} 011 410 0000" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nearest_reply_phone_label_comes_from_the_catalogue(lang):
    label = Catalogues.load().text(lang, "centre.phone")  # English when the language lacks it
    assert f", {label} 011 410 0000" in nearest_reply(lang, "Soweto", LONG_CENTRES[1:2])


@pytest.mark.parametrize("count", [0, 1, 5, 40])
@pytest.mark.parametrize("lang", ["en", "af", "zu", "ve"])
def test_services_reply_fits_two_segments(lang, count):
    services = [f"Home Affairs service number {i} (IDs, birth certificates)" for i in range(count)]
    text = services_reply(lang, "Maponya Mall Thusong Service Centre", services)
    assert measure(text).segments <= REPLY_SEGMENTS
    assert "Maponya Mall Thusong" in text and "Service Centre" not in text
    if count == 0:
        assert text == Catalogues.load().text(lang, "sms.services_none", centre="Maponya Mall Thusong")
    elif count == 40:
        assert text.endswith("...")


@pytest.mark.parametrize("kind", ["help", "unknown", "stop", "start", "lang", "lang_unknown", "not_found",
                                  "nearest_title", "nearest_more", "joined"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_fixed_replies_exist_in_every_language_with_english_fallback(kind, lang):
    text = reply_text(kind, lang, code="*134*1234#", place="Soweto", centre="Kagiso Thusong")
    assert text and "{" not in text
    cat = Catalogues.load().by_code[lang]
    if f"sms.{kind}" not in cat.strings:
        assert text == reply_text(kind, "en", code="*134*1234#", place="Soweto", centre="Kagiso Thusong")
    if kind in ("help", "unknown"):
        assert "*134*1234#" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_stop_confirmation_says_how_to_rejoin(lang):
    assert "START" in reply_text("stop", lang)


# --- the reply language an inbound SMS gets ------------------------------------------------

PHONE = "+27821234567"


def _answer(rt, text: str, stored: str | None, at_id: str = "ATXid_kw_1") -> list[str]:
    """Store and process one inbound SMS from PHONE; the outbound texts it caused."""
    if stored:
        consent.set_language(rt, PHONE, stored)
    assert inbound.store(rt, InboundSms(at_id, PHONE, "31234", text, None, None, None))
    with rt.sessions() as s:
        message_id = s.scalar(select(Message.id).where(Message.at_message_id == at_id, Message.direction == "in"))
    inbound.process(rt, message_id)
    with rt.sessions() as s:
        return list(s.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id)))


def _cat(lang: str, key: str, **values) -> str:
    return Catalogues.load().text(lang, key, **values)


@pytest.mark.parametrize(
    "stored, text, reply_lang",
    [
        (None, "CENTRE Soweto", "en"),
        ("en", "CENTRE Soweto", "en"),
        ("zu", "CENTRE Soweto", "zu"),  # an English keyword: the stored language
        ("af", "centre soweto", "af"),
        ("nso", "THUSONG Soweto", "nso"),
        ("en", "SENTRUM Soweto", "af"),  # a language-specific keyword: that language
        ("zu", "SENTRUM Soweto", "af"),
        (None, "ISIKHUNGO Soweto", "zu"),
        ("af", "IZIKO Soweto", "xh"),
        ("xh", "THUSONG Soweto", "xh"),
    ],
)
def test_nearest_reply_language(seeded, stored, text, reply_lang):
    [reply] = _answer(seeded, text, stored)
    assert reply.startswith(_cat(reply_lang, "sms.nearest_title", place="Soweto")), reply
    assert "Maponya Mall Thusong" in reply and measure(reply).segments <= REPLY_SEGMENTS


@pytest.mark.parametrize(
    "stored, text, kind, reply_lang",
    [
        ("af", "HELP", "help", "af"),
        ("zu", "?", "help", "zu"),
        (None, "HULP", "help", "af"),
        ("xh", "STOP", "stop", "xh"),
        ("zu", "YEKA", "stop", "zu"),  # shared zu/xh: the stored language
        (None, "STAAK", "stop", "af"),  # the confirmation in the language the citizen wrote in
        ("en", "EMISA", "stop", "en"),
        ("af", "hello there", "unknown", "af"),
        ("zu", "CENTRE", "help", "zu"),  # no place: help
        ("zu", "CENTRE Qwzxqvbnm", "not_found", "zu"),
        ("en", "LANG klingon", "lang_unknown", "en"),
    ],
)
def test_fixed_reply_language(seeded, stored, text, kind, reply_lang):
    replies = _answer(seeded, text, stored)
    values = {"code": seeded.settings.USSD_SERVICE_CODE, "place": "Qwzxqvbnm"}
    assert replies == [_cat(reply_lang, f"sms.{kind}", **values)]


@pytest.mark.parametrize(
    "stored, text, new",
    [("zu", "LANG af", "af"), ("en", "LANG isiXhosa", "xh"), ("af", "TAAL English", "en"),
     (None, "ULIMI isiZulu", "zu"), ("en", "language Sesotho sa Leboa", "nso")],
)
def test_lang_changes_the_stored_language_and_answers_in_the_new_one(seeded, stored, text, new):
    assert _answer(seeded, text, stored) == [_cat(new, "sms.lang")]
    assert consent.language_of(seeded, PHONE) == new
    [reply] = _answer(seeded, "CENTRE Soweto", None, at_id="ATXid_kw_2")[1:]
    assert reply.startswith(_cat(new, "sms.nearest_title", place="Soweto"))


@pytest.mark.parametrize("text", ["USUBSCRIBE", "NSUBSCRIBE Kagiso", "USUBSCRIBE Soweto"])
def test_a_garbled_unsubscribe_never_opts_a_citizen_in(seeded, text):
    optout.opt_out(seeded, PHONE, source="test", confirm=False)
    _answer(seeded, text, None)
    assert consent.is_opted_out(seeded, PHONE)


# --- consent: one rule on both channels ------------------------------------------------------

def _citizen(rt):
    with rt.sessions() as s:
        return s.scalar(select(Citizen).where(Citizen.phone == PHONE))


@pytest.mark.parametrize("lang", ["en", "zu", "ve"])
def test_join_after_stop_lifts_it_and_the_reply_says_so(seeded, lang):
    """Explicit re-consent to a centre's notices lifts a global STOP (README, "Consent"), as
    subscribing by USSD does; the reply carries START's confirmation first."""
    consent.set_language(seeded, PHONE, lang)
    optout.opt_out(seeded, PHONE, source="test", confirm=False)
    [reply] = _answer(seeded, "JOIN Kagiso", None)
    joined = _cat(lang, "sms.joined", centre="Kagiso Thusong")
    assert reply == f"{_cat(lang, 'sms.start')} {joined}" and measure(reply).segments <= REPLY_SEGMENTS
    citizen = _citizen(seeded)
    assert not citizen.opted_out and citizen.opted_in_at is not None
    # Already taking notices: the next JOIN is confirmed plainly.
    assert _answer(seeded, "JOIN Soweto", None, at_id="ATXid_kw_2")[1:] == [
        _cat(lang, "sms.joined", centre="Maponya Mall Thusong")]


def test_join_without_an_earlier_stop_is_confirmed_plainly(seeded):
    assert _answer(seeded, "JOIN Kagiso", None) == [_cat("en", "sms.joined", centre="Kagiso Thusong")]
    assert _citizen(seeded).opted_in_at is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_welcome_back_confirmation_fits_the_reply_budget_for_the_longest_centre_name(lang):
    names = [row["name"] for row in csv.DictReader(SEED.open(encoding="utf-8"))]
    for name in names:
        text = welcome_back(lang, reply_text("joined", lang, centre=short_centre_name(name)))
        assert measure(text).segments <= REPLY_SEGMENTS, (name, text)
