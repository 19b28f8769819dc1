"""The saved timetable: the state of a fold saved at position P and folded on from P is
the fold from the start (so a start may resume from it), and a scheduler restarted again
and again from what it saved appends every boundary and notice once, at its time, reading
only the log that came after each save."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.access.eventlog.values import LoggedEvent
from services.access.schedule.appending import append_due
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.shares import Timetable
from services.access.schedule.snapshots import TimetableSnapshots, capture, decode, encode
from tests.schedules import WEEKEND
from tests.unit.access.scenario import Scenario
from tests.unit.access.schedule.helpers import all_share_events, share_log, update
from tests.unit.access.schedule.test_horizon import (
    HORIZON,
    MARKS,
    NOTICE,
    assert_each_mark_once_on_time,
    random_windows,
)


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def varied_history(s: Scenario, rng: random.Random) -> None:
    """Shares granted, re-granted, revoked, made permanent and weekly, and marked as they
    come into and go out of effect and near their ends."""
    owner = s.user()
    chargers = [s.charger(owner) for _ in range(3)]
    guests = [s.user() for _ in range(12)]
    for _ in range(40):
        guest, picked = rng.choice(guests), rng.sample(chargers, rng.randint(1, 3))
        start = s.now + timedelta(minutes=rng.randint(-600, 3 * 24 * 60))
        kind = rng.random()
        if kind < 0.15:
            update(s, owner, guest, picked)  # permanent
        elif kind < 0.3:
            update(s, owner, guest, picked, schedule=WEEKEND,
                   valid_until=start + timedelta(days=rng.randint(8, 20)))
        else:
            update(s, owner, guest, picked, valid_from=start,
                   valid_until=start + timedelta(minutes=rng.randint(660, 5 * 24 * 60)))
        s.now += timedelta(minutes=rng.randint(1, 240))
        # What was due meanwhile, marked as the scheduler would (boundaries, notices).
        due = Timetable(NOTICE)
        due.fold(all_share_events(s))
        for (charger, user), _at in due.pop_due(s.now):
            append_due(s.store, charger, user, NOTICE, lambda: s.now)


def due_order(timetable: Timetable, until: datetime) -> list[Any]:
    """When each share is due, in time order (shares due at one instant are appended
    together, so their order among themselves is not part of it)."""
    return sorted(timetable.pop_due(until), key=lambda due: (due[1], due[0]))


@pytest.mark.parametrize("seed", range(6))
def test_a_fold_saved_at_any_position_and_folded_on_is_the_fold_from_the_start(
        s: Scenario, seed: int) -> None:
    rng = random.Random(seed)
    began = s.now
    varied_history(s, rng)
    events = all_share_events(s)
    until = began + timedelta(days=rng.choice([1, 2, 30]))
    whole = Timetable(NOTICE, until)
    whole.fold(events)
    for cut in sorted(rng.sample(range(len(events) + 1), min(8, len(events) + 1))):
        first = Timetable(NOTICE, until)
        first.fold(events[:cut])
        if first.shares:  # a settled due time is part of what is saved
            key = rng.choice(sorted(first.shares))
            first.settle(key, first.shares[key].since)
            whole_settled = Timetable(NOTICE, until)
            whole_settled.fold(events[:cut])
            whole_settled.settle(key, whole_settled.shares[key].since)
            whole_settled.fold(events[cut:])
        else:
            whole_settled = whole
        resumed = decode(encode(capture(first)), NOTICE, until, first.position)
        assert resumed.position == first.position
        resumed.fold(events[cut:])
        assert resumed.position == whole_settled.position
        assert resumed.shares == whole_settled.shares
        assert due_order(resumed, until) == due_order(whole_settled, until)


class KeptSnapshots(TimetableSnapshots):
    """`TimetableSnapshots` kept as its JSON in memory (the real table: the integration
    test), with the same rules for when a start may resume."""

    def __init__(self) -> None:
        self.row: dict[str, Any] | None = None
        self.saves = 0

    async def load(self, notice: timedelta, horizon: timedelta, now: datetime
                   ) -> Timetable | None:
        row = self.row
        if row is None or row["until"] <= now or row["settings"] != (notice, horizon):
            return None
        return decode(row["shares"], notice, row["until"], row["position"])

    async def save(self, timetable: Timetable, horizon: timedelta) -> None:
        assert timetable.until is not None
        self.saves += 1
        self.row = {"position": timetable.position, "until": timetable.until,
                    "settings": (timetable.notice, horizon),
                    "shares": encode(capture(timetable))}


async def test_restarted_from_its_saves_a_scheduler_appends_every_mark_once_at_its_time(
        s: Scenario) -> None:
    rng = random.Random(11)
    began = s.now
    windows = random_windows(s, rng, 30)
    kept = KeptSnapshots()
    reads: list[int] = []
    share_events = share_log(s)

    async def read_log(after: int, limit: int) -> Sequence[LoggedEvent]:
        reads.append(after)
        return await share_events(after, limit)

    def started() -> BoundaryScheduler:
        return BoundaryScheduler(s.store, read_log, NOTICE, clock=lambda: s.now,
                                 horizon=HORIZON, refill_batches=1, batch_size=50,
                                 snapshots=kept, save_seconds=0.0)

    read_before = s.store.recorder.max_notification_id() or 0
    step, seen, resumed = timedelta(minutes=10), [], []
    turn, turns = started(), 0
    await turn.begin()
    while s.now < began + timedelta(days=8):
        restarted = turns > 0 and rng.random() < 0.1
        if restarted:  # a restart, from what the last one saved
            before = kept.row["position"] if kept.row else None
            turn = started()
            await turn.begin()
            resumed.append((turn.resumed_at, before))
        reads.clear()
        await turn.tick()
        if restarted and turn.resumed_at is not None:
            assert reads[0] == turn.resumed_at  # the log after the save, not from the start
        turns += 1
        read = s.store.recorder.max_notification_id() or 0
        seen += [(s.now, e) for e in s.published_since(read_before) if e.type in MARKS]
        read_before = read
        s.now += step
    assert_each_mark_once_on_time(s, windows, seen, step)
    assert len(resumed) > 10
    # Every restart within a saved horizon resumed where the last save left off.
    assert all(at == before for at, before in resumed if at is not None)
    assert sum(at is not None for at, _ in resumed) > len(resumed) / 2
