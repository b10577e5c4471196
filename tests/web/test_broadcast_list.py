"""The broadcast list through the Flask test client: filtered by state and author, newest
first, dates in South African time ("Mon 7 Dec 2026 10:00 SAST"), when each went; each row's
cells as a fragment that asks to be polled until its figures settle (a Refresh link without
JavaScript); Cancel only where something can still be stopped, and a cancel of something
that cannot be is refused saying why."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from gateway.clock import SAST
from gateway.sms import bulk
from gateway.staff import audit
from gateway.staff import broadcasts as bc
from gateway.store.models import Broadcast, Message, utcnow
from tests.broadcasting import add_subscribers, centre_id


@pytest.fixture
def towns(seeded):
    soweto, worcester = centre_id(seeded, "Soweto"), centre_id(seeded, "Worcester")
    add_subscribers(seeded, [f"+2782400000{i}" for i in range(3)], soweto)
    add_subscribers(seeded, [f"+2782500000{i}" for i in range(2)], worcester)
    return {"soweto": soweto, "worcester": worcester}


def written_at(rt, broadcast_id: int, when: datetime) -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(created_at=when))


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="row-(\d+)"', page)]


def row_html(page: str, broadcast_id: int) -> str:
    return page.split(f'data-testid="row-{broadcast_id}"', 1)[1].split("</tr>", 1)[0]


def sent_now(rt, centre: int, text: str = "Hello", author=bc.CLI) -> Broadcast:
    """A broadcast released and fanned out: its rows queued."""
    row = bc.submit(rt, author, bc.create(rt, author, f"centre:{centre}", text).id)
    bc.fan_out(rt, row.id)
    return bc.get(rt, row.id)


def settle(rt, broadcast_id: int, status: str = "delivered") -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Message).where(Message.broadcast_id == broadcast_id).values(status=status))
    bulk.finish_done(rt)


def test_the_list_filters_by_state_and_author_newest_first_in_sast(towns, seeded, app, client, auth):
    admin = auth.as_role("admin")
    clerk_actor = bc.Actor(auth.add("clerk", [towns["soweto"]]).id, "clerk", "clerk", frozenset({towns["soweto"]}))
    mine = bc.submit(seeded, bc.Actor.of(admin), bc.create(seeded, bc.Actor.of(admin), f"centre:{towns['soweto']}",
                                                           "Mine, scheduled.").id)
    theirs = bc.create(seeded, clerk_actor, f"centre:{towns['soweto']}", "The clerk's draft.")
    cli = sent_now(seeded, towns["worcester"], "From the command line.")
    written_at(seeded, mine.id, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # 10:00 SAST
    written_at(seeded, theirs.id, datetime(2026, 12, 7, 9, 15, tzinfo=UTC))
    written_at(seeded, cli.id, datetime(2026, 12, 5, 6, 5, tzinfo=UTC))

    page = client.get("/staff/broadcasts/").get_data(as_text=True)
    assert ids_on(page) == [theirs.id, mine.id, cli.id]  # newest written first, whatever the ids
    assert 'class="when" data-testid="written">Mon 7 Dec 2026 10:00 SAST</td>' in row_html(page, mine.id)
    assert 'class="when" data-testid="written">Sat 5 Dec 2026 08:05 SAST</td>' in row_html(page, cli.id)
    assert ids_on(client.get("/staff/broadcasts/?state=draft").get_data(as_text=True)) == [theirs.id]
    assert ids_on(client.get("/staff/broadcasts/?state=sending").get_data(as_text=True)) == [cli.id]
    assert ids_on(client.get("/staff/broadcasts/?author=me").get_data(as_text=True)) == [mine.id]
    assert ids_on(client.get(f"/staff/broadcasts/?author={clerk_actor.staff_id}").get_data(as_text=True)) == [theirs.id]
    both = client.get(f"/staff/broadcasts/?state=draft&author={admin.id}").get_data(as_text=True)
    assert ids_on(both) == [] and "No broadcast matches." in both
    # Nonsense in the query is no filter, not an error.
    for query in ("state=everything", "author=x", "author=99999999999999", "author=-1"):
        assert ids_on(client.get(f"/staff/broadcasts/?{query}").get_data(as_text=True)) == [theirs.id, mine.id, cli.id]
    assert f'<option value="{clerk_actor.staff_id}" >Clerk</option>' in page  # the author filter names them


def test_a_clerk_filters_only_what_they_may_see(towns, seeded, auth, client):
    other = bc.create(seeded, bc.Actor(auth.add("approver", email="w@example.org").id, "approver"),
                      f"centre:{towns['worcester']}", "Worcester only.")
    auth.as_role("clerk", [towns["soweto"]])
    page = client.get("/staff/broadcasts/?state=draft").get_data(as_text=True)
    assert other.id not in ids_on(page) and "w@example.org" not in page and ">Approver<" not in page


def test_sent_at_is_when_it_went_or_when_it_starts(towns, seeded, auth, client):
    auth.as_role("admin")
    going = sent_now(seeded, towns["soweto"])
    later = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Later",
                                                at=datetime(2099, 12, 10, 10, 0, tzinfo=SAST)).id)
    draft = bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Draft")
    page = client.get("/staff/broadcasts/").get_data(as_text=True)
    start = bc.utc(going.scheduled_at).astimezone(SAST)
    assert f'data-testid="went">{start:%a} {start.day} {start:%b %Y %H:%M} SAST</td>' in row_html(page, going.id)
    assert 'data-testid="went">starts Thu 10 Dec 10:00</td>' in row_html(page, later.id)
    assert 'data-testid="went"></td>' in row_html(page, draft.id)


def test_a_rows_figures_are_polled_until_they_settle(towns, seeded, auth, client):
    auth.as_role("admin")
    row = sent_now(seeded, towns["soweto"])
    fragment = client.get(f"/staff/broadcasts/{row.id}/row").get_data(as_text=True)
    assert 'data-poll="3000"' in fragment and 'data-testid="waiting">3</span>' in fragment
    page = client.get("/staff/broadcasts/").get_data(as_text=True)
    assert f'data-row-url="/staff/broadcasts/{row.id}/row"' in page
    assert "<noscript><p><a href=" in page and 'data-testid="refresh"' in page  # no script: a Refresh link

    settle(seeded, row.id, "sent")  # left, delivery reports still due
    fragment = client.get(f"/staff/broadcasts/{row.id}/row").get_data(as_text=True)
    assert 'data-poll="10000"' in fragment and 'data-testid="status">sent<' in fragment
    with seeded.sessions.begin() as s:  # an hour without a report: the rest are not coming
        s.execute(update(Broadcast).where(Broadcast.id == row.id).values(updated_at=utcnow() - timedelta(hours=2)))
    assert 'data-poll="0"' in client.get(f"/staff/broadcasts/{row.id}/row").get_data(as_text=True)

    delivered = sent_now(seeded, towns["worcester"])
    settle(seeded, delivered.id)
    fragment = client.get(f"/staff/broadcasts/{delivered.id}/row").get_data(as_text=True)
    assert 'data-poll="0"' in fragment and 'data-testid="delivered">2</span>' in fragment
    page = client.get("/staff/broadcasts/").get_data(as_text=True)
    assert 'data-testid="refresh"' not in page  # everything settled: nothing to refresh


def test_a_waiting_broadcast_is_not_polled_and_another_centres_row_is_404(towns, seeded, auth, client):
    other = bc.create(seeded, bc.CLI, f"centre:{towns['worcester']}", "Worcester only.")
    pending = bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Draft")
    auth.as_role("clerk", [towns["soweto"]])
    assert 'data-poll="0"' in client.get(f"/staff/broadcasts/{pending.id}/row").get_data(as_text=True)
    assert client.get(f"/staff/broadcasts/{other.id}/row").status_code == 404


# --- cancel -----------------------------------------------------------------------------------

def test_cancel_is_offered_only_where_something_can_still_be_stopped(towns, seeded, auth, client):
    clerk = auth.as_role("clerk", [towns["soweto"]])
    actor = bc.Actor.of(clerk)
    later = bc.submit(seeded, bc.CLI, bc.create(seeded, actor, f"centre:{towns['soweto']}", "Later",
                                                at=datetime(2099, 1, 4, 10, 0, tzinfo=SAST)).id)
    sending = sent_now(seeded, towns["soweto"], author=actor)
    gone = sent_now(seeded, towns["soweto"], author=actor)
    settle(seeded, gone.id)
    all_left = sent_now(seeded, towns["soweto"], author=actor)
    with seeded.sessions.begin() as s:  # every row handed to the network, the broadcast not yet marked sent
        s.execute(update(Message).where(Message.broadcast_id == all_left.id).values(status="sent"))
    not_theirs = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{towns['soweto']}", "Admin's").id)
    page = client.get("/staff/broadcasts/").get_data(as_text=True)
    offered = {i for i in ids_on(page) if 'data-testid="cancel"' in row_html(page, i)}
    assert offered == {later.id, sending.id}
    for broadcast_id, shown in ((later.id, True), (gone.id, False), (all_left.id, False), (not_theirs.id, False)):
        assert ("Cancel this broadcast" in client.get(f"/staff/broadcasts/{broadcast_id}").get_data(as_text=True)) \
            is shown, broadcast_id


@pytest.mark.parametrize("state, says", [
    ("sent", "Broadcast {id} has been sent: every message has gone to the network, and a sent SMS cannot be "
             "called back. Nothing was cancelled."),
    ("all-left", "Broadcast {id} has no message left to stop: every one has gone to the network. "
                 "Nothing was cancelled."),
    ("rejected", "Broadcast {id} was rejected: it was never sent, so there is nothing to cancel."),
    ("cancelled", "Broadcast {id} is already cancelled."),
], ids=["sent", "all-left", "rejected", "cancelled"])
def test_a_cancel_of_what_cannot_be_cancelled_is_refused_saying_why(towns, seeded, auth, client, state, says):
    auth.as_role("admin")
    row = sent_now(seeded, towns["soweto"])
    if state == "sent":
        settle(seeded, row.id, "sent")
    elif state == "all-left":  # every row handed to the network, the broadcast not yet marked sent
        with seeded.sessions.begin() as s:
            s.execute(update(Message).where(Message.broadcast_id == row.id).values(status="sent"))
    else:
        with seeded.sessions.begin() as s:
            s.execute(update(Broadcast).where(Broadcast.id == row.id).values(status=state))
    before = bc.get(seeded, row.id).status
    answer = auth.post(f"/staff/broadcasts/{row.id}/cancel", {"back": "list"}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert answer.request.path == "/staff/broadcasts/"
    assert says.format(id=row.id) in page
    assert bc.get(seeded, row.id).status == before
    with seeded.sessions() as s:
        assert "skipped" not in set(s.scalars(select(Message.status).where(Message.broadcast_id == row.id)))
    assert audit.events(seeded.sessions, "broadcast.cancelled").events == []
    with pytest.raises(bc.NotCancellable, match=re.escape(says.format(id=row.id))):
        bc.cancel(seeded, bc.CLI, row.id)


def test_cancel_from_the_list_stops_what_waits_and_comes_back_to_the_list(towns, seeded, auth, client):
    admin = auth.as_role("admin")
    row = sent_now(seeded, towns["soweto"])
    answer = auth.post(f"/staff/broadcasts/{row.id}/cancel", {"back": "list"}, follow_redirects=True)
    assert answer.request.path == "/staff/broadcasts/"
    assert f"Cancelled broadcast {row.id}: 3 messages not sent." in answer.get_data(as_text=True)
    assert bc.get(seeded, row.id).status == "cancelled"
    [event] = audit.events(seeded.sessions, "broadcast.cancelled").events
    assert event.actor == admin.email
