"""POPIA requests: the export holds every row and key about a number (found independently in
the database and Redis), deletion leaves only the opt-out marker, both are audited without the
number, and only admins may make them (issue 11, item 4)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.sms import consent
from gateway.staff import audit, privacy
from gateway.staff import broadcasts as bc
from gateway.staff.holders import HOLDERS, REDIS_HOLDERS, RedisStreamEntries
from gateway.store.models import AuditEvent, Citizen, Message, Subscription
from tests.fake_at import FakeAT
from tests.staff.privacy_seeding import (
    DERIVED,
    FORMS,
    OTHER,
    PHONE,
    dump_text,
    redis_keys_about,
    rows_about,
    seed_everywhere,
    table_rows,
)


@pytest.fixture
def everywhere(seeded, client):
    with FakeAT() as fake:
        centre = seed_everywhere(seeded, client, fake)
    return centre


def exported_ids(held: dict) -> dict[str, set]:
    by_name = {h.name: h for h in HOLDERS}
    found: dict[str, set] = {}
    for name, items in held["holders"].items():
        holder = by_name[name]
        if isinstance(holder, REDIS_HOLDERS):
            found.setdefault("redis", set()).update(item["key"] for item in items)
        elif items:
            found.setdefault(holder.table.name, set()).update(item["id"] for item in items)
    return found


def test_the_export_holds_every_row_and_key_about_the_number(everywhere, seeded):
    held = privacy.export(seeded, privacy.subject_of(seeded, "082 123 4567"))
    assert held["number"] == PHONE
    found = exported_ids(held)
    expected = rows_about(seeded)
    expected["redis"] = redis_keys_about(seeded.redis)
    assert found == expected
    # Every path left something (or the comparison proves little):
    counts = privacy.counts(held)
    assert counts["messages"] >= 7 and counts["subscriptions"] == 1 and counts["citizens"] == 1
    assert counts["pending_delivery_reports"] == 1 and counts["ussd_profile"] == 1
    assert counts["sms_help_throttle"] == 1 and counts["ussd_sessions"] == 2 and counts["ussd_sms_me"] == 1
    assert counts["staff_message_log_lookups"] == 1
    assert counts["usage_hops"] >= 2 and counts["usage_searches"] >= 1 and counts["usage_stream"] >= 1
    assert counts["questions"] == 1 and counts["question_entries"] == 3  # the question, an answer, a note
    assert json.loads(json.dumps(held)) == held  # JSON-safe as it is
    # The other number's data is not in it.
    assert OTHER not in json.dumps(held)


def test_delete_leaves_only_the_opt_out_marker_in_the_database_and_nothing_in_redis(everywhere, seeded):
    before_other = rows_about_other(seeded)
    removed = privacy.erase(seeded, privacy.subject_of(seeded, "27821234567"))
    assert removed["messages"] >= 7 and removed["ussd_sessions"] == 2 and removed["ussd_sms_me"] == 1
    privacy.record(seeded, audit.CLI, "privacy.deleted", privacy.subject_of(seeded, PHONE), removed=removed)

    rows = table_rows(seeded)
    holding = [(name, row) for name, items in rows.items() for row in items
               if any(form in str(v) for v in row.values() for form in DERIVED)]
    assert [name for name, _row in holding] == ["citizens"], holding
    marker = holding[0][1]
    assert marker["phone"] == PHONE and marker["opted_out"] in (True, 1)
    assert marker["opted_in_at"] is None and marker["opt_out_sender_id"] is None and marker["language"] == "en"
    lines = [line for line in dump_text(seeded).splitlines() if any(form in line for form in DERIVED)]
    assert len(lines) == 1 and "citizens" in lines[0], lines
    assert redis_keys_about(seeded.redis) == set()
    assert rows_about_other(seeded) == before_other  # the other caller's data is untouched
    with seeded.sessions() as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.deleted")).one()
    assert row.target == "+2782****567" and json.loads(row.detail)["ref"] == privacy.reference(
        privacy.subject_of(seeded, PHONE))


def rows_about_other(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(Message.id).where(Message.phone == OTHER).order_by(Message.id.desc()).limit(1))


def test_after_delete_a_broadcast_skips_the_number(everywhere, seeded):
    privacy.erase(seeded, privacy.subject_of(seeded, PHONE))
    row = bc.create(seeded, bc.CLI, f"centre:{everywhere}", "Water outage Tuesday.")
    assert row.recipients == 1
    bc.fan_out(seeded, bc.submit(seeded, bc.CLI, row.id).id)
    with seeded.sessions() as s:
        phones = s.scalars(select(Message.phone).where(Message.broadcast_id == row.id)).all()
        opted = s.scalar(select(Citizen.opted_out).where(Citizen.phone == PHONE))
    assert phones == [OTHER] and opted


def test_subscribing_again_after_a_delete_is_explicit_consent(everywhere, seeded, client):
    """The marker stops bulk, not the citizen: a new JOIN is consent, as after a STOP."""
    privacy.erase(seeded, privacy.subject_of(seeded, PHONE))
    _name, lifted = consent.subscribe(seeded, PHONE, everywhere, "en")
    assert lifted
    with seeded.sessions() as s:
        assert s.scalar(select(Subscription.id).join(Citizen).where(Citizen.phone == PHONE))


# --- the dashboard ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "approver"])
def test_only_admins_make_privacy_requests(seeded, auth, client, role):
    centre = seeded.directory.entries()[0].id
    auth.as_role(role, [centre])
    assert client.get("/staff/privacy").status_code == 403
    assert auth.post("/staff/privacy", {"number": PHONE, "action": "json"}).status_code == 403
    assert auth.post("/staff/privacy/delete", {"number": PHONE, "confirmed": "yes"}).status_code == 403


def test_without_a_csrf_token_nothing_is_deleted(everywhere, seeded, auth, client):
    auth.as_role("admin")
    resp = client.post("/staff/privacy/delete", data={"number": PHONE, "confirmed": "yes"})
    assert resp.status_code == 400
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))["messages"] >= 7


def test_admin_sees_downloads_confirms_and_deletes(everywhere, seeded, auth, client):
    auth.as_role("admin")
    page = auth.post("/staff/privacy", {"number": "0821234567", "action": "show"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "+2782****567" in body
    assert not any(form in body for form in FORMS)
    assert "Clinic day Friday." in body and "JOIN Kagiso" in body  # the citizen's own data, readable

    download = auth.post("/staff/privacy", {"number": "082 123 4567", "action": "json"})
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert PHONE not in download.headers["Content-Disposition"]
    assert download.get_json()["number"] == PHONE and download.get_json()["holders"]["messages"]

    confirm = auth.post("/staff/privacy", {"number": PHONE, "action": "delete"})
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete for good" in text and not any(f in text for f in FORMS)
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))["messages"] >= 7  # not yet

    fields = _confirm_page_fields(confirm)
    unconfirmed = auth.post("/staff/privacy/delete", {"number": PHONE, "subject": fields["subject"]})
    assert unconfirmed.status_code == 400
    done = auth.post("/staff/privacy/delete", {**fields, "number": "+27 82 123 4567"})
    assert done.status_code == 302
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "only an opt-out marker is kept" in after and "+2782****567" in after
    assert redis_keys_about(seeded.redis) == set()

    with seeded.sessions() as s:
        events = s.execute(select(AuditEvent.action, AuditEvent.target, AuditEvent.detail, AuditEvent.actor)
                           .where(AuditEvent.action.startswith("privacy.")).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["privacy.exported", "privacy.exported", "privacy.deleted"]
    assert all(e.target == "+2782****567" and e.actor == "admin@example.org" for e in events)
    assert not any(form in (e.detail or "") for e in events for form in FORMS)
    audit_page = client.get("/staff/audit?action=privacy").get_data(as_text=True)
    assert "privacy.deleted" in audit_page and not any(form in audit_page for form in FORMS)


def test_a_bad_number_is_refused_without_echoing_it(seeded, auth, client):
    auth.as_role("admin")
    resp = auth.post("/staff/privacy", {"number": "08212345678901", "action": "show"})
    assert resp.status_code == 200 and "Not a phone number" in resp.get_data(as_text=True)
    assert 'value="08212345678901"' not in resp.get_data(as_text=True)


# --- the command line -------------------------------------------------------------------


def run(settings, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["privacy", *args], env=settings.as_environ(), input=input)


def test_cli_export_is_json_on_stdout_and_delete_asks_first(everywhere, seeded, settings):
    out = run(settings, "export", "0821234567")
    assert out.exit_code == 0, out.output
    held = json.loads(out.stdout)
    assert held["number"] == PHONE and exported_ids(held)["redis"] == redis_keys_about(seeded.redis)

    no = run(settings, "delete", "082 123 4567", input="n\n")
    assert no.exit_code == 1 and "Delete everything held about +2782****567" in no.output
    assert redis_keys_about(seeded.redis)  # nothing went

    yes = run(settings, "delete", "27821234567", input="y\n")
    assert yes.exit_code == 0, yes.output
    assert redis_keys_about(seeded.redis) == set()
    assert run(settings, "delete", PHONE, "--yes").exit_code == 0  # again: nothing left, marker kept
    with seeded.sessions() as s:
        events = s.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.target)
                           .where(AuditEvent.action.startswith("privacy.")).order_by(AuditEvent.id)).all()
        markers = s.scalars(select(Citizen).where(Citizen.phone == PHONE)).all()
    assert [(e.action, e.actor, e.target) for e in events] == [
        ("privacy.exported", "cli", "+2782****567"), ("privacy.deleted", "cli", "+2782****567"),
        ("privacy.deleted", "cli", "+2782****567")]
    assert len(markers) == 1 and markers[0].opted_out


def test_cli_refuses_what_is_not_a_number(seeded, settings):
    out = run(settings, "export", "not-a-number")
    assert out.exit_code == 2 and "NUMBER" in out.output


def test_a_new_holder_is_one_entry_in_the_registry(rt, monkeypatch):
    """As the analytics stream will be: hops keyed by an HMAC of the caller, never the number."""
    def caller(subject) -> str:
        return hmac.new(b"analytics-key", subject.phone.encode(), hashlib.sha256).hexdigest()

    subject = privacy.subject_of(rt, PHONE)
    other = privacy.subject_of(rt, OTHER)
    for who, screen in ((subject, "main"), (other, "main"), (subject, "nearest")):
        rt.redis.xadd("test:hops", {"caller": caller(who), "screen": screen})
    monkeypatch.setattr(privacy, "HOLDERS", (*HOLDERS, RedisStreamEntries("hops", "test:hops", "caller", caller)))
    held = privacy.export(rt, subject)["holders"]["hops"]
    assert [item["value"]["screen"] for item in held] == ["main", "nearest"]
    assert privacy.erase(rt, subject)["hops"] == 2
    assert [f[b"caller"].decode() for _id, f in rt.redis.xrange("test:hops")] == [caller(other)]


def _confirm_page_fields(page) -> dict:
    """The hidden fields of the delete confirm page (what the browser would post back)."""
    import re

    body = page.get_data(as_text=True)
    return dict(re.findall(r'<input[^>]*name="(subject|confirmed)"[^>]*value="([^"]*)"', body))


def test_the_delete_confirm_is_bound_to_the_number_looked_up(everywhere, seeded, auth, client):
    """Looking up one citizen, then typing another's number on the confirm page, deleted the
    other citizen (issue 17, item 1): a mismatch now deletes nothing and says why."""
    auth.as_role("admin")
    fields = _confirm_page_fields(auth.post("/staff/privacy", {"number": PHONE, "action": "delete"}))
    assert fields.get("subject") and fields.get("confirmed") == "yes"
    before_other = privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, OTHER)))
    before_phone = privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))

    wrong = auth.post("/staff/privacy/delete", {**fields, "number": OTHER})
    assert wrong.status_code == 400 and "not the number you looked up" in wrong.get_data(as_text=True)
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, OTHER))) == before_other
    assert not consent.is_opted_out(seeded, OTHER)
    forged = auth.post("/staff/privacy/delete", {"number": OTHER, "confirmed": "yes", "subject": "x" * 40})
    assert forged.status_code == 400 and "look the number up again" in forged.get_data(as_text=True)
    unbound = auth.post("/staff/privacy/delete", {"number": PHONE, "confirmed": "yes"})
    assert unbound.status_code == 400
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE))) == before_phone

    done = auth.post("/staff/privacy/delete", {**fields, "number": "082 123 4567"})  # the same number, typed otherwise
    assert done.status_code == 302
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))["messages"] == 0
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, OTHER))) == before_other


def test_a_delete_confirm_left_open_too_long_deletes_nothing(everywhere, seeded, auth, client, monkeypatch):
    from gateway.web.staff import privacy as privacy_pages

    auth.as_role("admin")
    fields = _confirm_page_fields(auth.post("/staff/privacy", {"number": PHONE, "action": "delete"}))
    monkeypatch.setattr(privacy_pages, "CONFIRM_SECONDS", -1)
    stale = auth.post("/staff/privacy/delete", {**fields, "number": PHONE})
    assert stale.status_code == 400 and "look the number up again" in stale.get_data(as_text=True)
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))["messages"] >= 7


def test_a_delete_confirm_is_the_admins_who_looked_it_up(everywhere, seeded, auth, client):
    auth.as_role("admin")
    fields = _confirm_page_fields(auth.post("/staff/privacy", {"number": PHONE, "action": "delete"}))
    auth.logout()
    auth.as_role("admin", email="other-admin@example.org")
    resp = auth.post("/staff/privacy/delete", {**fields, "number": PHONE})
    assert resp.status_code == 400
    assert privacy.counts(privacy.export(seeded, privacy.subject_of(seeded, PHONE)))["messages"] >= 7
