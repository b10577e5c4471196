"""After a deletion, bulk never reaches the number: real worker processes send two broadcasts
(one fanned out before the deletion, one created after) through the SDK to the fake AT."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.staff import broadcasts as bc
from gateway.staff import privacy
from gateway.staff.targets import count_recipients, parse
from gateway.store.models import Message
from tests.fake_at import FakeAT
from tests.sms.test_sms_pipeline import at_env
from tests.staff.privacy_seeding import OTHER, PHONE, redis_keys_about, seed_everywhere
from tests.workers import running_workers, wait_until

pytestmark = pytest.mark.slow


def test_a_deleted_number_gets_no_broadcast_from_the_workers(seeded, client, settings):
    with FakeAT() as fake:
        centre = seed_everywhere(seeded, client, fake)
        already = len(fake.requests)
    with seeded.sessions() as s:
        assert count_recipients(s, parse(f"centre:{centre}")) == 2
    before = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{centre}", "Clinic Friday.").id)
    bc.fan_out(seeded, before.id)  # rows for both numbers wait in the outbox
    privacy.erase(seeded, privacy.subject_of(seeded, PHONE))
    after = bc.submit(seeded, bc.CLI, bc.create(seeded, bc.CLI, f"centre:{centre}", "Water Tuesday.").id)
    with FakeAT() as fake, running_workers(settings, env=at_env(fake), args=("--sweep-every", "0.5")):
        wait_until(lambda: all(bc.get(seeded, i).status == "sent" for i in (before.id, after.id)), timeout=60)
    assert already and sorted(fake.accepted_messages()) == [
        (OTHER, "Thusong: Clinic Friday. Reply STOP to opt out", "THUSONG"),
        (OTHER, "Thusong: Water Tuesday. Reply STOP to opt out", "THUSONG")]
    with seeded.sessions() as s:
        assert not s.scalar(select(func.count()).select_from(Message).where(Message.phone == PHONE))
    assert redis_keys_about(seeded.redis) == set()
