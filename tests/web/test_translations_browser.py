"""Reviewing isiZulu in headless Chromium (Playwright, Debian's /usr/bin/chromium), at a
laptop's width and a phone's (390 px): a reviewer marks three strings correct, a suggestion
that drops a placeholder is refused on the spot, a good one waits; an admin accepts it and the
main menu's screen shows the new wording, reviewed by the reviewer. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gateway.web import create_app
from menus.catalogue import CATALOGUES
from menus.keywords import KEYWORDS
from menus.review import load_reviews
from menus.translation import Files, entries
from tests.conftest import PASSWORD
from tests.live import serving

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CORRECT = ("main.title", "main.browse", "main.services")
BETTER = "Thola isikhungo esiseduze"


def log_in(browser, base: str, email: str, width: int):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page


def string(page, key: str):
    return page.locator(f"li[data-testid=string][data-key='{key}']")


def main_screen(page):
    return page.locator("section[data-screen=main] [data-testid=phone]")


@pytest.mark.parametrize("width", [1366, 390])
def test_a_reviewer_and_an_admin_review_isizulu_in_chromium(seeded, auth, tmp_path, width, browser):
    assert CHROMIUM.exists(), "Debian chromium is required (apt-get install chromium)"
    shutil.copytree(CATALOGUES, tmp_path / "catalogues")
    shutil.copy(KEYWORDS, tmp_path / "keywords.yaml")
    files = Files(tmp_path / "catalogues", tmp_path / "keywords.yaml")
    app = create_app(runtime=seeded)
    app.config["TRANSLATION_FILES"] = files
    auth.add("reviewer", email="reviewer@example.org")
    auth.add("admin", email="admin@example.org")
    ARTIFACTS.mkdir(exist_ok=True)

    with serving(app) as base:
        try:
            page = log_in(browser, base, "reviewer@example.org", width)
            page.wait_for_url(f"{base}/staff/translations/")
            page.click("a:text-is('isiZulu')")
            total = len(entries(files, "zu"))
            expect(page.get_by_test_id("review-status")).to_contain_text(f"0 of {total} strings reviewed")
            expect(main_screen(page)).to_contain_text("Izikhungo zeThusong\n1. Thola isikhungo eseduze")
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off a phone
            for key in CORRECT:
                string(page, key).get_by_role("button", name="Correct").click()
                expect(string(page, key).get_by_test_id("state")).to_have_text("reviewed")
            expect(page.get_by_test_id("review-status")).to_contain_text(f"3 of {total} strings reviewed")

            box = string(page, "nearest.title")
            box.locator("textarea").fill("Eduze:")
            box.get_by_role("button", name="Suggest").click()
            expect(page.locator(".flash.error")).to_contain_text("placeholder {place} missing")
            box = string(page, "main.find")
            box.locator("textarea").fill(BETTER)
            box.get_by_role("button", name="Suggest").click()
            expect(page.locator(".flash.info")).to_contain_text("passed the checks and waits for an admin")
            expect(page.get_by_test_id("suggestion")).to_have_count(1)
            expect(main_screen(page)).to_contain_text("1. Thola isikhungo eseduze")  # not before an admin
            page.screenshot(path=str(ARTIFACTS / f"translations-review-{width}.png"), full_page=False)

            admin = log_in(browser, base, "admin@example.org", width)
            admin.goto(f"{base}/staff/translations/")
            expect(admin.get_by_test_id("translation-status")).to_contain_text("isiZulu")
            admin.click("a:text-is('isiZulu')")
            admin.get_by_test_id("suggestion").get_by_role("button", name="Accept").click()
            expect(admin.locator(".flash.info")).to_contain_text("Accepted")
            expect(main_screen(admin)).to_contain_text(f"1. {BETTER}\n")
            expect(string(admin, "main.find").get_by_test_id("state")).to_have_text("reviewed")
            expect(string(admin, "main.find")).to_contain_text("by Reviewer")
            expect(admin.get_by_test_id("suggestion")).to_have_count(0)
            assert admin.evaluate("document.documentElement.scrollWidth") <= width
            admin.screenshot(path=str(ARTIFACTS / f"translations-accepted-{width}.png"), full_page=False)
        finally:
            pass  # the browser fixture closes what the test opened
    marks = load_reviews(files.catalogues, "zu")
    assert set(marks) == {*CORRECT, "main.find"} and {m.by for m in marks.values()} == {"Reviewer"}
    assert f'  main.find: "{BETTER}"' in files.catalogue("zu").read_text(encoding="utf-8").splitlines()
