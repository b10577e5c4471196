"""An admin's chores in headless Chromium (Debian's /usr/bin/chromium), on a desktop (1366 px)
and a phone (390 px), recorded for the staff guide (tests/staff_tasks.py):

- invite a clerk: the account form's centres are checkboxes narrowed by typing, no Ctrl-click;
  the answer shows the set-password link once; the clerk then opens the link, sets a password
  and logs in with it;
- import a CSV with two bad rows: the preview lists every problem of each bad row under its
  line number, and the confirmation imports the good rows and skips the bad.

Neither task scrolls sideways on the phone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.staff.accounts import find_member
from gateway.store.models import Centre
from tests.conftest import PASSWORD
from tests.live import serving
from tests.staff_tasks import WIDTHS, open_context, screenshot, task
from tests.workers import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.staff_guide]
CLERK_PASSWORD = "my-own-clerk-password"
GOOD = "Browser Good {n} Thusong,Gauteng,,Soweto,,,,,,,,08:00-16:00,,,,,,,yes,"
CSV = "\n".join([
    "name,province,municipality,town,address,phone,latitude,longitude,source,coord_source,notes,"
    "hours_mon,hours_tue,hours_wed,hours_thu,hours_fri,hours_sat,hours_sun,active,services",
    GOOD.format(n=1),  # line 2
    "Browser Bad Thusong,Atlantis,,Soweto,,,-40,27.9,,,,8am-4pm,,,,,,,maybe,",  # line 3: four problems
    GOOD.format(n=2),  # line 4
    ",Gauteng,,Soweto,,,,,,,,,,,,,,,,grants;teleport",  # line 5: two problems
    GOOD.format(n=3),  # line 6
]) + "\n"
PROBLEMS = [(3, "unknown province 'Atlantis'"), (3, "latitude -40.0 outside South Africa"), (3, "hours_mon: "),
            (3, "active must be yes or no, not 'maybe'"), (5, "missing name"),
            (5, "unknown service code 'teleport'")]


@pytest.fixture
def admin(seeded, auth):
    return auth.add("admin")


@pytest.fixture
def live_server(seeded, admin):
    from gateway.web import create_app

    with serving(create_app(runtime=seeded)) as base:
        yield base


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def no_sideways_scroll(page, width: int) -> None:
    if width < 500:  # a phone's layout viewport widens to the content: the page must also fit the screen
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_invites_a_clerk_who_sets_a_password_and_logs_in(seeded, admin, live_server, browser, width):
    from playwright.sync_api import expect

    with seeded.sessions() as session:
        kagiso, maponya = (session.scalar(select(Centre.id).where(Centre.name.startswith(name)))
                           for name in ("Kagiso", "Maponya"))
    context = open_context(browser, width)
    page = context.new_page()
    log_in(page, live_server, admin.email)
    with task(context, "admin", "Invite a clerk", width):
        page.get_by_role("link", name="Staff", exact=True).click()
        page.get_by_role("link", name="Add an account").click()
        page.fill("#email", "Thandi.Mokoena@example.org")
        page.fill("#name", "Thandi Mokoena")
        page.select_option("#role", "clerk")
        page.fill("#phone", "082 555 0199")
        finder = page.get_by_label("Find a centre (name or province)")
        expect(finder).to_be_visible()  # staff.js shows it; without script the list is all there
        finder.fill("kagiso")
        expect(page.locator("label[data-centre-name]:visible")).to_have_count(1)
        page.get_by_label("Kagiso Thusong Service Centre").check()
        finder.fill("maponya")
        page.get_by_label("Maponya Mall Thusong Service Centre").check()
        expect(page.locator("[data-centre-count]")).to_have_text(
            "2 chosen: Kagiso Thusong Service Centre, Maponya Mall Thusong Service Centre")
        finder.fill("")
        page.get_by_label("Also text the invitation link to their mobile number").check()
        no_sideways_scroll(page, width)
        screenshot(page, "admin-account-form", width)
        page.get_by_role("button", name="Add and show the invitation").click()
        link = page.get_by_test_id("invite-link")
        expect(link).to_have_value(re.compile(re.escape(f"{live_server}/staff/invitation?token=") + r"[\w-]{43}$"))
        expect(page.get_by_test_id("invite-texted")).to_have_text("Texted to +2782****199.")
        expect(page.get_by_role("button", name="Copy the link")).to_be_visible()  # staff.js shows it
        no_sideways_scroll(page, width)
        screenshot(page, "admin-invitation", width)
    url = link.input_value()
    clerk = find_member(seeded.sessions, "thandi.mokoena@example.org")
    assert (clerk.role, clerk.centre_ids, clerk.password_set) == ("clerk", {kagiso, maponya}, False)
    context.close()

    context = open_context(browser, width)  # the clerk's own browser
    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.fill("#password", CLERK_PASSWORD)
    page.fill("#confirm", CLERK_PASSWORD)
    no_sideways_scroll(page, width)
    screenshot(page, "invitation-set-password", width)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is set")
    log_in(page, live_server, "thandi.mokoena@example.org", CLERK_PASSWORD)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.url == f"{live_server}/staff/"
    page.goto(url)  # the link worked once
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_imports_a_csv_with_two_bad_rows_and_sees_every_problem(seeded, settings, admin, live_server,
                                                                          browser, width):
    from playwright.sync_api import expect

    context = open_context(browser, width)
    page = context.new_page()
    log_in(page, live_server, admin.email)
    with task(context, "admin", "Import a CSV with two bad rows", width):
        page.get_by_role("link", name="Centres", exact=True).click()
        page.get_by_role("link", name="Import CSV").click()
        page.set_input_files("#file", files=[{"name": "centres.csv", "mimeType": "text/csv",
                                              "buffer": CSV.encode()}])
        page.get_by_role("button", name="Preview").click()
        start_worker(settings, "--burst").wait(120)  # the preview is a worker's job; the page reloads itself
        expect(page.get_by_test_id("rejected")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("3 to add, 0 to update, 0 unchanged, 2 rejected (6 problems to fix).")).to_be_visible()
        rows = page.get_by_test_id("rejected-problem")
        expect(rows).to_have_count(len(PROBLEMS))
        for row, (line, reason) in zip(rows.all(), PROBLEMS, strict=True):
            cells = row.locator("td").all_inner_texts()
            assert cells[0] == str(line) and cells[2].startswith(reason), cells
        no_sideways_scroll(page, width)
        screenshot(page, "admin-import-preview", width)
        page.get_by_role("button", name="Import 3 changes, skip the rejected rows").click()
        start_worker(settings, "--burst").wait(120)
        expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("alert")).to_contain_text("Imported: 3 added, 0 updated, 0 unchanged, 2 rejected.")
        no_sideways_scroll(page, width)
    with seeded.sessions() as session:
        names = set(session.scalars(select(Centre.name).where(Centre.name.like("Browser %"))))
    assert names == {f"Browser Good {n} Thusong" for n in (1, 2, 3)}
    context.close()


def test_without_javascript_the_centres_are_a_plain_list_of_checkboxes(seeded, admin, live_server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, admin.email)
    page.goto(f"{live_server}/staff/accounts/new")
    expect(page.get_by_label("Find a centre (name or province)")).to_be_hidden()  # it would do nothing
    assert page.locator("label[data-centre-name]:visible").count() >= 70  # every centre, nothing hidden
    page.fill("#email", "sipho@example.org")
    page.select_option("#role", "clerk")
    page.get_by_label("Kagiso Thusong Service Centre").check()
    page.get_by_label("Maponya Mall Thusong Service Centre").check()
    page.get_by_role("button", name="Add and show the invitation").click()
    expect(page.get_by_test_id("invite-link")).to_contain_text("/staff/invitation?token=")
    expect(page.get_by_role("button", name="Copy the link")).to_be_hidden()
    assert len(find_member(seeded.sessions, "sipho@example.org").centre_ids) == 2
    context.close()
