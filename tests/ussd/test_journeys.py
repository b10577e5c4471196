"""Whole USSD journeys through the AT webhook (Flask test client, real Redis, seeded SQL).

Options are chosen by a word of their label (``choose``), paging on with 98 when needed,
so the tests follow the screens a caller sees rather than hard-coded numbers. Expected
centres, municipalities and services come from the database the seed import wrote.
"""

from __future__ import annotations

import re
import time
from datetime import UTC

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.directory.catalogue import PROVINCES
from gateway.store.models import (
    Centre,
    Citizen,
    Feedback,
    Message,
    Province,
    Service,
    Subscription,
)
from gateway.ussd.sessions import RESUME_WINDOW, SessionStore
from menus.catalogue import Catalogues
from menus.render import short_centre_name
from tests.dialer import Dialer

CATS = Catalogues.load()
_OPTION = re.compile(r"^(\d+)\. (.+)$", re.M)
_DISTANCE = re.compile(r"^(.*?) (<1km|\d+km)$")
PHONE = "+27821234567"


def en(key: str, **values) -> str:
    return CATS.text("en", key, **values)


MORE, NAV, INVALID = en("nav.more"), en("nav.back"), en("nav.invalid")


# --- helpers -----------------------------------------------------------------------------------

def options(screen: str) -> dict[str, str]:
    """Number → label of the numbered lines on ``screen``."""
    return dict(_OPTION.findall(screen))


def number_of(screen: str, word: str, exact: bool = False) -> str | None:
    hits = [n for n, label in options(screen).items()
            if (label == word if exact else word.lower() in label.lower())]
    assert len(hits) <= 1, f"{word!r} is ambiguous on:\n{screen}"
    return hits[0] if hits else None


def choose(phone: Dialer, word: str, max_pages: int = 15, exact: bool = False) -> str:
    """Press the number of the option whose label contains ``word`` (or is it, ``exact``),
    paging on with 98 while it is not on the screen."""
    for _ in range(max_pages):
        n = number_of(phone.screen, word, exact)
        if n is not None:
            return phone.press(n)
        assert MORE in phone.screen.splitlines(), f"no option {word!r} on any page; last:\n{phone.screen}"
        phone.press("98")
    raise AssertionError(f"{word!r} not found in {max_pages} pages")


def all_pages(phone: Dialer) -> list[str]:
    """The current screen and every following page (98 while 'More' is offered)."""
    pages = [phone.screen]
    while MORE in phone.screen.splitlines():
        phone.press("98")
        assert phone.screen != pages[-1], phone.screen
        pages.append(phone.screen)
    return pages


def pages_then_back(phone: Dialer) -> list[str]:
    """Every page of the current list (98), then 0 back page by page to the first one."""
    pages = all_pages(phone)
    for page in reversed(pages[:-1]):
        assert phone.press("0") == page
    return pages


def body(page: str) -> str:
    """A page without its navigation lines."""
    return "\n".join(line for line in page.splitlines() if line not in (MORE, NAV))


def labels_on(pages: list[str]) -> list[str]:
    return [label for page in pages for label in options(page).values()]


def centre_named(rt, label: str) -> Centre:
    """The centre a list label (short name, maybe with a distance) stands for."""
    m = _DISTANCE.match(label)
    short = m.group(1) if m else label
    with rt.sessions() as s:
        rows = s.scalars(select(Centre).options(selectinload(Centre.province),
                                                selectinload(Centre.municipality),
                                                selectinload(Centre.services))).all()
        found = [c for c in rows if short_centre_name(c.name) == short]
        assert len(found) == 1, (label, [c.name for c in found])
        s.expunge_all()
    return found[0]


def active_centres(rt, province: str | None = None) -> list[Centre]:
    with rt.sessions() as s:
        q = (select(Centre).join(Province).where(Centre.active.is_(True))
             .options(selectinload(Centre.province), selectinload(Centre.municipality),
                      selectinload(Centre.services).selectinload(Service.block)))
        if province:
            q = q.where(Province.name == province)
        rows = list(s.scalars(q.order_by(Centre.name)))
        s.expunge_all()
    return rows


def dial_to_centre(client, place: str = "Soweto", centre: str = "Maponya", phone: str = PHONE) -> Dialer:
    p = Dialer(client, phone=phone)
    p.dial()
    choose(p, en("main.find"))
    p.press(place)
    choose(p, centre)
    assert options(p.screen).get("1") == en("centre.details"), p.screen
    return p


def browse_to_centre(client, centre: Centre, phone: str = PHONE) -> Dialer:
    """Main → province → municipality (or All centres) → the centre."""
    p = Dialer(client, phone=phone)
    p.dial()
    choose(p, en("main.browse"))
    choose(p, centre.province.name, exact=True)
    choose(p, centre.municipality.name if centre.municipality else en("browse.all"), exact=True)
    choose(p, short_centre_name(centre.name), exact=True)
    assert p.screen.splitlines()[0] == short_centre_name(centre.name), p.screen
    return p


def outbox(rt, phone: str = PHONE) -> list[Message]:
    with rt.sessions() as s:
        rows = list(s.scalars(select(Message).where(Message.direction == "out", Message.phone == phone)
                              .order_by(Message.id)))
        s.expunge_all()
    return rows


# --- find by place ------------------------------------------------------------------------------

def test_find_soweto_lists_maponya_with_distance_and_opens_its_menu(seeded, client):
    p = Dialer(client)
    p.dial()
    assert choose(p, en("main.find")).startswith(en("find.prompt"))
    screen = p.press("Soweto")
    assert screen.splitlines()[0] == en("nearest.title", place="Soweto")
    listed = list(options(screen).values())
    assert len(listed) == 3
    assert all(_DISTANCE.match(label) for label in listed), listed
    assert listed[0] == "Maponya Mall Thusong <1km"
    km = [0 if d == "<1km" else int(d[:-2]) for d in (_DISTANCE.match(x).group(2) for x in listed)]
    assert km == sorted(km)
    screen = choose(p, "Maponya Mall")
    assert screen.splitlines()[0] == "Maponya Mall Thusong"
    assert list(options(screen).values()) == [en(f"centre.{k}") for k in
                                              ("details", "services", "sms", "subscribe", "rate")]
    assert screen.endswith(NAV) and not p.ended


@pytest.mark.parametrize("typed, meant", [("Sowetto", "Soweto"), ("Khayelitsa", "Khayelitsha"),
                                          ("soweto ", "Soweto")])
def test_find_with_a_misspelling_gives_the_same_centres(seeded, client, typed, meant):
    right = Dialer(client, phone="+27821110001")
    right.dial()
    choose(right, en("main.find"))
    expected = right.press(meant)
    p = Dialer(client)
    p.dial()
    choose(p, en("main.find"))
    assert p.press(typed) == expected
    assert expected.splitlines()[0] == en("nearest.title", place=meant)


@pytest.mark.parametrize("township, province", [("KwaMashu", "KwaZulu-Natal"), ("Umlazi", "KwaZulu-Natal"),
                                                ("Khayelitsha", "Western Cape"), ("Kagiso", "Gauteng")])
def test_find_by_township_lists_centres_in_its_province(seeded, client, township, province):
    p = Dialer(client)
    p.dial()
    choose(p, en("main.find"))
    screen = p.press(township)
    assert screen.splitlines()[0] == en("nearest.title", place=township)
    listed = list(options(screen).values())
    assert listed, screen
    nearest = centre_named(seeded, listed[0])
    assert nearest.province.name == province
    assert nearest.active


def test_unknown_place_re_asks_with_a_hint_and_the_session_goes_on(seeded, client):
    p = Dialer(client)
    p.dial()
    choose(p, en("main.find"))
    screen = p.press("Xyzzyville")
    assert not p.ended
    assert screen == f"{en('find.not_found')}\n{NAV}"
    screen = p.press("Soweto")  # the session continues: a known place now lists centres
    assert screen.splitlines()[0] == en("nearest.title", place="Soweto")
    assert "Maponya Mall Thusong" in screen


# --- browse -------------------------------------------------------------------------------------

@pytest.mark.parametrize("province", [name for _code, name, _other in PROVINCES])
def test_browse_every_province_to_a_centre_and_its_details(seeded, client, province):
    centres = active_centres(seeded, province)
    p = Dialer(client)
    p.dial()
    choose(p, en("main.browse"))
    listed = labels_on(pages_then_back(p))
    assert len(listed) == len(set(listed))
    if not centres:
        assert province not in listed
        return
    assert province in listed
    # municipalities: exactly those with an active centre, then "All centres"
    choose(p, province, exact=True)
    munis = labels_on(pages_then_back(p))
    assert munis == [*sorted({c.municipality.name for c in centres if c.municipality}), en("browse.all")]
    # every active centre of the province is under "All centres", in order (paging with 98)
    choose(p, en("browse.all"), exact=True)
    shown = labels_on(pages_then_back(p))
    assert shown == [short_centre_name(c.name) for c in centres]
    # the last one (the deepest page) opens its menu, then its details
    target = centres[-1]
    choose(p, short_centre_name(target.name), exact=True)
    assert p.screen.splitlines()[0] == short_centre_name(target.name)
    choose(p, en("centre.details"))
    details = "\n".join(body(x) for x in all_pages(p))
    assert details.splitlines()[0] == short_centre_name(target.name)
    assert f"{en('centre.address')}: " in details and province in details
    assert f"{en('centre.hours')}: " in details and f"{en('centre.phone')}: " in details
    # and through its municipality, when one has a municipality recorded
    with_muni = [c for c in centres if c.municipality]
    if with_muni:
        browse_to_centre(client, with_muni[-1], phone="+27821110002")


# --- one centre ---------------------------------------------------------------------------------

def test_centre_details_show_address_hours_and_phone(seeded, client):
    p = dial_to_centre(client)
    choose(p, en("centre.details"))
    pages = all_pages(p)
    assert len(pages) >= 1 and all(page.endswith(NAV) for page in pages)
    lines = [line for page in pages for line in body(page).splitlines()]
    assert lines == [
        "Maponya Mall Thusong",
        f"{en('centre.address')}: Maponya Mall (western side), Soweto, City of Johannesburg, Gauteng",
        f"{en('centre.hours')}: {en('centre.hours_default')}",  # the seed records no hours
        f"{en('centre.phone')}: {en('centre.unknown')}",
    ]


def test_centre_phone_is_shown_whole_on_one_page(seeded, client):
    with_phone = [c for c in active_centres(seeded) if c.phone]
    assert with_phone, "the seed has centres with a phone number"
    for n, centre in enumerate(with_phone):
        p = browse_to_centre(client, centre, phone=f"+2782111{n:04d}")
        choose(p, en("centre.details"))
        pages = [body(page).splitlines() for page in all_pages(p)]
        assert any(f"{en('centre.phone')}: {centre.phone}" in lines for lines in pages), pages
        assert any(any(centre.town in line for line in lines if line.startswith(en("centre.address")))
                   for lines in pages), pages


def test_centre_services_are_grouped_by_the_six_block_model(seeded, client):
    centres = active_centres(seeded)
    richest = max(centres, key=lambda c: (len({s.block.number for s in c.services}), len(c.services)))
    blocks: dict[int, tuple[str, list[str]]] = {}
    for svc in sorted(richest.services, key=lambda s: (s.block.number, s.id)):
        blocks.setdefault(svc.block.number, (svc.block.name, []))[1].append(svc.name)
    assert len(blocks) >= 2, "the seed has a centre with services in several blocks"
    p = browse_to_centre(client, richest)
    choose(p, en("centre.services"))
    text = "\n".join(body(page) for page in all_pages(p))
    expected = [f"{name}: {', '.join(names)}" for _n, (name, names) in sorted(blocks.items())]
    assert " ".join(text.split()) == " ".join(" ".join(expected).split())
    starts = [text.index(f"{name}: ") for _n, (name, _s) in sorted(blocks.items())]
    assert starts == sorted(starts)  # block 1 before block 2 before block 3 ...
    assert all(text[i - 1] == "\n" for i in starts[1:])  # each block starts its own line


def test_centre_without_recorded_services_says_so(seeded, client):
    bare = next(c for c in active_centres(seeded) if not c.services)
    p = browse_to_centre(client, bare)
    assert choose(p, en("centre.services")) == f"{en('centre.no_services')}\n{NAV}"


# --- services -----------------------------------------------------------------------------------

def offering(rt, code: str) -> list[Centre]:
    return [c for c in active_centres(rt) if code in {s.code for s in c.services}]


def test_service_near_a_place_lists_centres_offering_it_nearest_first(seeded, client):
    expected = offering(seeded, "documents")
    assert expected
    p = Dialer(client)
    p.dial()
    choose(p, en("main.services"))
    screen = choose(p, en("service.documents"))
    # the title names the service as the list did (catalogue wording, not the directory's)
    assert screen.splitlines()[0] == en("services.where", service=en("service.documents"))
    choose(p, en("services.near_place"))
    assert p.screen.startswith(en("find.prompt"))
    screen = p.press("Soweto")
    assert screen.splitlines()[0] == en("services.centres")
    listed = labels_on(all_pages(p))
    assert listed[0] == "Maponya Mall Thusong <1km"
    # Only centres with a location have a distance (some seed rows have none yet).
    located = [c for c in expected if c.latitude is not None and c.longitude is not None]
    assert 0 < len(located) <= 6  # all of them fit the list, whatever their order
    assert {centre_named(seeded, x).id for x in listed} == {c.id for c in located}
    choose(p, "Maponya")
    assert p.screen.splitlines()[0] == "Maponya Mall Thusong"


def test_service_in_a_province_lists_its_centres_or_says_none(seeded, client):
    expected = offering(seeded, "grants")
    assert expected
    province = expected[0].province.name
    empty = next(name for _c, name, _o in PROVINCES
                 if active_centres(seeded, name) and name not in {c.province.name for c in expected})
    p = Dialer(client)
    p.dial()
    choose(p, en("main.services"))
    choose(p, en("service.grants"))
    screen = choose(p, en("services.in_province"))
    assert screen.startswith(en("browse.provinces"))
    choose(p, province)
    assert p.screen.splitlines()[0] == en("services.centres")
    assert labels_on(all_pages(p)) == [short_centre_name(c.name) for c in expected
                                       if c.province.name == province]
    while p.press("0").splitlines()[0] != en("browse.provinces"):
        pass
    # 0 Back returns to the page of provinces the caller left, not the first one.
    assert number_of(p.screen, province, False) is not None
    while number_of(p.screen, empty, False) is None and MORE not in p.screen.splitlines():
        p.press("0")  # earlier pages
    assert choose(p, empty) == f"{en('services.none')}\n{NAV}"
    assert not p.ended


# --- side effects -------------------------------------------------------------------------------

def test_sms_me_writes_an_outbox_row_to_the_callers_e164_number(seeded, client):
    p = dial_to_centre(client, phone="0821234567")  # AT may send the local format
    screen = choose(p, en("centre.sms"))
    assert p.ended
    assert screen == en("sms.sent", centre="Maponya Mall Thusong")
    assert p.retry() == screen  # AT retrying the hop does not queue a second SMS
    rows = outbox(seeded, PHONE)
    assert len(rows) == 1
    assert rows[0].direction == "out" and rows[0].phone == PHONE and rows[0].status == "queued"
    assert "Maponya Mall Thusong Service Centre" in rows[0].text
    assert "Maponya Mall (western side), Soweto" in rows[0].text


def test_subscribe_then_unsubscribe(seeded, client):
    maponya = centre_named(seeded, "Maponya Mall Thusong")
    before = time.time()
    p = dial_to_centre(client)
    screen = choose(p, en("centre.subscribe"))
    assert screen.splitlines()[0] == en("subscribe.consent", centre="Maponya Mall Thusong")
    assert choose(p, en("common.yes"), exact=True) == en("subscribe.done", centre="Maponya Mall Thusong")
    assert p.ended
    with seeded.sessions() as s:
        sub = s.scalar(select(Subscription).join(Citizen).where(Citizen.phone == PHONE))
        assert sub.centre_id == maponya.id and sub.ended_at is None
        at = sub.consented_at
        consented = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()  # SQLite: naive UTC
    assert before - 1 <= consented <= time.time() + 1
    assert [m.text for m in outbox(seeded)] == [CATS.text("en", "sms.subscribed", centre="Maponya Mall Thusong")]

    q = Dialer(client)
    assert q.dial().splitlines()[0] == en("main.title")  # the last session ended: no resume offer
    assert choose(q, en("main.notices")).splitlines()[0] == en("notices.menu")
    screen = choose(q, en("notices.pick"))
    assert screen.splitlines()[0] == en("notices.title")
    assert list(options(screen).values()) == ["Maponya Mall Thusong"]
    assert choose(q, "Maponya").splitlines()[0] == en("notices.confirm_stop", centre="Maponya Mall Thusong")
    assert choose(q, en("common.no"), exact=True) == screen  # No: back to the list, still subscribed
    choose(q, "Maponya")
    assert choose(q, en("common.yes"), exact=True) == en("notices.stopped", centre="Maponya Mall Thusong")
    with seeded.sessions() as s:
        sub = s.scalar(select(Subscription).join(Citizen).where(Citizen.phone == PHONE))
        assert sub.ended_at is not None and sub.consented_at is not None  # kept as the consent record
    assert [m.text for m in outbox(seeded)][1:] == [en("sms.unsubscribed", centre="Maponya Mall Thusong")]

    r = Dialer(client)
    r.dial()
    choose(r, en("main.notices"))
    assert choose(r, en("notices.pick")) == f"{en('notices.none')}\n{NAV}"


def test_stop_all_by_ussd_opts_out_confirms_and_bulk_skips(seeded, client):
    from gateway.sms import outbox as gw_outbox
    from gateway.store.models import Message

    p = Dialer(client)
    p.dial()
    choose(p, en("main.notices"))
    assert choose(p, en("notices.stop_all")).splitlines()[0] == en("notices.confirm_all")
    assert choose(p, en("common.no"), exact=True).splitlines()[0] == en("notices.menu")  # No: nothing changes
    with seeded.sessions() as s:
        assert not s.scalar(select(Citizen.opted_out).where(Citizen.phone == PHONE))
    choose(p, en("notices.stop_all"))
    assert choose(p, en("common.yes"), exact=True) == en("notices.all_stopped") and p.ended
    with seeded.sessions() as s:
        citizen = s.scalar(select(Citizen).where(Citizen.phone == PHONE))
        assert citizen.opted_out and citizen.opted_out_at is not None
    assert [m.text for m in outbox(seeded)] == [CATS.text("en", "sms.stop")]  # confirmed by SMS
    assert gw_outbox.queue_bulk(seeded, [PHONE, "+27821119999"], "Clinic day Friday", "bc-ussd") == 1
    with seeded.sessions() as s:
        assert s.scalar(select(Message).where(Message.phone == PHONE, Message.queue == "bulk")) is None


def test_subscribing_by_ussd_after_stop_all_lifts_it_and_the_sms_says_so(seeded, client):
    """One consent rule on both channels (README, "Consent"): explicit re-consent to a centre's
    notices lifts a global STOP, as texting JOIN does, and the confirming SMS says so."""
    from gateway.sms import outbox as gw_outbox

    p = Dialer(client)
    p.dial()
    choose(p, en("main.notices"))
    choose(p, en("notices.stop_all"))
    choose(p, en("common.yes"), exact=True)
    q = dial_to_centre(client)
    choose(q, en("centre.subscribe"))
    assert choose(q, en("common.yes"), exact=True) == en("subscribe.done", centre="Maponya Mall Thusong")
    with seeded.sessions() as s:
        citizen = s.scalar(select(Citizen).where(Citizen.phone == PHONE))
        assert not citizen.opted_out and citizen.opted_in_at is not None
    subscribed = en("sms.subscribed", centre="Maponya Mall Thusong")
    assert [m.text for m in outbox(seeded)] == [en("sms.stop"), f"{en('sms.start')} {subscribed}"]
    assert gw_outbox.queue_bulk(seeded, [PHONE], "Clinic day Friday", "bc-back") == 1  # bulk reaches it again
    r = dial_to_centre(client, place="Kagiso", centre="Kagiso")  # already taking notices: said plainly
    choose(r, en("centre.subscribe"))
    choose(r, en("common.yes"), exact=True)
    assert outbox(seeded)[-1].text == en("sms.subscribed", centre="Kagiso Thusong")


@pytest.mark.parametrize("rating, reason_key, reason", [
    (1, "reason.queue", "queue"), (2, "reason.staff", "staff"), (3, "reason.unavailable", "unavailable"),
    (4, "reason.closed", "closed"), (5, "reason.good", "good"), (3, "reason.skip", None),
])
def test_feedback_rating_and_reason_are_stored(seeded, client, rating, reason_key, reason):
    p = Dialer(client)
    p.dial()
    assert choose(p, en("main.rate")).startswith(en("rate.where"))
    assert p.press("Soweto").splitlines()[0] == en("rate.which")
    screen = choose(p, "Maponya")
    assert screen.splitlines()[0] == en("rate.title", centre="Maponya Mall Thusong")
    assert choose(p, en(f"rate.{rating}"), exact=True).splitlines()[0] == en("rate.reason")
    assert choose(p, en(reason_key), exact=True) == en("rate.thanks")
    assert p.ended
    with seeded.sessions() as s:
        rows = list(s.scalars(select(Feedback)))
    assert [(r.centre_id, r.rating, r.reason, r.language) for r in rows] == [
        (centre_named(seeded, "Maponya Mall Thusong").id, rating, reason, "en")]


def test_feedback_from_the_centre_menu(seeded, client):
    p = dial_to_centre(client, place="Umlazi", centre="Mnini")
    choose(p, en("centre.rate"))
    choose(p, en("rate.2"), exact=True)
    choose(p, en("reason.staff"), exact=True)
    with seeded.sessions() as s:
        row = s.scalar(select(Feedback))
    assert (row.centre_id, row.rating, row.reason) == (centre_named(seeded, "Mnini Thusong").id, 2, "staff")


# --- language -----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["zu", "nr"])
def test_language_change_greets_the_next_session_in_it_and_is_stored(seeded, client, code):
    def t(key: str) -> str:
        return CATS.text(code, key)

    p = Dialer(client)
    p.dial()
    screen = choose(p, en("main.language"))
    assert screen.splitlines()[0] == en("language.title")
    screen = choose(p, CATS.by_code[code].name, exact=True)  # isiNdebele is on page 2
    assert screen.splitlines()[0] == t("main.title") != en("main.title")
    assert list(options(screen).values()) == [t(f"main.{k}") for k in
                                              ("find", "browse", "services", "notices", "rate", "language", "ask")]
    with seeded.sessions() as s:
        assert s.scalar(select(Citizen.language).where(Citizen.phone == PHONE)) == code
    q = Dialer(client)
    assert q.dial().splitlines()[0] == t("main.title")
    # the citizen row alone is enough (the Redis profile may have expired)
    seeded.redis.delete(f"ussd:p:{PHONE}")
    r = Dialer(client)
    assert r.dial().splitlines()[0] == t("main.title")
    assert choose(r, t("main.find")).startswith(t("find.prompt"))
    other = Dialer(client, phone="+27821110003")  # another caller still gets English
    assert other.dial().splitlines()[0] == en("main.title")


# --- navigation ---------------------------------------------------------------------------------

def follow(phone: Dialer, steps: list[str]) -> None:
    """Steps are option words, or ``=text`` to type text."""
    for step in steps:
        if step.startswith("="):
            phone.press(step[1:])
        else:
            choose(phone, step)


FIND, BROWSE = en("main.find"), en("main.browse")
LEVELS = {
    # level: (steps to its parent, step into it, has several pages)
    "find list": ([FIND], "=Soweto", False),
    "provinces": ([], BROWSE, True),
    "municipalities": ([BROWSE], "Western Cape", True),
    "centres list": ([BROWSE, "Western Cape"], en("browse.all"), True),
    "centre menu": ([FIND, "=Soweto"], "Maponya", False),
    "details pages": ([FIND, "=Soweto", "Maponya"], en("centre.details"), True),
    "services list": ([], en("main.services"), True),
    "language list": ([], en("main.language"), True),
}


def test_main_menu_navigation(seeded, client):
    p = Dialer(client)
    main = p.dial()
    assert p.press("0") == main  # nothing to go back to
    assert p.press("00") == main
    hinted = p.press("98")  # no more pages
    assert hinted.splitlines()[0] == INVALID and options(hinted) == options(main)
    assert not p.ended


@pytest.mark.parametrize("level", list(LEVELS))
def test_back_home_and_paging_at_every_level(seeded, client, level):
    to_parent, into, several = LEVELS[level]
    p = Dialer(client)
    main = p.dial()
    follow(p, to_parent)
    if not into.startswith("="):  # the parent's page that shows the option: 0 returns there
        while number_of(p.screen, into, False) is None:
            p.press("98")
    parent = p.screen
    follow(p, [into])
    first = p.screen
    assert first != parent
    pages = all_pages(p)  # 98 through every page
    assert (len(pages) > 1) == several, pages
    if not several:
        hinted = p.press("98")  # nothing more: re-shown with the hint
        assert hinted.splitlines()[0] == INVALID and options(hinted) == options(first)
    for page in reversed(pages[:-1]):  # 0 goes back a page
        assert p.press("0") == page
    assert p.press("0") == parent  # then back a level
    follow(p, [into])
    assert p.screen == first
    if several:
        p.press("98")
    assert p.press("00") == main  # home from anywhere (any page)
    assert p.press("0") == main and not p.ended


def test_three_invalid_inputs_in_a_row_end_politely(seeded, client):
    p = Dialer(client)
    main = p.dial()
    for key in ("9", "abc"):
        screen = p.press(key)
        assert screen.splitlines()[0] == INVALID and options(screen) == options(main) and not p.ended
    assert p.press("8") == en("nav.too_many")
    assert p.ended and p.raw.startswith("END ")


def test_invalid_count_restarts_after_a_valid_choice(seeded, client):
    p = Dialer(client)
    p.dial()
    choose(p, BROWSE)
    p.press("55", "98", "98")  # invalid, page 2, invalid on the last page
    assert not p.ended and p.screen.splitlines()[0] == INVALID
    p.press("0", "0")  # page back, level back: main
    p.press("9", "9")
    assert not p.ended
    p.press("9")
    assert p.ended and p.screen == en("nav.too_many")


# --- resume ------------------------------------------------------------------------------------

def dropped_deep(client) -> tuple[Dialer, str]:
    p = dial_to_centre(client)
    deep = choose(p, en("centre.details"))
    assert not p.ended
    return p, deep  # ...and the network drops the session here


RESUME_OFFER = "\n".join([en("resume.title"), f"1. {en('resume.continue')}", f"2. {en('resume.restart')}"])


def test_resume_continue_returns_to_the_same_screen(seeded, client):
    _p, deep = dropped_deep(client)
    q = Dialer(client)  # same number, new session id
    assert q.dial() == RESUME_OFFER
    assert choose(q, en("resume.continue")) == deep
    assert q.press("0").splitlines()[0] == "Maponya Mall Thusong"  # the way back is kept too
    assert q.press("0").splitlines()[0] == en("nearest.title", place="Soweto")


def test_resume_start_again_gives_the_main_menu(seeded, client):
    main = Dialer(client, phone="+27821110004").dial()
    dropped_deep(client)
    q = Dialer(client)
    q.dial()
    assert choose(q, en("resume.restart")) == main
    r = Dialer(client)
    assert r.dial() == main  # the offer is not repeated on the following session


def test_dropping_on_the_offer_keeps_the_point_and_does_not_nest_it(seeded, client):
    _p, deep = dropped_deep(client)
    for _ in range(5):  # the caller keeps dropping on the "continue?" screen itself
        assert Dialer(client).dial() == RESUME_OFFER
    saved = SessionStore(seeded.redis).profile(PHONE)["resume"]["state"]
    assert "resume" not in saved.get("v", {})  # no older point nested inside: size stays flat
    q = Dialer(client)
    q.dial()
    assert choose(q, en("resume.continue")) == deep


def test_no_resume_offer_after_the_window(seeded, client):
    main = Dialer(client, phone="+27821110005").dial()
    dropped_deep(client)
    store = SessionStore(seeded.redis)
    profile = store.profile(PHONE)
    profile["resume"]["at"] -= RESUME_WINDOW + 1
    store.save_profile(PHONE, profile)
    assert Dialer(client).dial() == main


def test_no_resume_offer_after_a_finished_session(seeded, client):
    p = dial_to_centre(client)
    choose(p, en("centre.sms"))
    assert p.ended
    assert Dialer(client).dial().splitlines()[0] == en("main.title")


# --- reachability -------------------------------------------------------------------------------

@pytest.mark.parametrize("label, lands_on", [
    ("main.find", "find.prompt"), ("main.browse", "browse.provinces"),
    ("main.services", "services.title"), ("main.notices", "notices.menu"),
    ("main.rate", "rate.where"), ("main.language", "language.title"),
])
def test_every_journey_is_within_three_key_presses(seeded, client, label, lands_on):
    p = Dialer(client)
    screen = p.dial()
    presses = 0
    while not screen.startswith(en(lands_on)):
        n = number_of(screen, en(label), exact=True)
        screen = p.press(n if n else "98")
        presses += 1
        assert presses <= 3 and not p.ended, screen
    assert presses <= 3
