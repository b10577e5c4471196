"""`thusong translations status|export|import` on a copy of the catalogues: the status table,
the PO round trip (msgfmt, polib and Babel read it; importing it unchanged changes no byte),
a hand-edited file refused string by string with its lines, and a good edit taken and marked
reviewed by the named reviewer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from babel.messages.pofile import read_po as babel_read_po
from click.testing import CliRunner

from gateway.cli import main
from gateway.staff import audit
from menus.catalogue import CATALOGUES, LANGUAGES
from menus.engine import load_journey
from menus.keywords import KEYWORDS
from menus.review import load_reviews, text_hash
from menus.string_budget import budgets

REVIEWER = "Thandi Mkhize"


@pytest.fixture
def menus_dir(tmp_path) -> Path:
    root = tmp_path / "menus"
    shutil.copytree(CATALOGUES, root / "catalogues")
    shutil.copy(KEYWORDS, root / "keywords.yaml")
    return root


@pytest.fixture
def cli_env(seeded, settings, monkeypatch):
    """The command's runtime sees the test database (seeded: the walk needs the directory)."""
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    return seeded


def run(*args, menus_dir: Path):
    return CliRunner().invoke(main, ["translations", *args, "--menus", str(menus_dir)])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def export(menus_dir: Path, path: Path, *extra: str) -> polib.POFile:
    result = run("export", "zu", "-o", str(path), *extra, menus_dir=menus_dir)
    assert result.exit_code == 0, result.output
    return polib.pofile(str(path))


def edit(path: Path, changes: dict[str, str], reviewed: tuple[str, ...] = ()) -> dict[str, int]:
    """Set msgstr of the keys in ``changes`` (and clear fuzzy on ``reviewed``), as a translator
    does in Poedit; returns each changed entry's line in the saved file."""
    po = polib.pofile(str(path))
    for entry in po:
        if entry.msgctxt in changes:
            entry.msgstr = changes[entry.msgctxt]
        if entry.msgctxt in reviewed and "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.save(str(path))
    return {e.msgctxt: e.linenum for e in polib.pofile(str(path)) if e.msgctxt in {*changes, *reviewed}}


def status_rows(output: str) -> dict[str, list[int]]:
    return {line.split()[0]: [int(n) for n in line.split()[-5:]] for line in output.splitlines()[1:]}


def test_status_lists_every_language_string_by_string(menus_dir):
    result = run("status", menus_dir=menus_dir)
    assert result.exit_code == 0, result.output
    rows = status_rows(result.output)
    assert list(rows) == list(LANGUAGES)
    assert result.output.splitlines()[0].split() == ["language", "total", "reviewed", "draft", "missing", "over", "budget"]
    total = rows["en"][0]
    assert rows["en"] == [total, total, 0, 0, 0]  # English is the source
    assert rows["zu"] == [total, 0, total, 0, 0]  # nothing reviewed yet, all present
    assert rows["ss"][3] > 0  # siSwati has no START word (a clash with the town Cala) and lacks strings
    assert all(sum(r[1:4]) == r[0] for r in rows.values())


def test_round_trip_changes_no_byte(cli_env, menus_dir, tmp_path):
    before = snapshot(menus_dir)
    path = tmp_path / "zu.po"
    po = export(menus_dir, path)
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is required: make test installs it (apt-get install gettext)"
    checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with path.open("rb") as fh:
        catalog = babel_read_po(fh)
    assert len(catalog) == len(po) and catalog.locale and str(catalog.locale) == "zu"
    entry = next(e for e in po if e.msgctxt == "nearest.title")
    assert (entry.msgid, entry.msgstr) == ("Nearest to {place}:", "Eduze ne-{place}:")
    assert "fuzzy" in entry.flags and "python-brace-format" in entry.flags
    assert "Appears: screen nearest." in entry.comment and "{place}" in entry.comment
    assert "GSM-7 characters on this screen" in entry.comment and "UCS-2" in entry.comment
    assert next(e for e in po if e.msgctxt == "keywords.stop").msgstr == "YEKA, MISA"
    for reviewer in ((), ("--reviewer", REVIEWER)):
        result = run("import", str(path), *reviewer, menus_dir=menus_dir)
        assert result.exit_code == 0, result.output
        assert "0 changed, 0 newly reviewed, 0 refused" in result.output
        assert snapshot(menus_dir) == before
    export(menus_dir, tmp_path / "again.po")
    assert (tmp_path / "again.po").read_bytes() == path.read_bytes()  # an export holds no date


def test_a_hand_edited_file_is_refused_string_by_string_with_lines(cli_env, menus_dir, tmp_path):
    path = tmp_path / "zu.po"
    export(menus_dir, path)
    catalogue = (menus_dir / "catalogues" / "zu.yaml").read_text(encoding="utf-8")
    keywords = (menus_dir / "keywords.yaml").read_text(encoding="utf-8")
    lines = edit(path, {
        "nearest.title": "Eduze:",  # {place} dropped
        "main.title": "Izikhungo zeThusong ezinhle kakhulu eNingizimu Afrika yonke",  # over budget
        "find.prompt": "Bhala igama lendawo yakho (išib. Soweto):",  # š where GSM-7 wording exists
        "keywords.help": "USIZO, SIZA, STOP",  # STOP already means stop
        "keywords.join": "JOYINA, SOWETO",  # a place's name
    })
    result = run("import", str(path), "--reviewer", REVIEWER, menus_dir=menus_dir)
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"line {lines['nearest.title']}: nearest.title: refused: placeholder {{place}} missing" in out
    room = budgets(load_journey(), "zu")["main.title"].gsm7
    assert room < 59
    assert f"line {lines['main.title']}: main.title: refused: 59 characters (GSM-7) where screen main leaves {room}" in out
    assert (f"line {lines['find.prompt']}: find.prompt: warning: 'š' (U+0161) is not GSM-7: the whole screen "
            "or SMS becomes UCS-2") in out
    assert f"line {lines['keywords.help']}: keywords.help: refused: keyword clash: 'STOP' would mean both help" in out
    assert f"line {lines['keywords.join']}: keywords.join: refused: 'SOWETO' is also the place Soweto" in out
    assert "1 changed, 0 newly reviewed, 4 refused" in out
    # Refused strings are left as they were; the warned one (within its UCS-2 budget) is taken.
    after = (menus_dir / "catalogues" / "zu.yaml").read_text(encoding="utf-8")
    assert after == catalogue.replace('"Bhala igama lendawo yakho (isib. Soweto):"', '"Bhala igama lendawo yakho (išib. Soweto):"')
    assert (menus_dir / "keywords.yaml").read_text(encoding="utf-8") == keywords
    assert not (menus_dir / "catalogues" / "review" / "zu.yaml").exists()


def test_a_list_title_over_budget_on_its_live_pages_is_refused_by_the_walk(cli_env, menus_dir, tmp_path):
    """The provinces title is paginated with the directory's data: only the walk sees it."""
    path = tmp_path / "zu.po"
    export(menus_dir, path)
    before = snapshot(menus_dir)
    lines = edit(path, {"browse.provinces": "Khetha isifundazwe " * 8})
    result = run("import", str(path), menus_dir=menus_dir)
    assert result.exit_code == 1, result.output
    assert f"line {lines['browse.provinces']}: browse.provinces: refused: over the screen budget: screen after 'dial 2" in result.output
    assert snapshot(menus_dir) == before  # nothing written


def test_a_good_edit_is_taken_and_marked_reviewed_by_the_reviewer(cli_env, menus_dir, tmp_path):
    path = tmp_path / "zu.po"
    export(menus_dir, path)
    better = "Asiyitholanga leyo ndawo. Bhala igama lenye indawo eseduze:"
    lines = edit(path, {"find.not_found": better, "nearest.title": "Eduze kwe-{place}:"},
                 reviewed=("find.not_found", "main.find"))  # nearest.title stays fuzzy: a draft
    result = run("import", str(path), "--reviewer", REVIEWER, menus_dir=menus_dir)
    assert result.exit_code == 0, result.output
    assert "2 changed, 2 newly reviewed, 0 refused" in result.output
    catalogue = (menus_dir / "catalogues" / "zu.yaml").read_text(encoding="utf-8")
    assert f'  find.not_found: "{better}"\n' in catalogue and '  nearest.title: "Eduze kwe-{place}:"\n' in catalogue
    marks = load_reviews(menus_dir / "catalogues", "zu")
    assert set(marks) == {"find.not_found", "main.find"}
    assert marks["find.not_found"].by == REVIEWER and marks["find.not_found"].text_hash == text_hash(better)
    rows = status_rows(run("status", menus_dir=menus_dir).output)
    assert rows["zu"][1:3] == [2, rows["zu"][0] - 2]
    (event,) = audit.events(cli_env.sessions, "translation.imported").events
    assert (event.actor, event.target) == ("cli", "zu") and REVIEWER in event.detail
    assert lines["find.not_found"] > 0
    # Without a reviewer nothing becomes reviewed, though the file says so.
    export(menus_dir, path)
    edit(path, {}, reviewed=("main.browse",))
    assert "0 newly reviewed" in run("import", str(path), menus_dir=menus_dir).output
    assert "main.browse" not in load_reviews(menus_dir / "catalogues", "zu")


def test_an_english_or_unreadable_file_is_refused_whole(cli_env, menus_dir, tmp_path):
    path = tmp_path / "en.po"
    assert run("export", "en", "-o", str(path), menus_dir=menus_dir).exit_code == 0
    result = run("import", str(path), menus_dir=menus_dir)
    assert result.exit_code == 1 and "English is the source" in result.output
    (tmp_path / "bad.po").write_text('msgid "a"\nmsgstr "b"\nnonsense here\n', encoding="utf-8")
    result = run("import", str(tmp_path / "bad.po"), menus_dir=menus_dir)
    assert result.exit_code == 1 and "not a readable PO file (Syntax error in po file" in result.output
    (tmp_path / "bare.po").write_text('msgid "a"\nmsgstr "b"\n', encoding="utf-8")
    result = run("import", str(tmp_path / "bare.po"), menus_dir=menus_dir)
    assert result.exit_code == 1 and "the file names no language" in result.output


def test_a_string_translated_from_an_older_english_is_refused(cli_env, menus_dir, tmp_path):
    path = tmp_path / "zu.po"
    export(menus_dir, path)
    po = polib.pofile(str(path))
    entry = next(e for e in po if e.msgctxt == "main.language")
    entry.msgid, entry.msgstr = "Choose language", "Khetha ulimi"
    po.save(str(path))
    line = next(e.linenum for e in polib.pofile(str(path)) if e.msgctxt == "main.language")
    result = run("import", str(path), menus_dir=menus_dir)
    assert result.exit_code == 1
    assert (f"line {line}: main.language: refused: translated from an older English wording; it is now "
            "'Language': export again") in result.output
    assert '  main.language: "Ulimi"' in (menus_dir / "catalogues" / "zu.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("wording, reason", [
    ("Eduze ne-{0}:", "unknown placeholder {0}: only {place} can be filled"),
    ("Eduze ne-{place.upper}:", "unknown placeholder {place.upper}"),
    ("Eduze ne-{place:", "unbalanced braces"),
], ids=["positional", "attribute", "unbalanced"])
def test_a_placeholder_that_cannot_be_filled_is_refused_not_crashed_on(cli_env, menus_dir, tmp_path, wording, reason):
    path = tmp_path / "zu.po"
    export(menus_dir, path)
    line = edit(path, {"nearest.title": wording})["nearest.title"]
    result = run("import", str(path), menus_dir=menus_dir)
    assert result.exit_code == 1, result.output
    assert f"line {line}: nearest.title: refused: {reason}" in result.output


def test_an_import_on_a_service_with_no_centres_yet_checks_the_screens_it_can(rt, settings, monkeypatch,
                                                                           menus_dir, tmp_path):
    """A fresh install (no centre imported): the walk has no centre to send a question to and
    must not crash the import."""
    for key, value in settings.as_environ().items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "zu.po"
    po = export(menus_dir, path)
    edited = next(e for e in po if e.msgctxt == "find.prompt")
    edited.msgstr = edited.msgstr.rstrip(":")  # a changed string: the walk checks its screens
    po.save(str(path))
    result = run("import", str(path), menus_dir=menus_dir)
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output and "0 refused" in result.output, result.output


def test_xliff_round_trip_changes_no_byte(cli_env, menus_dir, tmp_path):
    """XLIFF 2.0 as translate-toolkit reads it, each unit's note before its segment (the order
    XLIFF 2.0 gives a unit); importing it unchanged, with or without a reviewer, changes nothing."""
    from lxml import etree
    from translate.storage.xliff2 import Xliff2File

    before = snapshot(menus_dir)
    path = tmp_path / "zu.xlf"
    result = run("export", "zu", "--format", "xliff", "-o", str(path), menus_dir=menus_dir)
    assert result.exit_code == 0, result.output
    store = Xliff2File.parsestring(path.read_bytes())
    assert store.gettargetlanguage() == "zu"
    units = {u.getid(): u for u in store.getunits()}
    assert len(units) == len(polib.pofile(str(export(menus_dir, tmp_path / "zu.po").fpath)))
    nearest = units["nearest.title"]
    assert (nearest.source, nearest.target, nearest.isapproved()) == ("Nearest to {place}:", "Eduze ne-{place}:", False)
    ns = {"x": "urn:oasis:names:tc:xliff:document:2.0"}
    unit = etree.fromstring(path.read_bytes()).find(".//x:unit[@id='nearest.title']", ns)
    assert [etree.QName(child).localname for child in unit] == ["notes", "segment"]
    note = unit.find("x:notes/x:note", ns).text
    assert "Appears: screen nearest." in note and "{place}" in note and "GSM-7 characters on this screen" in note
    for reviewer in ((), ("--reviewer", REVIEWER)):
        result = run("import", str(path), *reviewer, menus_dir=menus_dir)
        assert result.exit_code == 0, result.output
        assert "0 changed, 0 newly reviewed, 0 refused" in result.output
        assert snapshot(menus_dir) == before
    assert run("export", "zu", "--format", "xliff", "-o", str(tmp_path / "again.xlf"), menus_dir=menus_dir).exit_code == 0
    assert (tmp_path / "again.xlf").read_bytes() == path.read_bytes()


def test_an_xliff_edit_is_checked_with_its_line_and_a_reviewed_state_marks_it_reviewed(cli_env, menus_dir,
                                                                                        tmp_path):
    from translate.storage.xliff2 import Xliff2File

    path = tmp_path / "zu.xlf"
    assert run("export", "zu", "--format", "xliff", "-o", str(path), menus_dir=menus_dir).exit_code == 0
    store = Xliff2File.parsestring(path.read_bytes())
    units = {u.getid(): u for u in store.getunits()}
    units["nearest.title"].target = "Eduze:"  # {place} dropped
    better = "Asiyitholanga leyo ndawo. Bhala igama lenye indawo eseduze:"
    units["find.not_found"].target = better
    units["find.not_found"].markapproved(True)  # state="reviewed", as a reviewer's tool sets it
    path.write_bytes(bytes(store))
    line = Xliff2File.parsestring(path.read_bytes()).findid("nearest.title").getunitelement().sourceline
    result = run("import", str(path), "--reviewer", REVIEWER, menus_dir=menus_dir)
    assert result.exit_code == 1, result.output
    assert f"line {line}: nearest.title: refused: placeholder {{place}} missing" in result.output
    assert "1 changed, 1 newly reviewed, 1 refused" in result.output
    assert f'  find.not_found: "{better}"\n' in (menus_dir / "catalogues" / "zu.yaml").read_text(encoding="utf-8")
    assert load_reviews(menus_dir / "catalogues", "zu")["find.not_found"].by == REVIEWER
    (tmp_path / "bad.xlf").write_text("<xliff version='2.0'><file", encoding="utf-8")
    result = run("import", str(tmp_path / "bad.xlf"), menus_dir=menus_dir)
    assert result.exit_code == 1 and "not a readable XLIFF 2 file" in result.output
