"""Every staff page, over a week of demo data with a visit and a citizen's question, writes
times, days, money and counts the South African way: no UTC, no ISO date or time a person must
decode, no count of thousands without its space, no rand without its cents. Every GET page of
the dashboard is read (the URL map is walked, so a new page cannot be missed) or named below
with the reason it is not."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from gateway.dialogue import questions
from gateway.staff import broadcasts as bc
from gateway.staff import invitations, number_lookups, templates, visits
from gateway.store.models import Broadcast
from gateway.usage import demo
from tests.broadcasting import centre_id, ordinary_day

# Not pages a person reads: files, fragments polled by the page's script, forms' own posts.
NOT_PAGES = {
    "staff.analytics_csv": "a CSV file (ISO dates on purpose: spreadsheets read them)",
    "staff.centres_export": "a CSV file",
    "staff.broadcast_progress": "JSON for the progress bar",
    "staff.broadcast_row": "a table row fragment polled by the list (its figures are read on the list)",
    "staff.centres_import_job": "a running import's page: needs a job in Redis (its words are tested with the import)",
    "staff.login": "read before signing in (nothing of this kind on it)",
}


class Text(HTMLParser):
    """The text a person reads (not scripts, styles, attributes or form values), and each
    table cell's text on its own."""

    def __init__(self, html: str):
        super().__init__()
        self.parts: list[str] = []
        self.cells: list[str] = []
        self._skip = 0
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea"):
            self._skip += 1
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)
            if self._cell is not None:
                self._cell.append(data)


ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
ISO_DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")
BARE_COUNT = re.compile(r"^\d{4,}$")  # a cell that is only a number of thousands, unspaced
RAND = re.compile(r"\bR\d[\d ]*(\.\d+)?")


def problems(html: str) -> list[str]:
    text = Text(html)
    said = " ".join(" ".join(text.parts).split())
    found = [f"ISO time {m.group()!r}" for m in ISO_TIME.finditer(said)]
    found += [f"ISO date {m.group()!r}" for m in ISO_DAY.finditer(said)]
    found += ["'UTC'"] if re.search(r"\bUTC\b", said) else []
    found += [f"count without its thousands spaced {c!r}" for c in text.cells if BARE_COUNT.match(c)]
    found += [f"rand without cents {m.group()!r}" for m in RAND.finditer(said) if not re.search(r"\.\d\d$", m.group())]
    return found


def test_every_staff_page_writes_times_days_money_and_counts_the_south_african_way(seeded, auth, client, app):
    demo.seed(seeded, days=7)
    soweto = centre_id(seeded, "Soweto")
    admin = auth.as_role("admin")
    actor = bc.Actor.of(admin)
    visit = visits.create(seeded, actor, soweto, visits.Details(
        "SASSA", ordinary_day(seeded, soweto, date.today() + timedelta(days=3)), time(9), time(14)))
    thread = questions.open_thread(seeded, "+27821110001", "ask", "When is SASSA there?", "en", "sms").thread
    with seeded.sessions() as s:
        broadcast = s.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
    template = templates.create(seeded, actor, "Closed for training", "Closed on Friday for staff training.")
    lookup = number_lookups.hold(seeded, admin.id, "+27821110001")
    invited = invitations.invite(seeded, auth.add("clerk", [soweto], email="new@example.org"), "cli")
    queries = {"/staff/invitation": f"?token={invited.token}"}  # the invitee's set-password page
    args = {"staff_id": admin.id, "broadcast_id": broadcast, "centre_id": soweto, "visit_id": visit.id,
            "ref": thread.ref, "lookup": lookup, "lang": "zu", "template_id": template.id}
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff") and "GET" in r.methods]
    read, bad = [], {}
    for rule in rules:
        if rule.endpoint in NOT_PAGES:
            continue
        missing = set(rule.arguments) - set(args)
        assert not missing, f"{rule.rule}: no value for {missing}: give one here or name it in NOT_PAGES"
        url = rule.build({a: args[a] for a in rule.arguments})[1] + queries.get(rule.rule, "")
        for page_url in (url, url + "?days=30") if rule.endpoint == "staff.analytics_page" else (url,):
            response = client.get(page_url)
            assert response.status_code == 200, (page_url, response.status_code)
            read.append(page_url)
            if found := problems(response.get_data(as_text=True)):
                bad[page_url] = found
    assert len(read) >= 25
    assert not bad, "\n".join(f"{url}: {', '.join(found[:5])}" for url, found in bad.items())
