"""Group commit (gateway.store.group_commit): concurrent inserts share a commit, each caller
returns only after the commit holding its row, and one caller's bad row or an interrupted
writer never makes another caller believe its row is stored, or a duplicate."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.store.group_commit import GroupInsert
from gateway.store.models import Message


def _row(key: str, phone: str | None = "+27820000001") -> dict:
    return dict(direction="in", idempotency_key=key, phone=phone, text="CENTRE Soweto", status="received")


def _wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


class _HeldFirstCommit:
    """The first commit on ``engine`` waits until released: the callers arriving meanwhile queue
    behind it and form the next group. ``returned_at_commit`` says how many callers had returned
    when each commit began."""

    def __init__(self, engine, returned: list):
        self.gate = threading.Event()
        self.returned_at_commit: list[int] = []
        self._engine, self._returned = engine, returned
        event.listen(engine, "commit", self._commit)

    def _commit(self, _conn) -> None:
        self.returned_at_commit.append(len(self._returned))
        if len(self.returned_at_commit) == 1:
            assert self.gate.wait(10)

    def remove(self) -> None:
        event.remove(self._engine, "commit", self._commit)


def _insert_in_threads(writer: GroupInsert, rows: list[dict], held: _HeldFirstCommit, returned: list) -> dict:
    """The first row's caller starts a write that is held at its commit; the others arrive
    meanwhile; then the commit goes on. Returns each row's outcome (Inserted or the error)."""
    outcomes: dict = {}

    def call(index: int, row: dict) -> None:
        try:
            outcomes[index] = writer.insert(row)
        except Exception as exc:
            outcomes[index] = exc
        returned.append(index)

    first = threading.Thread(target=call, args=(0, rows[0]))
    first.start()
    _wait_for(lambda: held.returned_at_commit, "the first commit")
    others = [threading.Thread(target=call, args=(i, row)) for i, row in enumerate(rows[1:], start=1)]
    for thread in others:
        thread.start()
    _wait_for(lambda: len(writer._queue) == len(others), "the others to queue")
    held.gate.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcomes


@pytest.fixture
def grouped(rt):
    sizes: list[int] = []
    writer = GroupInsert(rt.engine, Message.__table__, "idempotency_key", on_group=sizes.append)
    returned: list[int] = []
    held = _HeldFirstCommit(rt.engine, returned)
    yield writer, sizes, held, returned
    held.remove()


def _stored(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Message))


def test_callers_arriving_during_a_commit_share_the_next_and_none_returns_before_it(rt, grouped):
    writer, sizes, held, returned = grouped
    outcomes = _insert_in_threads(writer, [_row(f"at-in:k{i}") for i in range(10)], held, returned)
    assert sizes == [1, 9]  # nine requests, one commit
    # The second commit began with only the first caller returned: nobody answered early.
    assert held.returned_at_commit == [0, 1]
    ids = [outcomes[i].row_id for i in range(10)]
    assert None not in ids and len(set(ids)) == 10
    assert [outcomes[i].lead for i in range(10)].count(True) == 2  # one follow-up per group
    assert _stored(rt) == 10


def test_a_repeated_key_is_a_duplicate_in_the_group_and_against_a_stored_row(rt, grouped):
    writer, sizes, held, returned = grouped
    rows = [_row("at-in:first"), _row("at-in:first"), _row("at-in:twice"), _row("at-in:twice"), _row("at-in:new")]
    outcomes = _insert_in_threads(writer, rows, held, returned)
    assert sizes == [1, 4]
    assert outcomes[0].row_id is not None and outcomes[1].row_id is None
    assert sorted(outcomes[i].row_id is None for i in (2, 3)) == [False, True]
    assert outcomes[4].row_id is not None
    assert _stored(rt) == 3


def test_a_bad_row_fails_only_its_own_caller(rt, grouped):
    writer, sizes, held, returned = grouped
    rows = [_row("at-in:a"), _row("at-in:b"), _row("at-in:bad", phone=None), _row("at-in:c")]
    outcomes = _insert_in_threads(writer, rows, held, returned)
    assert isinstance(outcomes[2], IntegrityError)
    assert all(outcomes[i].row_id is not None for i in (0, 1, 3))
    assert _stored(rt) == 3


def test_a_failed_write_reaches_every_caller_of_the_group_and_stores_none(rt, grouped, monkeypatch):
    writer, sizes, held, returned = grouped

    def gone(group):
        if len(group) > 1:
            raise OperationalError("INSERT", {}, Exception("the database went away"))
        return real(group)

    real = writer._write_together
    monkeypatch.setattr(writer, "_write_together", gone)
    outcomes = _insert_in_threads(writer, [_row(f"at-in:g{i}") for i in range(4)], held, returned)
    assert outcomes[0].row_id is not None
    assert all(isinstance(outcomes[i], OperationalError) for i in (1, 2, 3))
    assert _stored(rt) == 1


class _Stop(BaseException):
    """What a signal's handler raises in the writing thread (not an Exception)."""


def test_an_interrupted_writer_leaves_the_others_an_error_never_a_duplicate(rt, grouped, monkeypatch):
    writer, sizes, held, returned = grouped

    def interrupted(group):
        if len(group) > 1:
            raise _Stop
        return real(group)

    real = writer._write_together
    monkeypatch.setattr(writer, "_write_together", interrupted)
    outcomes: dict = {}

    def call(index: int) -> None:
        try:
            outcomes[index] = writer.insert(_row(f"at-in:s{index}"))
        except BaseException as exc:  # noqa: BLE001 - the test reads which error each caller got
            outcomes[index] = exc
        returned.append(index)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    threads[0].start()
    _wait_for(lambda: held.returned_at_commit, "the first commit")
    for thread in threads[1:]:
        thread.start()
    _wait_for(lambda: len(writer._queue) == 3, "the others to queue")
    held.gate.set()
    for thread in threads:
        thread.join(10)
    errors = [outcomes[i] for i in (1, 2, 3)]
    assert sum(isinstance(e, _Stop) for e in errors) == 1  # the writer's own call
    assert sum(isinstance(e, RuntimeError) for e in errors) == 2  # the others: an error, not None
    assert _stored(rt) == 1


def test_a_group_holds_at_most_max_group_rows_and_the_rest_go_next(rt, grouped):
    writer, sizes, held, returned = grouped
    writer.max_group = 3
    outcomes = _insert_in_threads(writer, [_row(f"at-in:m{i}") for i in range(8)], held, returned)
    assert sizes == [1, 3, 3, 1]
    assert all(outcomes[i].row_id is not None for i in range(8))
    assert _stored(rt) == 8
