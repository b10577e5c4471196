"""The centre form says what it means: no grey hours that look like a centre's own, save lines
in words ("Saturday hours", not ``hours_sat``), the "Open to the public" box inside its label,
errors linked to their fields with the caret on the first, and a skip link on every page."""

from __future__ import annotations

import re

from tests.web.test_staff_centres import centre_ids, form_of


def test_the_hours_show_no_placeholder_that_reads_as_real_hours(seeded, auth, client):
    auth.as_role("admin")
    page = client.get(f"/staff/centres/{centre_ids(seeded, 1)[0]}").get_data(as_text=True)
    assert 'name="hours_sun"' in page
    assert "placeholder=" not in page, re.findall(r'<input[^>]*placeholder=[^>]*>', page)


def test_a_save_names_the_fields_in_words(seeded, auth, client):
    auth.as_role("admin")
    cid = centre_ids(seeded, 1)[0]
    page = auth.post(f"/staff/centres/{cid}", form_of(seeded, cid, hours_sat="08:00-12:00", hours_sun="closed",
                                                       services=["postal"]),
                     follow_redirects=True).get_data(as_text=True)
    saved = re.search(r"Saved [^<]*", page).group(0)
    assert "Saturday hours" in saved and "Sunday hours" in saved and "services" in saved, saved
    assert "hours_" not in saved, saved


def test_the_open_to_the_public_box_is_inside_its_label(seeded, auth, client):
    auth.as_role("admin")
    page = client.get(f"/staff/centres/{centre_ids(seeded, 1)[0]}").get_data(as_text=True)
    assert re.search(r'<label for="active"><input[^>]*id="active"[^>]*> Open to the public', page), page


def test_errors_are_linked_to_their_fields_and_the_first_takes_the_focus(seeded, auth, client):
    auth.as_role("admin")
    cid = centre_ids(seeded, 1)[0]
    page = auth.post(f"/staff/centres/{cid}", form_of(seeded, cid, name="", latitude="91")).get_data(as_text=True)
    invalid = re.findall(r'<(?:input|textarea)[^>]*aria-invalid="true"[^>]*>', page)
    assert [re.search(r' id="(\w+)"', tag).group(1) for tag in invalid] == ["name", "latitude"], invalid
    for tag in invalid:
        described = re.search(r'aria-describedby="([\w-]+)"', tag).group(1)
        assert f'id="{described}"' in page, described
    assert "autofocus" in invalid[0] and "autofocus" not in invalid[1], invalid


def test_every_staff_page_starts_with_a_skip_link_to_the_main_content(seeded, auth, client):
    pages = [client.get("/staff/login").get_data(as_text=True)]
    auth.as_role("clerk", centre_ids(seeded, 1))
    pages.append(client.get("/staff/").get_data(as_text=True))
    for html in pages:
        assert html.index('href="#main"') < html.index("<header") and 'id="main"' in html
