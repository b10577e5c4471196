"""The broadcast pages through the Flask test client: the preview shows the domain's numbers,
a clerk is held to their centres by the menu, typed URLs and tampered fields, the two-person
rule holds on the pages, rejections reach the author, CSRF, logins and the audit rows."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from gateway.clock import SAST, FrozenClock
from gateway.sms import bulk
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.store.models import Broadcast, Centre, Message, Staff
from tests.broadcasting import add_subscribers, centre_id, send_checked

MESSAGE = "Home Affairs mobile unit on Tuesday — bring your ID."  # the dash forces UCS-2


@pytest.fixture
def towns(seeded):
    """Soweto: 3 subscribers and 1 opted out; Worcester: 2."""
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, [f"+2782400000{i}" for i in range(3)], soweto)
    add_subscribers(seeded, ["+27824000009"], soweto, opted_out=True)
    add_subscribers(seeded, [f"+2782500000{i}" for i in range(2)], worcester)
    return {"soweto": soweto, "worcester": worcester}


def shown_by_testid(html: str) -> dict[str, str]:
    """Every innermost ``data-testid`` element's text, tags stripped."""
    found = re.findall(r'data-testid="([^"]+)"[^>]*>((?:(?!data-testid=).)*?)</(?:dd|span|p|strong|div)>', html, re.S)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", value).split()) for key, value in found}


def compose(auth, path="/staff/broadcasts/new", **fields):
    """Post the compose form; ``action="send"`` goes through the confirm page as a person does."""
    data = {"kind": "centre", "language": "", "message": MESSAGE, "when": "now", "action": "preview", **fields}
    if data["action"] == "send" and path == "/staff/broadcasts/new":
        return send_checked(auth, data)
    return auth.post(path, data)


def broadcasts(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Broadcast))


def audit_rows(rt) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.actor, e.target) for e in reversed(audit.events(rt.sessions, "broadcast").events)]


def test_the_preview_shows_the_domains_numbers_on_the_page_and_in_the_fragment(towns, seeded, client, auth):
    auth.as_role("admin")
    _spec, expected = bc.compose(seeded, f"centre:{towns['soweto']}", MESSAGE)
    for path in ("/staff/broadcasts/new", "/staff/broadcasts/preview"):
        page = compose(auth, path, centres=[towns["soweto"]])
        shown = shown_by_testid(page.get_data(as_text=True))
        assert shown["characters"] == str(expected.characters) == str(len(expected.text))
        assert shown["encoding"] == "UCS-2 because of “—” (U+2014)"
        assert (shown["segments"], shown["recipients"]) == (str(expected.segments), "3")
        assert shown["cost"] == f"R{expected.cost:.2f}" and shown["start"] == "starts now"
        assert expected.text in page.get_data(as_text=True)
    assert broadcasts(seeded) == 0  # a preview stores nothing


def test_sending_now_schedules_it_and_audits_created_and_sent(towns, seeded, client, auth):
    admin = auth.as_role("admin")
    response = compose(auth, centres=[towns["soweto"]], action="send")
    assert response.status_code == 302
    [row] = bc.list_broadcasts(seeded)
    assert response.headers["Location"] == f"/staff/broadcasts/{row.id}"
    assert (row.status, row.target, row.recipients) == ("scheduled", f"centre:{towns['soweto']}", 3)
    page = client.get(f"/staff/broadcasts/{row.id}").get_data(as_text=True)
    with seeded.sessions() as s:
        name = s.get(Centre, towns["soweto"]).name
    assert shown_by_testid(page)["target"] == name and 'data-progress-url="/staff/broadcasts/' in page
    assert audit_rows(seeded) == [("broadcast.created", admin.email, f"broadcast {row.id}"),
                                  ("broadcast.sent", admin.email, f"broadcast {row.id}")]


def test_a_start_in_quiet_hours_is_said_exactly_before_and_after_sending(towns, seeded, client, auth, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BULK_SCHEDULE=""))
    monkeypatch.setattr(seeded, "clock", FrozenClock(datetime(2026, 12, 5, 13, 30, tzinfo=SAST)))  # Saturday
    auth.as_role("admin")
    shown = shown_by_testid(compose(auth, "/staff/broadcasts/preview", centres=[towns["soweto"]]).get_data(as_text=True))
    assert shown["start"] == "starts Mon 7 Dec 08:00 (quiet hours)"
    later = compose(auth, "/staff/broadcasts/preview", centres=[towns["soweto"]], when="at",
                    **{"at-day": "8", "at-month": "12", "at-year": "2026", "at-time": "10:15"})
    assert shown_by_testid(later.get_data(as_text=True))["start"] == "starts Tue 8 Dec 10:15"
    location = compose(auth, centres=[towns["soweto"]], action="send").headers["Location"]
    assert shown_by_testid(client.get(location).get_data(as_text=True))["starts"] == "starts Mon 7 Dec 08:00 (quiet hours)"


# --- a clerk and their centres ----------------------------------------------------------------

def test_a_clerks_menu_offers_only_their_centres(towns, seeded, client, auth):
    auth.as_role("clerk", [towns["soweto"]])
    page = client.get("/staff/broadcasts/new").get_data(as_text=True)
    assert re.findall(r'name="centres" value="(\d+)"', page) == [str(towns["soweto"])]
    assert 'name="kind" type="hidden" value="centre"' in page and "Worcester" not in page
    assert "Broadcasts" in client.get("/staff/").get_data(as_text=True)


@pytest.mark.parametrize("fields, says", [
    ({"kind": "all"}, "only to your own centres (centre:ID), not to all"),
    ({"kind": "province", "province": "Gauteng"}, "not to province:Gauteng"),
    ({"kind": "service", "service": "grants"}, "not to service:grants"),
    ({"centres": ["{worcester}"]}, "centre {worcester} is not one of your centres"),
    ({"centres": ["{soweto}", "{worcester}"]}, "centre {worcester} is not one of your centres"),
], ids=["all", "province", "service", "other-centre", "own-and-other"])
def test_a_clerks_tampered_form_is_refused_and_nothing_is_stored(towns, seeded, client, auth, fields, says):
    auth.as_role("clerk", [towns["soweto"]])
    fields = {k: [c.format(**towns) for c in v] if isinstance(v, list) else v for k, v in fields.items()}
    for action in ("preview", "send"):
        page = compose(auth, **{"centres": [towns["soweto"]], **fields, "action": action})
        assert page.status_code == 200 and says.format(**towns) in page.get_data(as_text=True)
    fragment = compose(auth, "/staff/broadcasts/preview", **{"centres": [towns["soweto"]], **fields})
    assert 'data-testid="recipients"' not in fragment.get_data(as_text=True)
    assert broadcasts(seeded) == 0


def test_a_clerk_cannot_open_or_act_on_another_centres_broadcast_by_typed_url(towns, seeded, client, auth):
    other = bc.create(seeded, bc.CLI, f"centre:{towns['worcester']}", "Worcester only.")
    ours = bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Soweto.")
    both = bc.create(seeded, bc.CLI, f"centre:{towns['soweto']},{towns['worcester']}", "Both.")  # half theirs
    auth.as_role("clerk", [towns["soweto"]])
    listing = client.get("/staff/broadcasts/").get_data(as_text=True)
    assert "Soweto." in listing and "Worcester only." not in listing
    assert client.get(f"/staff/broadcasts/{ours.id}").status_code == 200
    for path in (f"/staff/broadcasts/{other.id}", f"/staff/broadcasts/{other.id}/progress",
                 f"/staff/broadcasts/{both.id}", f"/staff/broadcasts/{both.id}/progress"):
        assert client.get(path).status_code == 404, path
    assert auth.post(f"/staff/broadcasts/{other.id}/cancel").status_code == 404
    assert auth.post(f"/staff/broadcasts/{other.id}/approve").status_code == 403  # not even the role
    assert bc.get(seeded, other.id).status == "draft"


# --- the two-person rule ----------------------------------------------------------------------

@pytest.fixture
def approval(seeded, monkeypatch):
    monkeypatch.setattr(seeded, "settings", seeded.settings.with_(BROADCAST_APPROVAL="true"))
    return seeded


def seen_on(page: str) -> str:
    """The digest of what the page showed, as its approve and reject forms carry it."""
    [value] = set(re.findall(r'<input type="hidden" name="seen" value="([^"]*)">', page))
    return value


def as_other(app, rt, auth, role, centres=(), email=None):
    other = auth.__class__(app.test_client(), rt)
    member = other.as_role(role, centres, email)
    return other, member


def test_a_clerks_broadcast_waits_and_its_author_cannot_approve_it(towns, approval, app, client, auth):
    auth.as_role("clerk", [towns["soweto"]])
    location = compose(auth, centres=[towns["soweto"]], action="send").headers["Location"]
    broadcast_id = int(location.rsplit("/", 1)[1])
    page = client.get(location).get_data(as_text=True)
    assert "someone other than you must approve it" in page and "Approve and send" not in page
    assert auth.post(f"{location}/approve").status_code == 403
    # The same person made an approver since: still the author, still refused.
    with approval.sessions.begin() as s:
        s.execute(update(Staff).where(Staff.email == "clerk@example.org").values(role="approver"))
    assert "Approve and send" not in client.get(location).get_data(as_text=True)
    refused = auth.post(f"{location}/approve", {"seen": bc.seen_digest(bc.get(approval, broadcast_id))},
                        follow_redirects=True).get_data(as_text=True)
    assert "the author of a broadcast cannot approve or reject it" in refused
    assert bc.get(approval, broadcast_id).status == "pending_approval"
    assert approval.queue("bulk").count == 0
    approver_auth, approver = as_other(app, approval, auth, "approver")
    assert "Approve and send" in approver_auth.client.get(location).get_data(as_text=True)
    assert "1 waiting for approval" in approver_auth.client.get("/staff/").get_data(as_text=True)
    page = approver_auth.client.get(location).get_data(as_text=True)
    assert approver_auth.post(f"{location}/approve", {"seen": seen_on(page)}).status_code == 302
    assert bc.get(approval, broadcast_id).status == "scheduled"
    assert audit_rows(approval)[-2:] == [("broadcast.approved", approver.email, f"broadcast {broadcast_id}"),
                                         ("broadcast.sent", approver.email, f"broadcast {broadcast_id}")]


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_broadcast_changed_after_the_approver_opened_it_is_refused_on_the_page(
        towns, approval, app, client, auth, decision):
    auth.as_role("clerk", [towns["soweto"]])
    location = compose(auth, centres=[towns["soweto"]], action="send").headers["Location"]
    broadcast_id = int(location.rsplit("/", 1)[1])
    approver_auth, _approver = as_other(app, approval, auth, "approver")
    opened = seen_on(approver_auth.client.get(location).get_data(as_text=True))
    with approval.sessions.begin() as s:
        s.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                  .values(full_text="Thusong: SMS your ID number to 0820000000. Reply STOP to opt out"))
    answer = approver_auth.post(f"{location}/{decision}", {"seen": opened, "reason": "no"}, follow_redirects=True)
    assert "this changed since you opened it" in answer.get_data(as_text=True)
    assert bc.get(approval, broadcast_id).status == "pending_approval" and approval.queue("bulk").count == 0
    missing = approver_auth.post(f"{location}/{decision}", {"reason": "no"}, follow_redirects=True)
    assert "Open the page again and decide." in missing.get_data(as_text=True)  # a form without what was seen
    assert bc.get(approval, broadcast_id).status == "pending_approval"


def test_a_rejection_needs_a_reason_and_the_author_reads_it(towns, approval, app, client, auth):
    auth.as_role("clerk", [towns["soweto"]])
    location = compose(auth, centres=[towns["soweto"]], action="send").headers["Location"]
    approver_auth, approver = as_other(app, approval, auth, "approver")
    empty = approver_auth.post(f"{location}/reject", {"reason": " "}, follow_redirects=True)
    assert "Give the author a reason." in empty.get_data(as_text=True)
    reason = "The mobile unit comes on Thursday, not Tuesday."
    page = approver_auth.client.get(location).get_data(as_text=True)
    assert approver_auth.post(f"{location}/reject", {"reason": reason, "seen": seen_on(page)}).status_code == 302
    shown = shown_by_testid(client.get(location).get_data(as_text=True))
    assert shown["rejection"] == f"Rejected. Reason: {reason}"
    [event] = [e for e in audit.events(approval.sessions, "broadcast.rejected").events]
    assert (event.actor, reason in event.detail) == (approver.email, True)


def test_cancel_through_the_page_is_audited(towns, seeded, client, auth):
    admin = auth.as_role("admin")
    location = compose(auth, centres=[towns["soweto"]], action="send", when="at",
                       **{"at-day": "1", "at-month": "12", "at-year": "2099", "at-time": "09:00"}).headers["Location"]
    assert auth.post(f"{location}/cancel").status_code == 302
    assert bc.list_broadcasts(seeded)[0].status == "cancelled"
    assert audit_rows(seeded)[-1][:2] == ("broadcast.cancelled", admin.email)


# --- progress and the summary -----------------------------------------------------------------

def test_progress_fragment_and_the_delivery_summary_in_plain_words(towns, seeded, client, auth):
    row = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Hello").id)
    bc.fan_out(seeded, row.id)
    auth.as_role("approver")
    sending = shown_by_testid(client.get(f"/staff/broadcasts/{row.id}/progress").get_data(as_text=True))
    assert (sending["status"], sending["percent"], sending["queued"]) == ("sending", "0 %", "3")
    assert 'data-poll="1000"' in client.get(f"/staff/broadcasts/{row.id}/progress").get_data(as_text=True)
    with seeded.sessions.begin() as s:
        phones = list(s.scalars(select(Message.phone).where(Message.broadcast_id == row.id).order_by(Message.phone)))
        s.execute(update(Message).where(Message.phone.in_(phones[:2])).values(status="delivered"))
        s.execute(update(Message).where(Message.phone == phones[2])
                  .values(status="failed", failure_reason="InsufficientCredit"))
    bulk.finish_done(seeded)
    fragment = client.get(f"/staff/broadcasts/{row.id}/progress").get_data(as_text=True)
    shown = shown_by_testid(fragment)
    assert (shown["status"], shown["percent"], shown["delivered"], shown["failed"]) == ("sent", "100 %", "2", "1")
    assert "Delivery summary" in fragment and "Our SMS account ran out of credit." in fragment
    assert 'data-poll="0"' in fragment


# --- the doors: login and CSRF ----------------------------------------------------------------

def test_every_staff_page_without_a_login_goes_to_the_login(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff") and "GET" in r.methods]
    assert len(rules) >= 9
    for rule in rules:
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        response = client.get(path)
        if rule.endpoint == "staff.login":
            assert response.status_code == 200
        elif rule.endpoint == "staff.invitation_page":  # for the invitee, not signed in: a link opens it
            assert response.status_code == 404, "the invitation page without its link's token opens nothing"
        else:
            assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login"), path


def test_a_post_without_a_valid_csrf_token_acts_on_nothing(towns, seeded, client, auth):
    auth.as_role("admin")
    row = bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Hello")
    for path in ("/staff/broadcasts/new", "/staff/broadcasts/preview", f"/staff/broadcasts/{row.id}/cancel",
                 f"/staff/broadcasts/{row.id}/approve", f"/staff/broadcasts/{row.id}/reject"):
        for token in (None, "forged"):
            data = {"kind": "all", "message": "x", "action": "send", "reason": "no"}
            response = client.post(path, data={**data, **({"csrf_token": token} if token else {})})
            assert response.status_code in (200, 302), path  # shown again: tests/web/test_staff_stale_forms.py
    assert broadcasts(seeded) == 1 and bc.get(seeded, row.id).status == "draft"
