"""P8's bookkeeping without a system: which shares it grants, and which record it times."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from bench.list_topic import ListFollower, Seen
from bench.p8_local_lists import SHARES_PER_DRIVER, slots


def test_no_share_is_granted_twice_and_no_driver_gathers_many() -> None:
    pairs = [(uuid.uuid4(), uuid.uuid4()) for _ in range(7)]
    drivers = [(uuid.uuid4(), f"T{i}") for i in range(30)]
    granted = list(itertools.islice(slots(pairs, drivers), 100))
    assert len({(s.charger, s.driver) for s in granted}) == 100
    per_driver = {d: sum(1 for s in granted if s.driver == d) for d, _ in drivers[:20]}
    assert set(per_driver.values()) == {SHARES_PER_DRIVER}
    assert all((s.owner, s.charger) in pairs for s in granted)


def changed(charger: uuid.UUID, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"type": "LocalListChanged",
            "data": {"charger_id": str(charger), "version": 2, "previous_version": 1,
                     "ocpp201": {"versionNumber": 2, "updateType": "Differential",
                                 "localAuthorizationList": list(entries)}}}


async def test_a_key_is_seen_when_a_record_adds_it_to_that_chargers_list() -> None:
    follower = ListFollower("unused:9092", "unused")
    charger, other = uuid.uuid4(), uuid.uuid4()
    waiting = follower.expect(charger, "abc1")
    removed = {"idToken": {"idToken": "ABC1", "type": "ISO14443"}}
    added = {**removed, "idTokenInfo": {"status": "Accepted"}}
    follower._resolve(changed(other, added), Seen(1.0, 10.0))
    follower._resolve(changed(charger, removed), Seen(2.0, 20.0))
    assert not waiting.done(), "another charger's list, or a removal, is not it"
    follower._resolve(changed(charger, added), Seen(3.0, 30.0))
    follower._resolve(changed(charger, added), Seen(4.0, 40.0))
    assert waiting.result() == Seen(3.0, 30.0), "the first record adding it"
