"""Templates, copy-to-new and resubmit through the Flask test client: the Templates page lists
what the member may use (a clerk: shared ones and their centres'), a template outside their
centres is 404 and a shared one not theirs to change is 403; deleting asks first, says what it
removes and is audited with the wording; compose and the visit form start from a template; a
broadcast is copied (audience, language, text — not its time); a rejected one is edited and
resubmitted through the same check-then-send confirm page and approval, its reason beside the
form; the visit notice is edited, previewed as sent and approved as edited."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from gateway.clock import SAST, FrozenClock
from gateway.staff import audit, templates
from gateway.staff import broadcasts as bc
from gateway.store.models import Broadcast, MessageTemplate, Visit
from tests.approving import login
from tests.broadcasting import add_subscribers, centre_id, confirm_fields, send_checked

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SAST)  # a Thursday
NOTICE = "{service} at {centre}, {when}. Bring your ID book."


@pytest.fixture
def office(seeded, auth, monkeypatch):
    """Soweto (3 subscribers) and Worcester, the two-person rule on; a clerk for each, an
    approver for all; a shared template and one per centre."""
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true", BULK_SCHEDULE=""))
    monkeypatch.setattr(seeded, "clock", FrozenClock(NOW))
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, [f"+2782400000{i}" for i in range(3)], soweto)
    clerk, other = auth.add("clerk", [soweto], "clerk@example.org"), auth.add("clerk", [worcester], "other@example.org")
    approver = auth.add("approver", email="approver@example.org")
    shared = templates.create(seeded, bc.Actor.of(approver), "Closed Friday", "The centre is closed on Friday.")
    mine = templates.create(seeded, bc.Actor.of(clerk), "SASSA notice", NOTICE, centre_id=soweto)
    theirs = templates.create(seeded, bc.Actor.of(other), "Worcester water", "No water today.", centre_id=worcester)
    return {"rt": seeded, "soweto": soweto, "worcester": worcester, "clerk": clerk, "other": other,
            "approver": approver, "shared": shared.id, "mine": mine.id, "theirs": theirs.id}


def page(auth, path: str) -> str:
    return html.unescape(auth.client.get(path).get_data(as_text=True))


def textarea(shown: str, name: str) -> str:
    """What the page's ``name`` box holds (Jinja starts a textarea with a line break)."""
    found = re.search(rf'<textarea[^>]* name="{name}"[^>]*>(.*?)</textarea>', shown, re.S)
    return found.group(1).strip() if found else ""


def events(rt, action: str) -> list:
    return [e for e in audit.events(rt.sessions, action).events if e.action == action]


def template_count(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(MessageTemplate))


# --- the Templates page: scope, roles, delete with confirm ---------------------------------------

def test_a_clerk_lists_and_uses_only_shared_and_their_centres_templates(office, auth):
    login(auth, office["clerk"])
    listed = page(auth, "/staff/templates/")
    assert "Closed Friday" in listed and "SASSA notice" in listed and "Worcester water" not in listed
    assert "Schedule a visit from it" in listed and "Start a broadcast from it" in listed
    for path in (f"/staff/templates/{office['theirs']}/edit", f"/staff/templates/{office['theirs']}/delete"):
        assert auth.client.get(path).status_code == 404
    assert auth.post(f"/staff/templates/{office['theirs']}/delete").status_code == 404
    for path in (f"/staff/templates/{office['shared']}/edit", f"/staff/templates/{office['shared']}/delete"):
        assert auth.client.get(path).status_code == 403  # shared: an approver's or admin's to change
    assert auth.post(f"/staff/templates/{office['shared']}/delete").status_code == 403
    assert template_count(office["rt"]) == 3


def test_a_clerk_writes_a_template_for_their_centre_but_not_a_shared_one(office, auth):
    rt = office["rt"]
    login(auth, office["clerk"])
    form = page(auth, "/staff/templates/new")
    assert "Every centre (shared)" not in form and "Worcester" not in form
    refused = auth.post("/staff/templates/new", {"name": "Mine", "text": "Text.", "language": "", "place": "shared"})
    assert "only an approver or an administrator" in html.unescape(refused.get_data(as_text=True))
    refused = auth.post("/staff/templates/new", {"name": "Mine", "text": "Text.", "language": "",
                                                 "place": str(office["worcester"])})
    assert "is not one of your centres" in refused.get_data(as_text=True)
    assert template_count(rt) == 3
    saved = auth.post("/staff/templates/new", {"name": "Queue", "text": "Long queues today.", "language": "zu",
                                               "place": str(office["soweto"])})
    assert saved.status_code == 302
    [event] = events(rt, "template.created")
    assert json.loads(event.detail) == {"name": "Queue", "centre": office["soweto"], "language": "zu",
                                        "text": "Long queues today."}
    assert event.actor == "clerk@example.org"


def test_deleting_asks_first_says_what_it_removes_and_is_audited_with_the_wording(office, auth):
    rt = office["rt"]
    login(auth, office["approver"])
    asked = page(auth, f"/staff/templates/{office['shared']}/delete")
    assert "This removes the template “Closed Friday”" in asked
    assert "nobody at any centre can start from it any more" in asked
    assert "Broadcasts and visits already started from it are not changed" in asked
    assert template_count(rt) == 3  # opening the page deletes nothing
    done = auth.post(f"/staff/templates/{office['shared']}/delete")
    assert done.status_code == 302 and template_count(rt) == 2
    [event] = events(rt, "template.deleted")
    assert event.target == f"template {office['shared']}"
    assert json.loads(event.detail)["text"] == "The centre is closed on Friday."


def test_an_edit_is_audited_with_what_it_was(office, auth):
    rt = office["rt"]
    login(auth, office["clerk"])
    form = page(auth, f"/staff/templates/{office['mine']}/edit")
    assert "Bring your ID book." in form
    changed = auth.post(f"/staff/templates/{office['mine']}/edit", {
        "name": "SASSA notice", "text": NOTICE + " Free.", "language": "", "place": str(office["soweto"])})
    assert changed.status_code == 302
    [event] = events(rt, "template.edited")
    detail = json.loads(event.detail)
    assert detail["text"].endswith("Free.") and detail["was"]["text"] == NOTICE


# --- compose from a template; save as template ---------------------------------------------------

def test_compose_starts_from_a_template_the_clerk_may_use_and_nothing_else(office, auth):
    login(auth, office["clerk"])
    compose = page(auth, f"/staff/broadcasts/new?template={office['shared']}")
    assert "Started from the template “Closed Friday”" in compose
    assert textarea(compose, "message") == "The centre is closed on Friday."
    assert 'data-testid="template-picker"' in compose and "SASSA notice" not in compose.split("<h1")[1]
    other = page(auth, f"/staff/broadcasts/new?template={office['theirs']}")
    assert "No water today." not in other and "No broadcast template" in other
    notice = page(auth, f"/staff/broadcasts/new?template={office['mine']}")  # a visit notice's wording
    assert textarea(notice, "message") == "" and "a visit notice's starts a visit" in notice


def test_save_as_template_fills_the_new_template_form_and_stores_nothing(office, auth):
    login(auth, office["clerk"])
    shown = auth.post("/staff/templates/new", {"action": "from_compose", "kind": "centre",
                                               "centres": [office["soweto"]], "message": "Water is back.",
                                               "language": "xh"})
    text = html.unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and textarea(text, "text") == "Water is back."
    assert f'<option selected value="{office["soweto"]}">' in text and '<option selected value="xh">' in text
    assert template_count(office["rt"]) == 3


# --- copy to new; edit and resubmit --------------------------------------------------------------

def rejected_broadcast(office) -> int:
    rt, clerk = office["rt"], bc.Actor.of(office["clerk"])
    row = bc.create(rt, clerk, f"centre:{office['soweto']}", "Home Affairs on Tuesday", "zu")
    bc.submit(rt, clerk, row.id)
    bc.reject(rt, bc.Actor.of(office["approver"]), row.id, "Say which Tuesday", bc.seen_digest(bc.get(rt, row.id)))
    return row.id


def test_copy_to_new_fills_audience_language_and_text_but_not_the_time(office, auth):
    rt = office["rt"]
    row = bc.create(rt, bc.CLI, f"centre:{office['soweto']}", "Water is off on Monday", "af",
                    at=datetime(2026, 12, 10, 9, 0, tzinfo=SAST))
    login(auth, office["approver"])
    shown = page(auth, f"/staff/broadcasts/{row.id}")
    assert f'href="/staff/broadcasts/new?copy={row.id}"' in shown and "Edit and resubmit" not in shown
    copy = page(auth, f"/staff/broadcasts/new?copy={row.id}")
    assert f"A copy of broadcast {row.id}" in copy and textarea(copy, "message") == "Water is off on Monday"
    assert f'<option selected value="{office["soweto"]}">' in copy and '<option selected value="af">' in copy
    assert 'checked id="when-0" name="when" type="radio" value="now"' in copy  # sent now unless changed
    assert '<option value="10" selected>' not in copy  # the copied broadcast's Thursday 10th is not carried


def test_a_rejected_broadcast_is_resubmitted_through_the_confirm_page_and_waits_for_approval(office, auth):
    rt = office["rt"]
    old = rejected_broadcast(office)
    login(auth, office["clerk"])
    shown = page(auth, f"/staff/broadcasts/{old}")
    assert "Edit and resubmit" in shown and "Reason: Say which Tuesday" in shown
    form = page(auth, f"/staff/broadcasts/new?resubmit={old}")
    assert f"Edit and resubmit broadcast {old}" in form and "Say which Tuesday" in form
    assert textarea(form, "message") == "Home Affairs on Tuesday"
    data = {"kind": "centre", "centres": [office["soweto"]], "language": "zu", "when": "now",
            "message": "Home Affairs on Tuesday 8 December", "resubmits": str(old)}
    # A "send" without the confirm page's digest only shows the confirm page: nothing stored.
    unconfirmed = auth.post("/staff/broadcasts/new", {**data, "action": "send"})
    assert confirm_fields(unconfirmed.get_data(as_text=True)).get("seen")
    assert f'name="resubmits" value="{old}"' in unconfirmed.get_data(as_text=True)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 1
    sent = send_checked(auth, data)
    assert sent.status_code == 302
    with rt.sessions() as s:
        new = s.scalars(select(Broadcast).where(Broadcast.id != old)).one()
    assert new.status == "pending_approval" and new.text == "Home Affairs on Tuesday 8 December"
    assert new.resubmits_id == old
    assert bc.get(rt, old).status == "rejected"
    [event] = events(rt, "broadcast.created")
    assert json.loads(event.detail)["resubmits"] == old
    login(auth, office["approver"])  # the approver reads why the first was rejected, beside the new one
    assert f"This resubmits broadcast {old} , rejected because: Say which Tuesday" in " ".join(
        re.sub(r"<[^>]+>", " ", page(auth, f"/staff/broadcasts/{new.id}")).split())


def test_only_the_author_resubmits_and_a_forged_original_is_not_named(office, auth, seeded):
    rt = office["rt"]
    old = rejected_broadcast(office)
    login(auth, office["approver"])  # sees it, did not write it: a copy, not a resubmission
    form = page(auth, f"/staff/broadcasts/new?resubmit={old}")
    assert "Say which Tuesday" not in form and f"A copy of broadcast {old}" in form
    assert "Edit and resubmit" not in page(auth, f"/staff/broadcasts/{old}")
    login(auth, office["other"])  # Worcester's clerk may not even see it
    assert "Home Affairs on Tuesday" not in page(auth, f"/staff/broadcasts/new?resubmit={old}")
    data = {"kind": "centre", "centres": [office["worcester"]], "language": "", "when": "now",
            "message": "Worcester news", "resubmits": str(old)}
    assert send_checked(auth, data).status_code == 302
    [event] = events(rt, "broadcast.created")
    assert "resubmits" not in json.loads(event.detail)


# --- a visit from a template, its notice edited --------------------------------------------------

def visit_form(office, **fields) -> dict:
    return {"centre": office["soweto"], "office": "SASSA", "service": "", "day": "2026-12-07",
            "starts": "09:00", "ends": "14:00", "notice": NOTICE, **fields}


def test_a_visit_starts_from_a_notice_template_is_previewed_and_approved_as_edited(office, auth):
    rt = office["rt"]
    login(auth, office["clerk"])
    form = page(auth, f"/staff/visits/new?template={office['mine']}")
    assert "The notice starts from the template “SASSA notice”" in form and textarea(form, "notice") == NOTICE
    assert "Closed Friday" not in form.split('data-testid="template-picker"')[1].split("</form>")[0]
    plain = page(auth, f"/staff/visits/new?template={office['shared']}")  # a broadcast's text: no notice
    assert textarea(plain, "notice") == "{service} at {centre}, {when}." and "No visit notice template" in plain
    previewed = html.unescape(auth.post("/staff/visits/new", {**visit_form(office), "action": "preview"})
                              .get_data(as_text=True))
    words = "SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00. Bring your ID book."
    assert words in previewed and 'data-testid="notice-encoding">GSM-7' in previewed
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 0  # a preview stores nothing
    wide = html.unescape(auth.post("/staff/visits/new", {
        **visit_form(office, notice="{service} at {centre}, {when}. Bring your ID — free."), "action": "preview"})
        .get_data(as_text=True))
    assert 'data-testid="notice-encoding">UCS-2' in wide and "U+2014" in wide
    assert auth.post("/staff/visits/new", {**visit_form(office), "action": "save"}).status_code == 302
    with rt.sessions() as s:
        row = s.scalars(select(Visit)).one()
    assert row.notice == NOTICE and row.status == "pending_approval"
    login(auth, office["approver"])
    shown = html.unescape(auth.client.get(f"/staff/visits/{row.id}").get_data(as_text=True))
    assert words in shown  # the approver reads the notice as edited, with its cost


def test_a_notice_breaking_the_rules_is_refused_on_the_form(office, auth):
    login(auth, office["clerk"])
    refused = html.unescape(auth.post("/staff/visits/new", {**visit_form(office, notice="SASSA on Monday."),
                                                             "action": "save"}).get_data(as_text=True))
    assert "the notice must keep {service}, {centre}, {when}" in refused
    with office["rt"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 0


def test_the_notice_preview_follows_the_form_and_counts_only_the_clerks_centres(office, auth):
    login(auth, office["clerk"])
    fragment = html.unescape(auth.post("/staff/visits/notice-preview", visit_form(office)).get_data(as_text=True))
    assert "SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00. Bring your ID book." in fragment
    assert "<html" not in fragment  # a fragment for the script, not a page
    elsewhere = html.unescape(auth.post("/staff/visits/notice-preview", visit_form(office, centre=office["worcester"]))
                              .get_data(as_text=True))
    assert "is not one of your centres" in elsewhere and "Worcester" not in elsewhere and "subscribers" not in elsewhere
    with office["rt"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_waiting_visits_notice_is_changed_on_its_edit_page_and_audited(office, auth):
    rt = office["rt"]
    login(auth, office["clerk"])
    assert auth.post("/staff/visits/new", {**visit_form(office), "action": "save"}).status_code == 302
    with rt.sessions() as s:
        row = s.scalars(select(Visit)).one()
    assert textarea(page(auth, f"/staff/visits/{row.id}/edit"), "notice") == NOTICE
    changed = auth.post(f"/staff/visits/{row.id}/edit", {**visit_form(office, notice=NOTICE + " Free."),
                                                         "action": "save"})
    assert changed.status_code == 302
    with rt.sessions() as s:
        assert s.get(Visit, row.id).notice == NOTICE + " Free."  # changed in place: still waiting
    [created] = events(rt, "visit.created")
    [edited] = events(rt, "visit.edited")
    assert json.loads(created.detail)["notice"] == NOTICE and json.loads(edited.detail)["notice"] == NOTICE + " Free."
    standard = auth.client.get("/staff/visits/new").get_data(as_text=True)
    assert textarea(html.unescape(standard), "notice") == "{service} at {centre}, {when}."
