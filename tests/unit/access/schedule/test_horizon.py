"""The scheduler's horizon: it holds only the shares due within it, takes the next one's
from the share book before it ends (never folding the log again), and so appends every
boundary and notice when due, as one holding every share would, with a fraction of them
in memory."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.access.eventlog.values import LoggedEvent
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.shares import Timetable
from tests.unit.access.scenario import Scenario
from tests.unit.access.schedule.helpers import all_share_events, share_log, update

NOTICE = timedelta(hours=24)
HORIZON = timedelta(hours=6)
MARKS = ("ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding")


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def test_a_share_due_after_the_horizon_is_not_held_until_a_later_one(s: Scenario) -> None:
    owner, soon, later = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, soon, [charger], valid_from=s.now + timedelta(hours=1))
    update(s, owner, later, [charger], valid_from=s.now + timedelta(hours=9))
    near = Timetable(NOTICE, until=s.now + HORIZON)
    near.fold(all_share_events(s))
    assert set(near.shares) == {(charger, soon)}
    assert near.pop_due(s.now + timedelta(days=1)) == [((charger, soon), s.now + timedelta(hours=1))]
    far = Timetable(NOTICE, until=s.now + 2 * HORIZON)
    far.fold(all_share_events(s))
    assert set(far.shares) == {(charger, soon), (charger, later)}


def test_a_share_moved_past_the_horizon_by_its_grant_leaves_the_timetable(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=1))
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=9))
    timetable = Timetable(NOTICE, until=s.now + HORIZON)
    timetable.fold(all_share_events(s))
    assert timetable.shares == {}
    assert timetable.next_due() is None


def expected_marks(s: Scenario, windows: dict[UUID, tuple[datetime, datetime]]
                   ) -> list[tuple[str, str, datetime]]:
    """Each share's marks from its window alone: in effect at its start, the notice
    `NOTICE` before its end (granted long before), out of effect at its end."""
    found = []
    for user, (start, end) in windows.items():
        found += [(str(user), "ShareCameIntoEffect", start),
                  (str(user), "ShareEnding", end - NOTICE),
                  (str(user), "ShareWentOutOfEffect", end)]
    return sorted(found, key=lambda m: (m[2], m[0]))


def random_windows(s: Scenario, rng: random.Random, count: int
                   ) -> dict[UUID, tuple[datetime, datetime]]:
    """`count` guests, each granted one window on one charger, starting within 4 days."""
    owner = s.user()
    charger = s.charger(owner)
    windows: dict[UUID, tuple[datetime, datetime]] = {}
    for _ in range(count):
        guest = s.user()
        start = s.now + timedelta(minutes=rng.randint(60, 4 * 24 * 60))
        end = start + timedelta(minutes=rng.randint(30 * 60, 3 * 24 * 60))
        update(s, owner, guest, [charger], valid_from=start, valid_until=end)
        windows[guest] = (start, end)
    return windows


def assert_each_mark_once_on_time(s: Scenario, windows: dict[UUID, tuple[datetime, datetime]],
                                  seen: list[tuple[datetime, Any]], step: timedelta) -> None:
    """`seen`: (the turn's time, each mark it appended): every mark the windows call for,
    once, at the first turn at or after its time."""
    appended = [(e.data["user_id"], e.type, datetime.fromisoformat(e.data["at"]))
                for _when, e in seen]
    assert sorted(appended, key=lambda m: (m[2], m[0])) == expected_marks(s, windows)
    for (_user, _type, due), (when, _e) in zip(appended, seen, strict=True):
        assert due <= when < due + step


async def marks_of_turns(s: Scenario, turn: Callable[[], Awaitable[BoundaryScheduler]],
                         until: datetime, step: timedelta) -> tuple[list[tuple[datetime, Any]], int]:
    """A turn of the scheduler `turn()` gives (the same one, or one restarted) every
    `step` until `until`: each mark appended, with the time of the turn that appended it,
    and the most shares a turn left held."""
    read_before = s.store.recorder.max_notification_id() or 0
    seen: list[tuple[datetime, Any]] = []
    held = 0
    while s.now < until:
        scheduler = await turn()
        await scheduler.tick()
        held = max(held, scheduler.due_shares)
        read = s.store.recorder.max_notification_id() or 0
        seen += [(s.now, e) for e in s.published_since(read_before) if e.type in MARKS]
        read_before = read
        s.now += step
    return seen, held


async def test_with_a_horizon_every_mark_is_appended_at_its_time(s: Scenario) -> None:
    began = s.now
    windows = random_windows(s, random.Random(7), 40)
    reads: list[int] = []
    share_events = share_log(s)

    async def read_log(after: int, limit: int) -> Sequence[LoggedEvent]:
        reads.append(after)
        return await share_events(after, limit)

    turn = BoundaryScheduler(s.store, read_log, NOTICE, clock=lambda: s.now,
                             horizon=HORIZON, batch_size=50)

    async def same() -> BoundaryScheduler:
        return turn

    step = timedelta(minutes=10)
    seen, held = await marks_of_turns(s, same, began + timedelta(days=8), step)
    assert_each_mark_once_on_time(s, windows, seen, step)
    assert turn.refills >= 8 * 24 / (HORIZON.total_seconds() / 3600 / 2) - 2
    assert held < len(windows) / 2  # it never held most of them
    assert reads.count(0) == 1  # the log was folded from the start once, at the start
