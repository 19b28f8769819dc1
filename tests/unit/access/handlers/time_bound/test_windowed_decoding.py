"""Windowed events decode the same on the fast path and through the mapper."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.access.eventlog.fast import decode_fast
from services.access.eventlog.reader import decode
from services.access.eventlog.translation import decode_with_mapper
from tests.schedules import WEEKEND
from tests.unit.access.handlers.time_bound.common import (
    mark,
    notice,
    share,
)
from tests.unit.access.scenario import Scenario

# -- the published shapes decode the same both ways -------------------------------------


def test_windowed_events_decode_the_same_on_the_fast_path_and_the_mapper(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = datetime(2025, 3, 2, 14, tzinfo=timezone(timedelta(hours=2)))  # not UTC
    share(s, owner, guest, [charger], valid_from=start, valid_until=start + timedelta(days=2),
          schedule=WEEKEND)
    end = start + timedelta(days=7)  # a Sunday afternoon, in the schedule
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], schedule=WEEKEND,
         valid_until=end)
    s.now = end - timedelta(hours=23)
    assert mark(s, charger, guest)
    assert notice(s, charger, guest)
    types = set()
    for n in s.store.recorder.select_notifications(1, 1_000_000):
        row = {"notification_id": n.id, "originator_id": n.originator_id,
               "originator_version": n.originator_version, "topic": n.topic, "state": n.state}
        if "Charger." not in n.topic and "Invitation." not in n.topic and "User." not in n.topic:
            continue
        event = s.store.mapper.to_domain_event(n)
        if not getattr(type(event), "PUBLISHED", False):
            continue
        assert decode_fast(row) is not None, n.topic
        fast, reference = decode(row), decode_with_mapper(row)
        assert fast.envelope == reference.envelope
        types.add(fast.envelope.type)
    assert {"UserInvited", "InvitationAccepted", "AccessGranted", "UserAccessChanged",
            "ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding"} <= types
