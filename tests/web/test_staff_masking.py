"""Staff see citizens' numbers masked on every page, as the logs show them (issue 11, item 4):
one function (``config.mask_phone``) for both, applied by the ``masked`` filter."""

from __future__ import annotations

import io
import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from config import mask_phone
from gateway.staff import analytics as usage_report
from gateway.staff import audit, invitations, number_lookups, templates, visits
from gateway.staff import broadcasts as bc
from gateway.staff.accounts import set_phone
from gateway.store.models import Broadcast, Question, Staff
from gateway.web.staff import masked
from tests.broadcasting import ordinary_day
from tests.fake_at import FakeAT
from tests.staff.privacy_seeding import FORMS, PHONE, seed_everywhere
from tests.workers import start_worker

STAFF_FORMS = ("+27831234568", "27831234568", "0831234568", "083 123 4568")  # an admin's mobile number
ARGUMENT = re.compile(r"<(?:int:)?(\w+)>")


@pytest.mark.parametrize("text", [PHONE, f"call {PHONE[1:]} now", "sms from 082 123 4567", None, 27821234567])
def test_the_filter_is_the_log_masking(text):
    assert masked(text) == ("" if text is None else mask_phone(str(text)))
    assert not any(form in masked(text) for form in FORMS)


@pytest.mark.slow
def test_no_staff_page_shows_a_full_number(seeded, app, client, auth, settings):
    with FakeAT() as fake:
        centre = seed_everywhere(seeded, client, fake)
    admin = auth.as_role("admin")
    set_phone(seeded.sessions, admin.email, STAFF_FORMS[0])  # staff numbers are masked too (issue 19)
    # Audit rows may carry what staff typed: a number there is masked on the page too.
    audit.record(seeded, admin, "csv.imported", target=f"file from {PHONE}", detail={"note": "ring 0821234567"})
    with seeded.sessions() as s:
        ids = {"broadcast_id": s.scalar(select(Broadcast.id)), "centre_id": centre,
               "staff_id": s.scalar(select(Staff.id).where(Staff.email == admin.email)),
               "ref": s.scalar(select(Question.ref).where(Question.phone == PHONE))}  # its inbox thread
    details = visits.check(seeded, "SASSA", ordinary_day(seeded, centre, date.today() + timedelta(days=10)), time(9),
                           time(14))
    ids["visit_id"] = visits.create(seeded, bc.Actor.of(admin), centre, details).id
    ids["template_id"] = templates.create(seeded, bc.Actor.of(admin), "Closed", "Closed on Friday.").id
    ids["key"] = "sessions"  # each analytics CSV is added below
    ids["lookup"] = number_lookups.hold(seeded, ids["staff_id"], PHONE)  # the message log of the number
    ids["lang"] = "zu"  # a language's translation review page
    upload = auth.post("/staff/centres/import", {"file": (io.BytesIO(b"name,province\n"), "centres.csv")},
                       content_type="multipart/form-data")
    ids["job_id"] = upload.headers["Location"].rsplit("/", 1)[1]  # an import job's page
    start_worker(settings, "--burst").wait(120)
    assert bc.get(seeded, ids["broadcast_id"])
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("staff.") and "GET" in rule.methods and rule.endpoint != "staff.login":
            pages.append(ARGUMENT.sub(lambda m: str(ids[m[1]]), rule.rule))
    assert len(pages) >= 12
    # The pages that show a number by design: the privacy look-up (masked) and the audit log.
    shown = {}
    pages += [f"/staff/analytics/{key}.csv?days=365" for key in usage_report.keys()]
    pages.remove("/staff/invitation")  # its token is in the query: an invitation's set-password page
    pages.append(f"/staff/invitation?token={invitations.invite(seeded, admin, admin).token}")
    for path in pages + ["/staff/audit?action=csv"]:
        resp = client.get(path, follow_redirects=True)  # a finished import job's page leads to its result
        assert resp.status_code == 200, path
        shown[path] = resp.get_data(as_text=True)
    looked_up = auth.post("/staff/privacy", {"number": PHONE, "action": "show"}).get_data(as_text=True)
    shown["POST /staff/privacy"] = looked_up
    leaks = [path for path, body in shown.items() if any(form in body for form in (*FORMS, *STAFF_FORMS))]
    assert leaks == []
    assert "+2782****567" in shown["/staff/audit?action=csv"] and "082****567" in shown["/staff/audit?action=csv"]
    assert "+2782****567" in looked_up
    assert "+2783****568" in shown["/staff/accounts/"] and "+2783****568" in shown["/staff/account"]
