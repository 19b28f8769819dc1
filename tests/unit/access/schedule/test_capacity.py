"""The timetable's capacity: it holds about that many shares, those due first, bringing
its horizon in to the last one's due time and leaving the rest to the share book; a
scheduler with a capacity far below the shares due (a day of recurring windows, a
backlog after downtime) still appends every boundary and notice once, at its time, and
its refills of a brought-in horizon do not come ever closer."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from services.access.schedule.book import MemoryShareBook, cut
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.shares import Timetable
from tests.unit.access.scenario import Scenario
from tests.unit.access.schedule.helpers import all_share_events, share_log, update
from tests.unit.access.schedule.test_horizon import (
    HORIZON,
    NOTICE,
    assert_each_mark_once_on_time,
    marks_of_turns,
    random_windows,
)


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def starting(s: Scenario, hours: list[float]) -> dict[UUID, datetime]:
    """A guest per entry, granted on one charger from that many hours on: its start."""
    owner = s.user()
    charger = s.charger(owner)
    starts = {}
    for h in hours:
        guest = s.user()
        starts[guest] = s.now + timedelta(hours=h)
        update(s, owner, guest, [charger], valid_from=starts[guest])
    return starts


def test_it_holds_the_shares_due_first_and_brings_its_horizon_in(s: Scenario) -> None:
    hours = [float(h) for h in random.Random(3).sample(range(1, 40), 20)]
    starts = starting(s, hours)
    timetable = Timetable(NOTICE, s.now + timedelta(days=2), notes=True, capacity=3)
    held = 0
    for event in all_share_events(s):
        timetable.fold([event])
        held = max(held, len(timetable.shares))
    assert held <= 2 * 3
    first = sorted(starts.values())
    assert timetable.until is not None
    assert first[2] <= timetable.until < first[-1]
    kept = {user for (_charger, user) in timetable.shares}
    assert kept == {user for user, at in starts.items() if at <= timetable.until}
    # Every share is noted for the book, those let go too: the book keeps them.
    assert {user for (_charger, user) in timetable.changes} == set(starts)


def test_shares_due_at_the_same_time_stay_together(s: Scenario) -> None:
    starts = starting(s, [5.0] * 7 + [1.0, 9.0, 9.0])
    timetable = Timetable(NOTICE, s.now + timedelta(days=2), notes=True, capacity=2)
    for event in all_share_events(s):
        timetable.fold([event])
    assert timetable.until == s.now + timedelta(hours=5)
    assert {user for (_c, user) in timetable.shares} == {
        user for user, at in starts.items() if at <= s.now + timedelta(hours=5)}
    assert len(timetable.pop_due(s.now + timedelta(hours=5))) == 8


def test_a_capacity_needs_a_book_and_a_horizon(s: Scenario) -> None:
    with pytest.raises(ValueError, match="capacity"):
        Timetable(NOTICE, s.now, capacity=3)
    with pytest.raises(ValueError, match="capacity"):
        Timetable(NOTICE, None, notes=True, capacity=3)


def test_the_book_cuts_a_read_at_its_limit_with_the_shares_due_with_the_last(
        s: Scenario) -> None:
    starts = starting(s, [3.0, 1.0, 2.0, 2.0, 4.0])
    folded = Timetable(NOTICE)
    folded.fold(all_share_events(s))
    rows = [(key, share.due(NOTICE), share) for key, share in folded.shares.items()]
    until = s.now + timedelta(days=1)
    in_order = sorted(starts.values())
    assert [due for _k, due, _s in cut(rows, until, None)[0]] == in_order
    kept, covered = cut(rows, until, 2)
    assert (len(kept), covered) == (3, s.now + timedelta(hours=2))  # both due at 2 h
    assert cut(rows, until, 5) == (sorted(rows, key=lambda r: r[1]), in_order[-1])
    assert cut(rows, until, 6)[1] == until  # fewer than the limit: the horizon asked


def scheduler(s: Scenario, book: MemoryShareBook, capacity: int | None) -> BoundaryScheduler:
    return BoundaryScheduler(s.store, share_log(s), NOTICE, clock=lambda: s.now,
                             horizon=HORIZON, batch_size=50, book=book, capacity=capacity)


@pytest.mark.parametrize("capacity", [1, 4])
async def test_with_a_small_capacity_every_mark_is_appended_once_at_its_time(
        s: Scenario, capacity: int) -> None:
    rng = random.Random(capacity)
    began = s.now
    windows = random_windows(s, rng, 40)
    book = MemoryShareBook()
    turns = [scheduler(s, book, capacity)]

    async def sometimes_restarted() -> BoundaryScheduler:
        if rng.random() < 0.05:  # a restart, from the book
            turns.append(scheduler(s, book, capacity))
            await turns[-1].begin()
        return turns[-1]

    step = timedelta(minutes=10)
    seen, held = await marks_of_turns(s, sometimes_restarted, began + timedelta(days=8), step)
    assert_each_mark_once_on_time(s, windows, seen, step)
    assert len(turns) > 1
    assert held <= 2 * capacity + 1  # one more: a share due at the edge of its horizon


async def test_a_backlog_beyond_the_capacity_is_appended_in_order(s: Scenario) -> None:
    """Down for two days: every share that started meanwhile is due at once, eight times
    the capacity; each turn appends what it holds and refills from the book."""
    starts = starting(s, [float(h) for h in range(1, 41)])
    book = MemoryShareBook()
    first = scheduler(s, book, 5)
    await first.tick()  # folds the log, writes the book; nothing due yet
    assert first.due_shares <= 10
    s.now += timedelta(days=2)
    turn = scheduler(s, book, 5)
    await turn.begin()
    assert turn.resumed_at is not None
    marked, held = s.head(), []
    appending = turn._append

    async def counted(due: list[tuple[tuple[UUID, UUID], datetime]], now: datetime) -> int:
        held.append(turn.due_shares)
        return await appending(due, now)

    turn._append = counted  # type: ignore[method-assign]
    assert await turn.tick() == 40  # one turn: it goes on while the book has more due
    came = [e for e in s.published_since(marked) if e.type == "ShareCameIntoEffect"]
    assert [(UUID(e.data["user_id"]), datetime.fromisoformat(e.data["at"])) for e in came] == (
        sorted(starts.items(), key=lambda item: item[1]))
    assert max(held) <= 10
    assert turn.refills >= 40 / 10  # it held a few at a time


async def test_refills_of_a_horizon_brought_in_do_not_come_every_turn(s: Scenario) -> None:
    """Twenty shares all start at one instant, a day on (a fleet's weekday morning), with
    a capacity of three: every refill before then finds the same twenty due first, so the
    horizon stays there and each refill halves the time left to it."""
    starts = starting(s, [23.0] * 20)
    turn = scheduler(s, MemoryShareBook(), 3)
    began, step = s.now, timedelta(seconds=15)
    marked = s.head()
    while s.now < began + timedelta(hours=23):
        assert await turn.tick() == 0
        s.now += step
    assert turn.due_shares == 20
    assert await turn.tick() == 20  # at their time
    came = [e for e in s.published_since(marked) if e.type == "ShareCameIntoEffect"]
    assert sorted(UUID(e.data["user_id"]) for e in came) == sorted(starts)
    # A refill every half horizon (3 h) until the twenty are read, then at half of the
    # three hours left, and half of that, down to a turn: not one a turn (5 520 turns).
    assert turn.refills <= 23 / 3 + math.log2(3 * 3600 / step.total_seconds()) + 2
