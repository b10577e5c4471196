"""A web worker's threads share one directory: a reload racing an answer, or another reload,
never leaves the old centres in place once a change was announced (a listing showed an edited
centre's old name 2 s after the edit, in CI, with 8 threads a worker)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

import gateway.directory.nearest as nearest
from gateway.directory.nearest import Directory
from gateway.store.models import Centre

NEW_NAME = "Maponya Square Thusong Service Centre"


def rename_maponya(seeded) -> None:
    with seeded.sessions.begin() as s:
        s.execute(update(Centre).where(Centre.name.like("Maponya%")).values(name=NEW_NAME))


def names_near_soweto(directory: Directory) -> list[str]:
    return [n.centre.name for n in directory.nearest("Soweto").centres]


def test_an_answer_worked_out_on_the_old_snapshot_is_not_kept_for_the_new_one(seeded, monkeypatch):
    here = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    assert "Maponya Mall Thusong Service Centre" in names_near_soweto(here)
    here.nearest("Soweto", limit=4)  # a place not cached yet: the next answer is worked out

    real_fold, armed = nearest.fold, [True]

    def fold_then_another_thread_reloads(text: str) -> str:
        if armed:  # while this thread works out an answer on the old snapshot…
            armed.clear()
            rename_maponya(seeded)
            elsewhere.changed()  # …the edit is announced and another thread reloads
            here.entries()
        return real_fold(text)

    monkeypatch.setattr(nearest, "fold", fold_then_another_thread_reloads)
    stale = [n.centre.name for n in here.nearest("Soweto", limit=2).centres]
    assert not armed and "Maponya Mall Thusong Service Centre" in stale  # that one answer was old
    assert NEW_NAME in [n.centre.name for n in here.nearest("Soweto", limit=2).centres]


class PausingSessions:
    """The real sessions; once armed, the next read is held, after its rows came back, until
    released."""

    def __init__(self, sessions):
        self.inner, self.armed = sessions, False
        self.read, self.release = threading.Event(), threading.Event()

    def __call__(self):
        session = self.inner()
        if self.armed:
            self.armed, real = False, session.scalars

            def scalars_then_wait(*args, **kw):
                rows = real(*args, **kw).all()
                self.read.set()
                assert self.release.wait(10)
                return Rows(rows)
            session.scalars = scalars_then_wait
        return session


class Rows(list):
    """What ``scalars`` gave, already read."""

    def all(self):
        return list(self)


def test_a_reload_begun_before_a_change_is_followed_by_another(seeded):
    sessions = PausingSessions(seeded.sessions)
    here = Directory(sessions, seeded.gazetteer, redis=seeded.redis, ttl=1.0, check_every=0)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    here.entries()
    time.sleep(1.05)  # the snapshot's minute (here a second) is up: the next read reloads
    sessions.armed = True
    slow = threading.Thread(target=here.entries)  # that reload reads the old names, then is held
    slow.start()
    assert sessions.read.wait(10)
    rename_maponya(seeded)
    elsewhere.changed()  # announced while that reload is still on its way
    another = threading.Thread(target=here.entries)  # another thread sees the announcement
    another.start()
    another.join(0.5)  # (it waits for the reload under way, which then lands last)
    sessions.release.set()
    slow.join(10)
    another.join(10)
    assert NEW_NAME in names_near_soweto(here)


def test_while_the_minutes_reload_runs_the_other_threads_answer_from_the_snapshot_they_have(seeded):
    """A database slow to answer the minute's reload holds up the one thread reloading, not
    every hop of the process."""
    sessions = PausingSessions(seeded.sessions)
    here = Directory(sessions, seeded.gazetteer, redis=seeded.redis, ttl=1.0, check_every=0)
    here.entries()
    time.sleep(1.05)
    sessions.armed = True
    slow = threading.Thread(target=here.entries)
    slow.start()
    try:
        assert sessions.read.wait(10)
        answered = []
        other = threading.Thread(target=lambda: answered.append(names_near_soweto(here)))
        other.start()
        other.join(5)
        assert answered and "Maponya Mall Thusong Service Centre" in answered[0]
    finally:
        sessions.release.set()
        slow.join(10)


def test_once_a_change_is_announced_no_thread_answers_the_old_centres(seeded):
    sessions = PausingSessions(seeded.sessions)
    here = Directory(sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    here.entries()
    rename_maponya(seeded)
    sessions.armed = True
    elsewhere.changed()
    slow = threading.Thread(target=here.entries)  # sees the change: its reload is held
    slow.start()
    answered = []
    try:
        assert sessions.read.wait(10)
        other = threading.Thread(target=lambda: answered.append(names_near_soweto(here)))
        other.start()
        other.join(0.5)
        assert not answered  # it waits for the reload…
    finally:
        sessions.release.set()
        slow.join(10)
    other.join(10)
    assert NEW_NAME in answered[0]  # …and answers from it


class PausingRedis:
    """The real Redis client; once armed, the next GET is held, after its answer came back,
    until released."""

    def __init__(self, inner):
        self.inner, self.armed = inner, False
        self.asked, self.release = threading.Event(), threading.Event()

    def get(self, key):
        value = self.inner.get(key)
        if self.armed:
            self.armed = False
            self.asked.set()
            assert self.release.wait(10)
        return value


def test_a_hop_while_another_thread_looks_at_the_version_looks_too(seeded):
    """Not the one looking, nor one arriving while it looks, answers the old centres once the
    second is up."""
    redis = PausingRedis(seeded.redis)
    here = Directory(seeded.sessions, seeded.gazetteer, redis=redis, check_every=0.2)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    here.entries()
    rename_maponya(seeded)
    elsewhere.changed()
    time.sleep(0.25)
    redis.armed = True
    looking = threading.Thread(target=here.entries)
    looking.start()
    try:
        assert redis.asked.wait(10)
        assert NEW_NAME in names_near_soweto(here)
    finally:
        redis.release.set()
        looking.join(10)


class DownDatabase:
    """The real sessions, but the next ``failures`` sessions fail as a lost database would, each
    after ``taking`` seconds (a timeout); the failed attempts are counted."""

    def __init__(self, sessions, taking: float = 0.0):
        self.inner, self.taking, self.failures, self.attempts = sessions, taking, 0, 0

    def __call__(self):
        if self.failures:
            self.failures -= 1
            self.attempts += 1
            time.sleep(self.taking)
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return self.inner()


def test_a_reload_that_failed_is_still_owed(seeded):
    sessions = DownDatabase(seeded.sessions)
    here = Directory(sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    here.entries()
    rename_maponya(seeded)
    elsewhere.changed()
    sessions.failures = 1
    with pytest.raises(OperationalError):
        here.entries()
    assert NEW_NAME in names_near_soweto(here)  # the next read tries again, well within the minute


def test_threads_waiting_on_a_failed_reload_do_not_each_try_the_database_again(seeded):
    sessions = DownDatabase(seeded.sessions, taking=0.3)
    here = Directory(sessions, seeded.gazetteer, redis=seeded.redis, check_every=1.0)
    elsewhere = Directory(seeded.sessions, seeded.gazetteer, redis=seeded.redis, check_every=0)
    here.entries()
    elsewhere.changed()
    time.sleep(1.05)
    sessions.failures = 1_000  # down for good
    outcomes = []

    def hop():
        try:
            outcomes.append(len(here.entries()))
        except OperationalError:
            outcomes.append("failed")

    threads = [threading.Thread(target=hop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sessions.attempts == 1, outcomes
    assert sorted(outcomes, key=str) == sorted([len(here.entries())] * 3 + ["failed"], key=str)


def test_a_browse_snapshot_read_before_a_change_is_not_put_back_over_a_newer_one(seeded):
    from gateway.directory.browse import Browse

    sessions = PausingSessions(seeded.sessions)
    directory = SimpleNamespace(version=1.0)
    browse = Browse(sessions, directory)
    maponya = next(c for c in names_in_gauteng(browse) if "Maponya" in c.name).id
    directory.version = 2.0  # the minute's reload: a thread starts reading…
    sessions.armed = True
    slow = threading.Thread(target=browse.centre, args=(maponya,))
    slow.start()
    try:
        assert sessions.read.wait(10)
        rename_maponya(seeded)
        directory.version = 3.0  # …an edit lands, and another thread loads the new names
        assert browse.centre(maponya).name == NEW_NAME
    finally:
        sessions.release.set()
        slow.join(10)
    reads = count_reads(sessions)
    assert browse.centre(maponya).name == NEW_NAME and reads() == 0  # the newer one stayed


def names_in_gauteng(browse):
    gauteng = next(p for p in browse.provinces() if p.name == "Gauteng")
    return browse.centres_in(gauteng.id, None)


def count_reads(sessions: PausingSessions):
    """A function telling how many sessions were opened since."""
    opened, real = [0], sessions.inner

    def counting():
        opened[0] += 1
        return real()
    sessions.inner = counting
    return lambda: opened[0]
