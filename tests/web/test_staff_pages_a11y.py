"""Every staff page, as the role that uses it, at 1366 px and at 390 px (a clerk's phone), in
headless Chromium with axe-core 4 (vendored under tests/axe/, never served by the app): no
serious or critical violation on any page. At 1366 px every table fits its box (no column
hidden in an inner scroll, unless the page says why). At 390 px nothing scrolls sideways (a wide
table scrolls inside its own focusable, labelled box) and every visible link, button, field and
summary is a target at least 44 px tall and wide. Under ``make staff-guide`` (``STAFF_GUIDE_DIR``)
each page's screenshot at both widths goes to tests/artifacts/ and the guide's image folder
(docs/staff.md); a plain test run takes none (86 screenshots were a sixth of the test's time).

The pages are a list, checked against the blueprint's GET routes: a route under /staff/ with no
page here and no reasoned exclusion fails :func:`test_every_staff_page_is_checked_or_excluded`.
Pages a form leads to are checked too (the confirm page of a send, a number's message log, an
import's preview, the privacy export and deletion step) and so is the not-found page. The
database holds real content first: a week of demo usage (analytics), a broadcast in each state,
visits, a centre change, a question thread, offices' status, a number's messages, audit rows.
Per width: one login per role, one context, every page of that role in it; the import preview
takes one burst of a worker process per width."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.dialogue import office_status
from gateway.dialogue import questions as citizen_questions
from gateway.directory.centre_csv import export_centres
from gateway.staff import audit, invitations, templates
from gateway.staff import broadcasts as bc
from gateway.staff import questions as staff_questions
from gateway.staff.accounts import set_phone
from gateway.staff.centre_offices import set_offices
from gateway.usage import demo
from gateway.web import create_app
from tests.approving import broadcast_by, cancel_request_by, change_by, make_office, visit_by
from tests.broadcasting import add_subscribers
from tests.conftest import PASSWORD
from tests.live import serving
from tests.staff_tasks import ARTIFACTS, WIDTHS, guide_dir, open_context, screenshot
from tests.web.test_message_log import AT, SUBSCRIBER, message
from tests.workers import start_worker

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "axe" / "axe.min.js"
TEMPLATES = ROOT / "gateway" / "web" / "templates" / "staff"
STAFF_CSS = ROOT / "gateway" / "web" / "static" / "staff.css"
AXE_SOURCE = AXE.read_text(encoding="utf-8") if AXE.exists() else ""
FAILING = ("serious", "critical")
SHOT_HEIGHT = 1800  # px: the top of a long page (the translation review runs to 30,000 px)
TARGET = 44  # px: WCAG 2.5.5 (AAA), Apple's and Android's guidance for a thumb


@dataclass(frozen=True)
class Page:
    """A staff page: its name in the guide (``name-1366.png``), the endpoint it shows, who
    uses it, and its path (``{key}`` filled from the seeded ids) or the steps that reach it
    (a page a POST leads to)."""

    name: str
    endpoint: str
    role: str
    path: str = ""
    reach: Callable | None = None
    wide: str = ""  # why a table may scroll in its box on a desktop too (empty: it may not)


def _look_up_a_number(page, base: str, ids: dict) -> None:
    page.goto(f"{base}/staff/messages")
    page.fill("#number", "082 111 0001")
    page.get_by_role("button", name="Show messages").click()
    page.wait_for_url(f"{base}/staff/messages/*")


def _check_a_broadcast(page, base: str, ids: dict) -> None:
    page.goto(f"{base}/staff/broadcasts/new")
    page.fill("#message", "Home Affairs comes on Tuesday 09:00-14:00: bring your ID")
    page.get_by_role("button", name="Check, then send").click()
    page.get_by_test_id("confirm").wait_for()


def _preview_a_centres_file(page, base: str, ids: dict) -> None:
    """Upload a CSV with a change, a new centre and two bad rows; a worker process
    previews it; the job's page shows the preview. (Its waiting page reloads itself every 2 s,
    which would cut axe short: it is not checked.)"""
    page.goto(f"{base}/staff/centres/import")
    page.set_input_files("#file", files=[{"name": "centres.csv", "mimeType": "text/csv", "buffer": ids["csv"].encode()}])
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url(f"{base}/staff/centres/import/jobs/*")
    job_url = page.url
    job_id = job_url.rsplit("/", 1)[1]
    exit_code = ids["run_staff_jobs"]()
    page.goto("about:blank")  # off the waiting page first: its own 2-s reload would cut our goto short
    response = page.goto(job_url)
    # Once (PostgreSQL pass, a loaded host) the job's page answered 404 right after the worker:
    # say what Redis held, so a next time says why.
    assert response.ok, (f"the preview job's page answered {response.status} after the worker "
                         f"(exit {exit_code}); Redis holds {ids['job_keys'](job_id)}")
    page.get_by_role("heading", name="Rejected rows (skipped)").wait_for()


def _show_what_is_held(page, base: str, ids: dict) -> None:
    page.goto(f"{base}/staff/privacy")
    page.fill("#number", "082 111 0001")
    page.get_by_role("button", name="Show what is held").click()
    page.get_by_test_id("counts").wait_for()


def _ask_to_delete(page, base: str, ids: dict) -> None:
    page.goto(f"{base}/staff/privacy")
    page.fill("#number", "082 111 0001")
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Delete for good").wait_for()


def _open_a_missing_page(page, base: str, ids: dict) -> None:
    assert page.goto(f"{base}/staff/broadcasts/999999").status == 404


PAGES = (
    Page("login", "staff.login", "", "/staff/login"),
    Page("home", "staff.home", "clerk", "/staff/"),
    Page("account", "staff.my_account", "clerk", "/staff/account"),
    Page("inbox", "staff.inbox_list", "clerk", "/staff/inbox"),
    Page("inbox-thread", "staff.inbox_thread", "clerk", "/staff/inbox/{ref}"),
    Page("centres", "staff.centre_list", "clerk", "/staff/centres/"),
    Page("centre-edit", "staff.centre_edit", "clerk", "/staff/centres/{soweto}"),
    Page("offices-today", "staff.offices_today", "clerk", "/staff/centres/{soweto}/offices"),
    Page("broadcasts", "staff.broadcast_list", "clerk", "/staff/broadcasts/"),
    Page("broadcast-new", "staff.broadcast_new", "clerk", "/staff/broadcasts/new"),
    Page("broadcast-confirm", "staff.broadcast_new", "clerk", reach=_check_a_broadcast),
    Page("broadcast-sent", "staff.broadcast_page", "admin", "/staff/broadcasts/{sent}"),
    Page("broadcast-rejected", "staff.broadcast_page", "clerk", "/staff/broadcasts/{rejected}"),
    Page("visits", "staff.visit_list", "clerk", "/staff/visits/"),
    Page("visit", "staff.visit_page", "clerk", "/staff/visits/{approved_visit}"),
    Page("visit-new", "staff.visit_new", "clerk", "/staff/visits/new"),
    Page("visit-edit", "staff.visit_edit", "clerk", "/staff/visits/{approved_visit}/edit"),
    Page("messages", "staff.message_log", "clerk", "/staff/messages"),
    Page("message-log", "staff.message_log_result", "clerk", reach=_look_up_a_number),
    Page("approvals", "staff.approvals_inbox", "approver", "/staff/approvals"),
    Page("broadcast-approve", "staff.broadcast_page", "approver", "/staff/broadcasts/{pending}"),
    Page("visit-approve", "staff.visit_page", "approver", "/staff/visits/{pending_visit}"),
    Page("centre-changes", "staff.centre_change_list", "approver", "/staff/centres/changes/"),
    Page("analytics", "staff.analytics_page", "admin", "/staff/analytics"),
    Page("accounts", "staff.staff_list", "admin", "/staff/accounts/"),
    Page("account-new", "staff.staff_add", "admin", "/staff/accounts/new"),
    Page("account-password", "staff.staff_reset_password", "admin", "/staff/accounts/{clerk}/password"),
    Page("account-phone", "staff.staff_phone", "admin", "/staff/accounts/{clerk}/phone"),
    Page("centres-import", "staff.centres_import", "admin", "/staff/centres/import"),
    Page("centres-import-preview", "staff.centres_import_job", "admin", reach=_preview_a_centres_file),
    Page("audit", "staff.audit_log", "admin", "/staff/audit"),
    Page("privacy", "staff.privacy_lookup", "admin", "/staff/privacy"),
    Page("privacy-delete", "staff.privacy_lookup", "admin", reach=_ask_to_delete),
    Page("not-found", "staff.broadcast_page", "clerk", reach=_open_a_missing_page),
    Page("privacy-export", "staff.privacy_lookup", "admin", reach=_show_what_is_held,
         wide="every column of every table that holds the number, as stored: a record, not a report"),
    Page("templates", "staff.template_list", "clerk", "/staff/templates/"),
    Page("template-new", "staff.template_new", "clerk", "/staff/templates/new"),
    Page("template-edit", "staff.template_edit", "clerk", "/staff/templates/{template}/edit"),
    Page("template-delete", "staff.template_delete", "clerk", "/staff/templates/{template}/delete"),
    Page("account-invite", "staff.staff_invite", "admin", "/staff/accounts/{clerk}/invite"),
    Page("invitation", "staff.invitation_page", "", "/staff/invitation?token={token}"),
    Page("translations", "staff.translations_page", "admin", "/staff/translations/"),
    Page("translation-review", "staff.translation_review", "admin", "/staff/translations/zu"),
)

# GET routes under /staff/ that are not pages of their own, each with the reason.
EXCLUDED = {
    "staff.analytics_csv": "a CSV download, not a page",
    "staff.centres_export": "a CSV download, not a page",
    "staff.broadcast_progress": "the progress fragment the broadcast page polls; checked inside broadcast-sent",
    "staff.broadcast_row": "one row's cells the broadcast list polls; checked inside broadcasts",
}

ROLES = {"clerk": "clerk@example.org", "approver": "approver@example.org", "admin": "admin@example.org"}


def test_the_staff_guide_shows_every_page_at_both_widths():
    """docs/staff.md's Pages section has each page's two screenshots (``make staff-guide``
    writes them)."""
    guide = (ROOT / "docs" / "staff.md").read_text(encoding="utf-8")
    missing = [f"{p.name}-{w}.png" for p in PAGES for w in WIDTHS if f'src="img/staff/{p.name}-{w}.png"' not in guide]
    assert not missing, f"docs/staff.md does not show {missing}"


def staff_get_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff/") and "GET" in rule.methods}


def test_every_staff_page_is_checked_or_excluded(app):
    """A page added to the dashboard is in :data:`PAGES` (or excluded, with its reason)."""
    routes = staff_get_endpoints(app)
    covered = {p.endpoint for p in PAGES} | set(EXCLUDED)
    assert not routes - covered, f"staff GET routes with no page in PAGES nor a reason in EXCLUDED: {sorted(routes - covered)}"
    assert not covered - routes, f"PAGES or EXCLUDED name endpoints that do not exist: {sorted(covered - routes)}"


def _seed(seeded, auth, monkeypatch, settings) -> dict:
    """A week of usage and one of everything a staff page shows; the ids the paths need."""
    rt = seeded
    demo.seed(rt, days=7)  # analytics figures, and sent broadcasts with their delivery outcomes
    o = make_office(seeded, auth, monkeypatch)
    admin = auth.add("admin", email="admin@example.org")
    set_phone(rt.sessions, o.clerk.email, "+27821234567")
    ids = {"soweto": o.soweto, "clerk": o.clerk.id}
    ids["pending"] = broadcast_by(o, o.clerk, o.soweto, "Home Affairs mobile unit on Tuesday 09:00-14:00")
    ids["rejected"] = broadcast_by(o, o.clerk, o.soweto, "SASSA pay day moved to Friday")
    bc.reject(rt, bc.Actor.of(o.approver), ids["rejected"], "Wrong day: SASSA pays on Thursday",
              bc.seen_digest(bc.get(rt, ids["rejected"])))
    ids["sent"] = broadcast_by(o, o.clerk, o.soweto, "The centre closes at 13:00 on Friday for a staff meeting")
    bc.approve(rt, bc.Actor.of(o.approver), ids["sent"], bc.seen_digest(bc.get(rt, ids["sent"])))
    cancelled = broadcast_by(o, o.clerk, o.soweto, "Water cut on Monday")
    bc.cancel(rt, bc.Actor.of(o.clerk), cancelled)
    ids["pending_visit"] = visit_by(o, o.clerk, o.soweto)
    ids["approved_visit"] = cancel_request_by(o, o.clerk, o.soweto)
    change_by(o, o.clerk, o.soweto)
    add_subscribers(rt, [SUBSCRIBER], o.soweto)
    message(rt, SUBSCRIBER, "in", "CENTRE Soweto", "processed")
    message(rt, SUBSCRIBER, "out", "Home Affairs on Tuesday", "failed", AT + timedelta(minutes=5), reason="UserInBlackList")
    message(rt, SUBSCRIBER, "out", "The centre closes at 13:00 on Friday", "delivered", AT + timedelta(days=1))
    set_offices(rt, audit.CLI, o.soweto, ["HA", "SASSA"])
    office_status.record(rt, o.soweto, "HA", "slow", staff_id=None, via="cli")
    thread = citizen_questions.open_thread(rt, "+27829990001", "ask", "Where do I renew my ID? I lost it last week.",
                                           "en", "sms").thread
    staff_questions.transfer(rt, audit.CLI, thread.ref, o.soweto)
    staff_questions.note(rt, audit.CLI, thread.ref, "Asked Home Affairs whether the unit brings the camera.")
    ids["ref"] = thread.ref
    ids["template"] = templates.create(rt, bc.Actor.of(o.clerk), "Closed for training",
                                       "The centre is closed on Friday for staff training.", centre_id=o.soweto).id
    ids["token"] = invitations.invite(rt, auth.add("clerk", [o.soweto], email="new.clerk@example.org"), "cli").token
    lines = export_centres(rt.sessions).splitlines()
    lines[1] = lines[1].replace(",yes,", ",no,", 1)
    lines += ["Bad Thusong,Atlantis,,,,,,,,,,,,,,,,,,",  # an unknown province
              "Worse Thusong,Gauteng,,Soweto,,,,,,,,25:00-26:00,,,,,,,yes,grants",  # hours that are not
              "New Thusong Centre,Gauteng,,Soweto,,,,,,,,08:00-16:00,,,,,,,yes,grants"]
    ids["csv"] = "\n".join(lines) + "\n"
    ids["run_staff_jobs"] = lambda: start_worker(settings, "--burst").wait(120)  # one worker, until the queues are empty
    ids["job_keys"] = lambda job_id: sorted(k.decode() for k in rt.redis.scan_iter(f"*{job_id}*"))
    for action, target in (("broadcast.approved", f"broadcast {ids['sent']}"), ("staff.changed", o.clerk.email),
                           ("privacy.exported", "+2782****001")):
        audit.record(rt, admin, action, target=target, address="127.0.0.1", detail={"why": "seeded for the page test"})
    return ids


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
}"""

# At 390 px: the page's width against the screen's, and every visible target smaller than a
# thumb (a checkbox or radio counts as its label, which takes the tap).
PHONE_CHECK = """(size) => {
  const wide = document.documentElement.scrollWidth;
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || !el.getClientRects().length) continue;
    let box = el.getBoundingClientRect();
    if (box.right <= 0 || box.bottom + window.scrollY <= 0) continue;  // off screen: the skip link until focused
    if ((el.type === 'checkbox' || el.type === 'radio') && el.labels && el.labels.length) {
      box = el.labels[0].getBoundingClientRect();
    }
    if (box.width < size - 0.5 || box.height < size - 0.5) {
      const text = (el.innerText || el.value || el.name || el.id || '').trim().slice(0, 30);
      small.push(`${el.tagName.toLowerCase()}${el.type ? '[' + el.type + ']' : ''} "${text}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return {wide, inner: window.innerWidth, small};
}"""


# On a desktop a table fits its box: the region that scrolls sideways is the phone's fallback.
DESKTOP_CHECK = """() => [...document.querySelectorAll('.scroll')]
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => `${box.getAttribute('aria-label')} (${box.scrollWidth} px in ${box.clientWidth})`)"""


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/")


def check_page(page, name: str, width: int, wide: bool = False) -> tuple[dict, list[str]]:
    """Run axe and the layout checks for the width on the open page: its counts by impact and
    the problems that fail it."""
    page.evaluate(AXE_SOURCE)  # through the DevTools protocol: the pages' CSP refuses inline scripts
    violations = page.evaluate(AXE_RUN)
    counts = {"serious": 0, "critical": 0, "other": 0}
    problems = []
    for v in violations:
        counts[v["impact"] if v["impact"] in FAILING else "other"] += len(v["nodes"])
        if v["impact"] in FAILING:
            problems.append(f"{name} {width}px axe {v['impact']} {v['id']} ({v['help']}): {v['nodes']}")
        else:
            counts.setdefault("notes", []).append(f"{name} {width}px axe {v['impact']} {v['id']}: {v['nodes']}")
    if width >= 500 and not wide:
        hidden = page.evaluate(DESKTOP_CHECK)
        if hidden:
            problems.append(f"{name} {width}px hides columns in an inner scroll: " + "; ".join(hidden))
    else:
        phone = page.evaluate(PHONE_CHECK, TARGET)
        # Against the screen's own width: a phone zooms out to fit a page wider than it, and
        # window.innerWidth grows with it.
        if phone["wide"] > width:
            problems.append(f"{name} {width}px scrolls sideways: {phone['wide']} px wide on a {width} px screen "
                            f"(innerWidth {phone['inner']})")
        if phone["small"]:
            problems.append(f"{name} {width}px targets under {TARGET} px: " + "; ".join(phone["small"]))
    return counts, problems


def axe_table(rows: list[tuple[str, int, dict]]) -> str:
    lines = [f"{'page':<24} {'width':>5} {'serious':>7} {'critical':>8} {'other':>5}"]
    lines += [f"{name:<24} {width:>5} {c['serious']:>7} {c['critical']:>8} {c['other']:>5}" for name, width, c in rows]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.staff_guide
@pytest.mark.parametrize("width", WIDTHS)  # two tests: the two xdist workers can take one each
def test_every_staff_page_passes_axe_and_fits_a_phone(seeded, settings, auth, monkeypatch, browser, width):
    started = time.monotonic()
    ids = _seed(seeded, auth, monkeypatch, settings)
    shots = guide_dir() is not None  # the guide's pictures, only when it is built
    rows, problems = [], []
    with serving(create_app(runtime=seeded)) as base:
        for role in ("", *ROLES):
            context = open_context(browser, width)
            page = context.new_page()
            if role:
                _log_in(page, base, ROLES[role])
            for p in (p for p in PAGES if p.role == role):
                if p.reach:
                    p.reach(page, base, ids)
                else:
                    response = page.goto(base + p.path.format(**ids))
                    assert response.ok, f"{p.name}: {response.status} at {page.url}"
                counts, found = check_page(page, p.name, width, wide=bool(p.wide))
                rows.append((p.name, width, counts))
                problems += found
                if shots:
                    screenshot(page, p.name, width, max_height=SHOT_HEIGHT)
            context.close()
    table = axe_table(sorted(rows, key=lambda r: r[0]))
    ARTIFACTS.mkdir(exist_ok=True)
    notes = [n for _, _, c in rows for n in c.get("notes", [])]  # minor and moderate: listed, not failing
    (ARTIFACTS / f"axe-{width}.txt").write_text(table + "\n" + "".join(f"\n{p}" for p in problems + notes),
                                                encoding="utf-8")
    print(f"\n{table}\n{len(rows)} page views in {time.monotonic() - started:.1f} s")
    assert not problems, "\n".join(problems)


def test_axe_is_only_a_test_dependency(client):
    """axe-core runs in the test's browser; the app never serves it nor names it."""
    web = ROOT / "gateway" / "web"
    assert AXE.exists() and not any(web.rglob("axe*.js"))
    assert not [p.name for p in web.rglob("*.html") if "axe" in p.read_text(encoding="utf-8").lower()]
    assert client.get("/static/axe.min.js").status_code == 404


def test_every_scroll_box_in_the_templates_is_a_labelled_focusable_region():
    """A table that scrolls inside its box is reachable by keyboard and named (axe's
    scrollable-region-focusable), even where the seeded data does not make it overflow."""
    boxes = 0
    for path in sorted(TEMPLATES.glob("*.html")):
        for tag in re.findall(r'<div class="scroll[^"]*"[^>]*>', path.read_text(encoding="utf-8")):
            boxes += 1
            named = 'aria-label="' in tag or 'aria-labelledby="' in tag  # its own words, or a heading's
            assert 'role="region"' in tag and 'tabindex="0"' in tag and named, (path.name, tag)
    assert boxes >= 10


def _fixture(body: str) -> str:
    return f'<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Fixture</title></head><body><main>{body}</main></body></html>'


LONG = "Thusong: Home Affairs at Maponya Mall Thusong, Fri 11 Dec, 09:00-14:00. Reply STOP to opt out"
CELLS = f'<thead><tr><th>What</th><th>Cost</th><th>Exact text</th></tr></thead><tbody><tr><td>Notice</td><td data-label="Cost">R7.25</td><td data-label="Exact text"><span class="sms">{LONG}</span></td></tr></tbody>'


@pytest.mark.slow
def test_the_checks_catch_what_the_pages_guard_against(browser):
    """Without the guards (a scroll box with no tabindex, a table wider than the phone, a small
    link) the checks fail and name each; with staff.css and the templates' markup they pass."""
    context = open_context(browser, 390)
    page = context.new_page()
    page.set_content(_fixture(
        f'<div style="overflow:auto"><table><tr><td style="white-space:nowrap">{LONG}</td></tr></table></div>'
        f'<table style="width:600px">{CELLS}</table><p><a href="#top" style="font-size:12px">Go</a></p>'))
    counts, problems = check_page(page, "unguarded", 390)
    assert counts["serious"] >= 1 and any("scrollable-region-focusable" in p for p in problems), problems
    assert any("scrolls sideways" in p for p in problems), problems
    assert any('targets under 44 px: a "Go"' in p for p in problems), problems

    page.set_content(_fixture(
        f'<div class="scroll" role="region" tabindex="0" aria-label="Wide"><table><tr><td style="white-space:nowrap">{LONG}</td></tr></table></div>'
        f'<table class="stack">{CELLS}</table><p><a href="#top">Go</a></p><button>Save</button>'))
    page.add_style_tag(content=STAFF_CSS.read_text(encoding="utf-8"))
    counts, problems = check_page(page, "guarded", 390)
    assert not problems and counts["serious"] == counts["critical"] == 0, problems
    cost = page.locator("table.stack td[data-label=Cost]")  # a line of its own, named by its column
    assert cost.evaluate("td => getComputedStyle(td).display") == "block"
    assert "Cost" in cost.evaluate("td => getComputedStyle(td, '::before').content")
    context.close()

    context = open_context(browser, 1366)
    page = context.new_page()
    box = '<div class="scroll" role="region" tabindex="0" aria-label="Wide" style="width:300px"><table><tr><td style="white-space:nowrap">' + LONG + '</td></tr></table></div>'
    page.set_content(_fixture(box))
    _, problems = check_page(page, "desktop", 1366)
    assert any("hides columns in an inner scroll: Wide" in p for p in problems), problems
    assert not check_page(page, "desktop", 1366, wide=True)[1]  # a page that says why may scroll
    context.close()
