"""The translations pages: a reviewer opens only them; "correct" marks a string reviewed for
the wording shown (audited); a suggestion is checked when made, waits, and is accepted by an
admin other than its author — then written to the catalogue, reviewed by the suggester."""

from __future__ import annotations

import re
import shutil

import pytest

from gateway.staff import audit
from gateway.staff import translation_review as review
from menus.catalogue import CATALOGUES
from menus.keywords import KEYWORDS
from menus.review import load_reviews
from menus.translation import Files, entries
from tests.conftest import CSRF_FIELD


@pytest.fixture
def files(app, tmp_path) -> Files:
    shutil.copytree(CATALOGUES, tmp_path / "catalogues")
    shutil.copy(KEYWORDS, tmp_path / "keywords.yaml")
    app.config["TRANSLATION_FILES"] = Files(tmp_path / "catalogues", tmp_path / "keywords.yaml")
    return app.config["TRANSLATION_FILES"]


def post(client, path: str, data: dict):
    token = CSRF_FIELD.search(client.get("/staff/translations/").get_data(as_text=True)).group(1)
    return client.post(path, data={**data, "csrf_token": token})


def zu_line(files: Files, key: str) -> str:
    return next(line for line in files.catalogue("zu").read_text(encoding="utf-8").splitlines()
                if line.startswith(f"  {key}: "))


@pytest.mark.parametrize("path", ["/staff/broadcasts/", "/staff/centres/", "/staff/visits/", "/staff/analytics",
                                  "/staff/audit", "/staff/privacy", "/staff/accounts/"])
def test_a_reviewer_opens_the_translations_and_nothing_else(client, auth, files, path):
    auth.as_role("reviewer")
    assert client.get("/staff/").headers["Location"].endswith("/staff/translations/")
    assert client.get("/staff/translations/").status_code == 200
    assert client.get(path).status_code == 403


def test_the_overview_and_review_page_show_the_state_and_the_screens(seeded, client, auth, files):
    auth.as_role("reviewer")
    overview = client.get("/staff/translations/").get_data(as_text=True)
    assert "isiZulu" in overview and "Tshivenda" in overview
    page = client.get("/staff/translations/zu").get_data(as_text=True)
    assert f"0 of {len(entries(files, 'zu'))} strings reviewed" in page
    assert 'data-screen="provinces"' in page and "Khetha isifundazwe:\n1. Eastern Cape" in page  # a live list
    assert "Izikhungo zeThusong\n1. Thola isikhungo eseduze" in page and "Thusong Service Centres\n1. Find nearest" in page
    assert client.get("/staff/translations/en").status_code == 404


def test_correct_marks_the_wording_shown_and_is_audited(seeded, client, auth, files):
    reviewer = auth.as_role("reviewer")
    shown = zu_line(files, "main.find").split(": ", 1)[1].strip('"')
    assert post(client, "/staff/translations/zu/correct", {"key": "main.find", "seen": shown}).status_code == 302
    marks = load_reviews(files.catalogues, "zu")
    assert list(marks) == ["main.find"] and marks["main.find"].by == reviewer.name
    (event,) = audit.events(seeded.sessions, "translation.reviewed").events
    assert (event.actor, event.target) == (reviewer.email, "zu main.find")
    # A wording changed since the page showed it is not marked.
    post(client, "/staff/translations/zu/correct", {"key": "main.browse", "seen": "an older wording"})
    assert "main.browse" not in load_reviews(files.catalogues, "zu")
    assert "changed since the page showed it" in client.get("/staff/translations/zu").get_data(as_text=True)


def test_a_suggestion_is_checked_waits_and_is_accepted_by_another_admin(seeded, client, auth, files):
    reviewer = auth.as_role("reviewer")
    refused = post(client, "/staff/translations/zu/suggest", {"key": "nearest.title", "text": "Eduze:"})
    assert refused.status_code == 302
    page = client.get("/staff/translations/zu").get_data(as_text=True)
    assert "Suggestion for nearest.title refused: placeholder {place} missing" in page
    post(client, "/staff/translations/zu/suggest", {"key": "nearest.title", "text": "Eduze kwe-{place}:"})
    page = client.get("/staff/translations/zu").get_data(as_text=True)
    assert "passed the checks and waits for an admin" in page and 'data-testid="suggestion"' in page
    assert zu_line(files, "nearest.title") == '  nearest.title: "Eduze ne-{place}:"'  # not yet
    assert re.search(r"/staff/translations/suggestions/(\d+)/accept", page) is None  # not for a reviewer
    (waiting,) = review.waiting(seeded, "zu")
    assert post(client, f"/staff/translations/suggestions/{waiting.id}/accept", {}).status_code == 403
    client.post("/staff/logout", data={"csrf_token": CSRF_FIELD.search(page).group(1)})
    admin = auth.as_role("admin")
    page = client.get("/staff/translations/zu").get_data(as_text=True)
    sid = re.search(r"/staff/translations/suggestions/(\d+)/accept", page).group(1)
    assert post(client, f"/staff/translations/suggestions/{sid}/accept", {}).status_code == 302
    assert zu_line(files, "nearest.title") == '  nearest.title: "Eduze kwe-{place}:"'
    assert load_reviews(files.catalogues, "zu")["nearest.title"].by == reviewer.name
    (event,) = audit.events(seeded.sessions, "translation.accepted").events
    assert (event.actor, event.target) == (admin.email, "zu nearest.title")
    assert 'data-testid="suggestion"' not in client.get("/staff/translations/zu").get_data(as_text=True)


def test_an_admin_cannot_accept_their_own_suggestion(seeded, client, auth, files):
    auth.as_role("admin")
    post(client, "/staff/translations/zu/suggest", {"key": "main.language", "text": "Ulimi lwakho"})
    page = client.get("/staff/translations/zu").get_data(as_text=True)
    assert "Your suggestion: another admin accepts it." in page
    (waiting,) = review.waiting(seeded, "zu")
    post(client, f"/staff/translations/suggestions/{waiting.id}/accept", {})
    assert "someone other than its author" in client.get("/staff/translations/zu").get_data(as_text=True)
    assert zu_line(files, "main.language") == '  main.language: "Ulimi"'
