"""Message templates and a visit's own notice wording, without the pages: who may see, use and
keep which templates (a clerk: shared ones and their centres'; shared ones kept by approvers
and admins), the limits and the placeholder rules, and that an approval of a visit binds the
notice's edited wording — the approver approves exactly what was edited, and nothing else."""

from __future__ import annotations

from datetime import time

import pytest

from gateway.staff import broadcasts as bc
from gateway.staff import templates, visit_plan, visit_text, visits
from tests.broadcasting import centre_id
from tests.staff import test_visits
from tests.staff.test_visits import PHONES, deliver, kinds, seen

town, people = test_visits.town, test_visits.people  # Thursday 3 Dec 2026, the two-person rule on
EDITED = "{service} at {centre}, {when}. Bring your ID book and proof of address."


def sassa(rt, notice: str | None = None, **kwargs):
    day = kwargs.pop("day", test_visits.MONDAY)
    return visits.check(rt, kwargs.pop("service", "SASSA"), day, kwargs.pop("starts", time(9)), time(14),
                        notice=notice)


@pytest.fixture
def kept(town, people):
    """A shared template, one for Soweto, one for Worcester."""
    soweto, worcester = centre_id(town, "Soweto"), centre_id(town, "Worcester")
    return {"shared": templates.create(town, people["approver"], "Closed for stock-taking",
                                       "The centre is closed on Friday for stock-taking."),
            "soweto": templates.create(town, people["clerk"], "SASSA visit", EDITED, centre_id=soweto),
            "worcester": templates.create(town, people["other_clerk"], "Worcester water", "No water today.",
                                          centre_id=worcester)}


# --- scope: who sees and uses which templates ----------------------------------------------------

def test_a_clerk_sees_the_shared_templates_and_their_centres_only(town, people, kept):
    assert [t.name for t in templates.list_for(town, people["clerk"])] == ["Closed for stock-taking", "SASSA visit"]
    assert {t.name for t in templates.list_for(town, people["approver"])} == {
        "Closed for stock-taking", "SASSA visit", "Worcester water"}  # an approver listing no centre: all
    with pytest.raises(templates.NotFound):  # as if it did not exist
        templates.get_for(town, people["clerk"], kept["worcester"].id)
    assert templates.get_for(town, people["clerk"], kept["shared"].id).name == "Closed for stock-taking"


def test_a_clerk_keeps_templates_for_their_centres_only(town, people, kept):
    worcester = centre_id(town, "Worcester")
    with pytest.raises(templates.NotAllowed, match=f"centre {worcester} is not one of your centres"):
        templates.create(town, people["clerk"], "Mine", "Text", centre_id=worcester)
    with pytest.raises(templates.NotFound):
        templates.edit(town, people["clerk"], kept["worcester"].id, "Taken", "Text", centre_id=worcester)
    with pytest.raises(templates.NotFound):
        templates.delete(town, people["clerk"], kept["worcester"].id)
    with pytest.raises(templates.NotAllowed):  # moving their own template to another centre
        templates.edit(town, people["clerk"], kept["soweto"].id, "Moved", EDITED, centre_id=worcester)
    assert templates.get_for(town, people["other_clerk"], kept["worcester"].id).name == "Worcester water"


def test_only_an_approver_or_admin_keeps_a_shared_template(town, people, kept):
    with pytest.raises(templates.NotAllowed, match="only an approver or an administrator"):
        templates.create(town, people["clerk"], "For everyone", "Text")
    with pytest.raises(templates.NotAllowed, match="only an approver or an administrator"):
        templates.edit(town, people["clerk"], kept["shared"].id, "Mine now", "Text", centre_id=None)
    with pytest.raises(templates.NotAllowed, match="only an approver or an administrator"):
        templates.delete(town, people["clerk"], kept["shared"].id)
    with pytest.raises(templates.NotAllowed):  # making their centre's template shared
        templates.edit(town, people["clerk"], kept["soweto"].id, "SASSA visit", EDITED, centre_id=None)
    assert not templates.may_change(people["clerk"], kept["shared"])
    assert templates.may_change(people["clerk"], kept["soweto"])
    assert templates.edit(town, bc.CLI, kept["shared"].id, "Closed", "Closed on Friday.").name == "Closed"
    assert templates.delete(town, people["approver"], kept["shared"].id).name == "Closed"
    assert [t.name for t in templates.list_for(town, people["clerk"])] == ["SASSA visit"]


# --- what a template may hold --------------------------------------------------------------------

@pytest.mark.parametrize("name, text, language, says", [
    ("", "Text", None, "give the template a name"),
    ("x" * (templates.NAME_CHARS + 1), "Text", None, f"at most {templates.NAME_CHARS}"),
    ("Name", "   ", None, "text is empty"),
    ("Name", "x" * (templates.TEXT_CHARS + 1), None, f"at most {templates.TEXT_CHARS}"),
    ("Name", "Text", "xx", "unknown language"),
    ("Name", "{service} at {centre}.", None, r"must keep \{when\}"),
    ("Name", "{service} at {centre}, {when}: {date}", None, r"\{date\}"),
    ("Name", "{service} at {centre, {when}", None, "unbalanced braces"),
], ids=["no-name", "long-name", "empty", "long-text", "language", "lost-placeholder", "unknown-placeholder",
        "unbalanced"])
def test_a_template_is_refused_saying_why(town, people, name, text, language, says):
    with pytest.raises(templates.TemplateError, match=says):
        templates.create(town, people["approver"], name, text, language)


def test_a_template_at_the_limits_is_kept(town, people):
    row = templates.create(town, people["approver"], "x" * templates.NAME_CHARS, "y" * templates.TEXT_CHARS, "zu")
    assert (len(row.name), len(row.text), row.language) == (templates.NAME_CHARS, templates.TEXT_CHARS, "zu")
    assert not templates.is_notice(row)


# --- the visit notice's wording ------------------------------------------------------------------

@pytest.mark.parametrize("wording, says", [
    ("{service} at {centre}.", r"must keep \{when\}"),
    ("SASSA at Soweto on Monday.", r"must keep \{service\}, \{centre\}, \{when\}"),
    ("{service} at {centre}, {when}. {day}", r"\{day\}"),
    ("{service} at {centre}, {when!r}.", r"\{when!r\}"),
    ("{service} at {centre}, {when:>40}.", r"\{when:>40\}"),
    ("{service} at {centre}, {when}. {0}", r"\{0\}"),
    ("{service} at {centre}, {when}. {}", r"\{\}"),
    ("{service.__class__} at {centre}, {when}.", r"\{service.__class__\}"),
    ("{service} at {centre}, {when", "unbalanced braces"),
    ("{service} at {centre}, {when}. " + "x" * visit_text.NOTICE_CHARS, f"at most {visit_text.NOTICE_CHARS}"),
], ids=["lost", "none", "unknown", "conversion", "format-spec", "positional", "empty", "attribute", "unbalanced",
        "too-long"])
def test_a_notice_wording_breaking_the_placeholder_rules_is_refused(town, wording, says):
    with pytest.raises(visits.VisitError, match=says):
        sassa(town, notice=wording)


def test_the_standard_wording_is_stored_as_none_and_braces_doubled_stay_braces(town):
    assert sassa(town, notice="  {service} at {centre},\n {when}. ").notice is None
    details = sassa(town, notice="{service} at {centre}, {when} {{ID}}.")
    assert visit_text.notice_text(details, "Soweto") == "SASSA at Soweto, Mon 7 Dec, 09:00-14:00 {ID}."


def test_a_broadcast_refuses_a_notice_placeholder(town, people):
    with pytest.raises(bc.BroadcastError, match=r"\{when\}, which only a visit notice fills in"):
        bc.compose(town, f"centre:{centre_id(town, 'Soweto')}", "SASSA on {when}.", None, people["clerk"])


def test_the_edited_notice_is_what_the_approver_sees_approves_and_citizens_get(town, people):
    soweto = centre_id(town, "Soweto")
    row = visits.create(town, people["clerk"], soweto, sassa(town, notice=EDITED))
    [notice] = [p for p in visit_plan.on_approval(town, row) if p.kind == "Notice"]
    words = "SASSA at Maponya Mall Thusong, Mon 7 Dec, 09:00-14:00. Bring your ID book and proof of address."
    assert words in notice.preview.text  # what the approver's page shows, with its segments and cost
    visits.approve(town, people["approver"], row.id, seen(town, row.id))
    sent = deliver(town, kinds(town, row.id)["notice"].id)
    assert set(sent) == set(PHONES[0:3]) and all(words in text for text in sent.values())
    assert "Bring your ID" not in kinds(town, row.id)["reminder"].full_text  # the reminder keeps its wording


def test_a_notice_edited_after_the_approver_opened_it_is_neither_approved_nor_rejected(town, people):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town, notice=EDITED))
    opened = seen(town, row.id)
    visits.edit(town, people["clerk"], row.id, sassa(town, notice=EDITED.replace("ID book", "ID card")))
    with pytest.raises(visits.Changed):
        visits.approve(town, people["approver"], row.id, opened)
    with pytest.raises(visits.Changed):
        visits.reject(town, people["approver"], row.id, "Say which ID", opened)
    assert visits.get(town, row.id).status == "pending_approval" and not visits.messages_of(town, row.id)
    approved = visits.approve(town, people["approver"], row.id, seen(town, row.id))
    assert "ID card" in kinds(town, approved.id)["notice"].full_text


def test_a_notice_edit_landing_between_the_check_and_the_release_is_not_released(town, people, monkeypatch):
    row = visits.create(town, people["clerk"], centre_id(town, "Soweto"), sassa(town, notice=EDITED))
    real = visit_plan.approval_digest

    def then_edited(rt, read):  # the clerk's new wording commits just after the approver's check read the row
        found = real(rt, read)
        visits.edit(rt, people["clerk"], row.id, sassa(rt, notice="{service} at {centre}, {when}. Free."))
        return found

    opened = seen(town, row.id)
    monkeypatch.setattr(visit_plan, "approval_digest", then_edited)
    with pytest.raises(visits.Changed):
        visits.approve(town, people["approver"], row.id, opened)
    assert visits.get(town, row.id).status == "pending_approval" and not visits.messages_of(town, row.id)


def test_an_announced_visit_is_not_given_new_notice_wording_alone(town, people):
    row = visits.create(town, people["approver"], centre_id(town, "Soweto"), sassa(town, notice=EDITED))
    assert row.status == "approved"
    with pytest.raises(visits.VisitError, match="its notice has gone"):
        visits.edit(town, people["clerk"], row.id, sassa(town, notice=EDITED + " Free."))
    assert visits.pending_edit(town, row.id) is None
    moved = visits.edit(town, people["clerk"], row.id, sassa(town, notice=EDITED, starts=time(10)))
    assert moved.replaces_id == row.id and moved.notice == EDITED  # a real change keeps the wording


def test_only_its_author_resubmits_a_rejected_broadcast(town, people):
    soweto = f"centre:{centre_id(town, 'Soweto')}"
    row = bc.create(town, people["clerk"], soweto, "Home Affairs on Tuesday")
    bc.submit(town, people["clerk"], row.id)
    with pytest.raises(bc.NotAllowed, match="not a rejected broadcast of yours"):  # still waiting
        bc.create(town, people["clerk"], soweto, "Home Affairs on Tuesday 8 Dec", resubmits=row.id)
    bc.reject(town, people["approver"], row.id, "Which Tuesday?", bc.seen_digest(bc.get(town, row.id)))
    with pytest.raises(bc.NotAllowed, match="not a rejected broadcast of yours"):  # not the author
        bc.create(town, people["approver"], soweto, "Home Affairs on Tuesday 8 Dec", resubmits=row.id)
    with pytest.raises(bc.NotFound):  # another centre's clerk does not even see it
        bc.create(town, people["other_clerk"], f"centre:{centre_id(town, 'Worcester')}", "Hi", resubmits=row.id)
    again = bc.create(town, people["clerk"], soweto, "Home Affairs on Tuesday 8 Dec", resubmits=row.id)
    assert again.resubmits_id == row.id and bc.submit(town, people["clerk"], again.id).status == "pending_approval"
