"""Review state string by string, the budget told to translators, and line-by-line edits of
the catalogues and keywords.yaml (pure: no database)."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from menus.catalogue import CATALOGUES, Catalogues, load_yaml
from menus.catalogue_edit import set_keywords, set_string
from menus.engine import load_journey
from menus.journey import JourneyError
from menus.keywords import KEYWORDS, clashes, grammar
from menus.review import Mark, dump_reviews, load_reviews, state_of, text_hash
from menus.screens import SAMPLE_VALUES, render_static
from menus.string_budget import budgets, over_budget
from menus.translation import Files, entries

CATS = Catalogues.load()


@pytest.mark.parametrize("lang, text, mark, state", [
    ("zu", "Ulimi", None, "draft"),
    ("zu", "Ulimi", Mark("Thandi", "2026-12-01", text_hash("Ulimi")), "reviewed"),
    ("zu", "Ulimi wakho", Mark("Thandi", "2026-12-01", text_hash("Ulimi")), "draft"),  # changed since
    ("zu", None, None, "missing"),
    ("en", "Language", None, "reviewed"),  # the source
], ids=["new", "reviewed", "changed-since-review", "missing", "english"])
def test_review_state(lang, text, mark, state):
    assert state_of(lang, text, mark) == state


def test_review_file_round_trips_one_line_per_key(tmp_path):
    marks = {"main.title": Mark("Sipho Dlamini", "2026-12-07", "abc123abc123"),
             "find.prompt": Mark('O\'Brien "Bea"', "2026-12-06", "def456def456")}
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "zu.yaml").write_text(dump_reviews(marks), encoding="utf-8")
    assert load_reviews(tmp_path, "zu") == marks
    body = [line for line in dump_reviews(marks).splitlines() if not line.startswith("#")]
    assert body[0].startswith("find.prompt: {by: ") and len(body) == 2
    assert load_reviews(tmp_path, "xh") == {}


def _with(lang: str, key: str, text: str) -> Catalogues:
    cat = CATS.by_code[lang]
    return Catalogues({**CATS.by_code, lang: dataclasses.replace(cat, strings={**cat.strings, key: text})})


def _room(lang: str, key: str):
    budget = budgets(load_journey(), lang)[key]
    assert budget.static
    assert "{" not in CATS.raw("en", key)  # the test's wording has no placeholder to fill
    return budget, budget.gsm7


@pytest.mark.parametrize("lang, key", [("zu", "find.prompt"), ("xh", "find.not_found"), ("af", "rate.thanks")])
def test_a_prompt_or_end_screen_budget_is_exactly_what_the_loader_accepts(lang, key):
    """As long as its budget: loads; one character more: the loader refuses the screen."""
    budget, room = _room(lang, key)
    assert not over_budget("a" * room, budget) and over_budget("a" * (room + 1), budget)
    load_journey(catalogues=_with(lang, key, "a" * room))
    with pytest.raises(JourneyError):
        load_journey(catalogues=_with(lang, key, "a" * (room + 1)))


@pytest.mark.parametrize("lang, key, option", [("zu", "main.title", "main.find"), ("nso", "main.find", "main.find")])
def test_a_menu_string_within_budget_leaves_every_choice_whole(lang, key, option):
    """The engine would shorten the choices to fit a longer one ('...'): the budget is the room
    before that happens."""
    journey = load_journey()
    budget, room = _room(lang, key)
    for extra, whole in ((0, True), (1, False)):
        shown = render_static(load_journey(catalogues=_with(lang, key, "a" * (room + extra))),
                              journey.screens["main"], lang, SAMPLE_VALUES)
        assert ("..." not in shown) is whole, shown
        assert over_budget("a" * (room + extra), budget) is not whole


def test_one_non_gsm7_letter_halves_the_budget():
    budget = budgets(load_journey(), "zu")["find.prompt"]
    assert budget.ucs2 < budget.gsm7 / 2 + 10
    assert not over_budget("a" * budget.ucs2, budget) and over_budget("š" + "a" * budget.ucs2, budget)


def test_no_shipped_string_is_over_its_budget():
    for lang in CATS.codes:
        over = [e.key for e in entries(Files(), lang) if e.over_budget]
        assert over == [], (lang, over)


def test_set_string_replaces_one_line_and_inserts_a_missing_key_in_english_order():
    source = (CATALOGUES / "ss.yaml").read_text(encoding="utf-8")
    changed = set_string(source, "main.title", 'Tikhungo "Thusong"', list(CATS.by_code["en"].strings))
    assert [a for a, b in zip(source.split("\n"), changed.split("\n"), strict=True) if a != b] == ['  main.title: "Tikhungo teThusong"']
    assert yaml.safe_load(changed)["strings"]["main.title"] == 'Tikhungo "Thusong"'
    order = list(CATS.by_code["en"].strings)
    lacking = "\n".join(line for line in source.split("\n") if not line.startswith("  find.not_found: "))
    added = set_string(lacking, "find.not_found", "Lokusha", order).split("\n")
    at = added.index('  find.not_found: "Lokusha"')
    assert added[at - 1].startswith("  find.prompt: ") and len(added) == len(source.split("\n"))


def test_set_keywords_keeps_comments_and_adds_a_language():
    source = KEYWORDS.read_text(encoding="utf-8")
    changed = set_keywords(source, "nearest", "ts", ["XIVANDLA", "KUSUHI"])
    assert "    ts: [XIVANDLA, KUSUHI]  # unreviewed" in changed.split("\n")
    added = set_keywords(source, "join", "ss", ["JOYINA", "OPT IN"])
    assert yaml.safe_load(added)["actions"]["join"]["ss"] == ["JOYINA", "OPT IN"]
    assert len(added.split("\n")) == len(source.split("\n")) + 1
    assert set_keywords(source, "stop", "zu", ["YEKA", "MISA"]) == source


def test_a_word_meaning_two_actions_is_refused_by_the_grammar(tmp_path):
    data = load_yaml(KEYWORDS)
    assert clashes(data["actions"]) == []
    data["actions"]["help"]["zu"] = ["USIZO", "Yeka"]  # YEKA: stop in isiZulu and isiXhosa
    problems = clashes(data["actions"])
    assert problems and all("'Yeka' would mean both" in p or "'YEKA' would mean both" in p for p in problems)
    path = tmp_path / "keywords.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match="would mean both"):
        grammar(str(path))
