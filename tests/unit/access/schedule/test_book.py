"""The share book: a fold written to it at any positions and resumed from it for any
horizon is the fold from the start (so a start and a new horizon may take their shares
from it); marks folded for a share only the book knows reach its row; an older write
never replaces a newer one; and a scheduler restarted again and again from its book
appends every boundary and notice once, at its time, reading only the log after each
write."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.access.eventlog.values import LoggedEvent
from services.access.schedule.appending import append_due
from services.access.schedule.book import STALE, MemoryShareBook
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.share import Patch
from services.access.schedule.shares import Timetable
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


def noting(s: Scenario) -> Timetable:
    """The whole log so far folded by a timetable that notes for a book (horizon `HORIZON`)."""
    timetable = Timetable(NOTICE, s.now + HORIZON, notes=True)
    timetable.fold(all_share_events(s))
    return timetable


def one_guest(s: Scenario, **window: Any) -> tuple[UUID, UUID, UUID]:
    """(owner, guest, charger): the guest granted `window` on the owner's charger."""
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], **window)
    return owner, guest, charger


@pytest.mark.parametrize("seed", range(6))
async def test_a_fold_written_at_any_positions_and_resumed_is_the_fold_from_the_start(
        s: Scenario, seed: int) -> None:
    rng = random.Random(seed)
    began = s.now
    varied_history(s, rng)
    events = all_share_events(s)
    for _ in range(4):
        until = began + timedelta(days=rng.choice([1, 2, 30]))
        later = until + timedelta(days=rng.choice([0, 1, 3]))  # a start or a new horizon
        whole = Timetable(NOTICE, later)
        whole.fold(events)
        cuts = sorted(rng.sample(range(len(events) + 1), rng.randint(1, 4)))
        book, folding = MemoryShareBook(), Timetable(NOTICE, until, notes=True)
        for start, cut in zip([0, *cuts], cuts, strict=False):
            folding.fold(events[start:cut])
            await book.write(folding.position, NOTICE, folding.take_changes())
        resumed = await book.resume(NOTICE, later)
        assert resumed is not None
        assert resumed.position == folding.position
        resumed.fold(events[cuts[-1]:])
        assert resumed.position == whole.position
        assert resumed.shares == whole.shares
        assert due_order(resumed, later) == due_order(whole, later)


async def test_a_settled_due_time_is_written_and_resumed(s: Scenario) -> None:
    _owner, guest, charger = one_guest(s, valid_from=s.now + timedelta(hours=1),
                                       valid_until=s.now + timedelta(days=9))
    folded = noting(s)
    book = MemoryShareBook()
    await book.write(folded.position, NOTICE, folded.take_changes())
    folded.settle((charger, guest), s.now + timedelta(hours=1))
    await book.write(folded.position, NOTICE, folded.take_changes())
    resumed = await book.resume(NOTICE, s.now + HORIZON)
    assert resumed is not None
    assert resumed.shares == folded.shares
    assert resumed.next_due() is None  # its only due time within the horizon was settled


async def test_a_mark_for_a_share_only_the_book_knows_reaches_its_row(s: Scenario) -> None:
    """Another instance, with a later horizon, marked a share this one let go: the book's
    row takes the mark, and the next timetable to hold it works out its next boundary
    from there (from the stale one it would wait for a boundary already marked)."""
    start = s.now + timedelta(hours=10)
    _owner, guest, charger = one_guest(s, valid_from=start,
                                       valid_until=start + timedelta(days=9))
    mine = noting(s)
    assert mine.shares == {}  # due after the horizon: let go, but noted
    book = MemoryShareBook()
    await book.write(mine.position, NOTICE, mine.take_changes())
    assert book.rows[(charger, guest)][1] == start
    s.now = start
    assert append_due(s.store, charger, guest, NOTICE, lambda: s.now).boundaries == 1
    mine.fold(all_share_events(s)[-1:])
    assert mine.changes == {(charger, guest): Patch(True, start)}
    await book.write(mine.position, NOTICE, mine.take_changes())
    position, due, share = book.rows[(charger, guest)]
    assert (position, due, share.in_effect, share.since) == (mine.position, STALE, True, start)
    resumed = await book.resume(NOTICE, s.now + HORIZON)
    assert resumed is not None
    assert resumed.next_due() is None  # nothing more within the horizon: its end is days away
    assert (charger, guest) in resumed.changes  # its due time is written back
    await book.write(resumed.position, NOTICE, resumed.take_changes())
    assert book.rows[(charger, guest)][1] == start + timedelta(days=9) - NOTICE


async def test_an_older_write_never_replaces_a_newer_one(s: Scenario) -> None:
    owner, guest, charger = one_guest(s, valid_from=s.now + timedelta(days=3))
    behind = noting(s)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(days=5))
    ahead = noting(s)
    book = MemoryShareBook()
    await book.write(ahead.position, NOTICE, ahead.changes)
    await book.write(behind.position, NOTICE, behind.changes)
    assert book.rows[(charger, guest)][1] == s.now + timedelta(days=5)
    assert book.position == ahead.position
    await book.write(behind.position, NOTICE, {(charger, guest): None})
    assert (charger, guest) in book.rows
    await book.write(ahead.position, NOTICE, {(charger, guest): None})
    assert (charger, guest) not in book.rows


async def test_a_book_made_for_another_notice_is_emptied_and_not_resumed(s: Scenario) -> None:
    one_guest(s, valid_from=s.now + timedelta(hours=1))
    folded = noting(s)
    book = MemoryShareBook()
    await book.write(folded.position, NOTICE, folded.take_changes())
    assert await book.resume(NOTICE * 2, s.now + HORIZON) is None
    assert (book.rows, book.position) == ({}, None)
    assert await book.resume(NOTICE, s.now + HORIZON) is None  # nothing written since


async def test_restarted_from_its_book_a_scheduler_appends_every_mark_once_at_its_time(
        s: Scenario) -> None:
    rng = random.Random(11)
    began = s.now
    windows = random_windows(s, rng, 30)
    book = MemoryShareBook()
    reads: list[int] = []
    share_events = share_log(s)

    async def read_log(after: int, limit: int) -> Sequence[LoggedEvent]:
        reads.append(after)
        return await share_events(after, limit)

    def started() -> BoundaryScheduler:
        return BoundaryScheduler(s.store, read_log, NOTICE, clock=lambda: s.now,
                                 horizon=HORIZON, batch_size=50, book=book,
                                 save_seconds=rng.choice([0.0, 3600.0]))

    read_before = s.store.recorder.max_notification_id() or 0
    step, seen, resumed = timedelta(minutes=10), [], []
    turn, turns = started(), 0
    await turn.begin()
    while s.now < began + timedelta(days=8):
        restarted = turns > 0 and rng.random() < 0.1
        if restarted:  # a restart, from what the last one wrote
            written = book.position
            turn = started()
            await turn.begin()
            resumed.append((turn.resumed_at, written))
        reads.clear()
        await turn.tick()
        if restarted:
            assert reads[0] == (turn.resumed_at or 0)  # the log after the write
        turns += 1
        read = s.store.recorder.max_notification_id() or 0
        seen += [(s.now, e) for e in s.published_since(read_before) if e.type in MARKS]
        read_before = read
        s.now += step
    assert_each_mark_once_on_time(s, windows, seen, step)
    assert len(resumed) > 10
    # Every restart resumed where the book was last written (or, before any write, folded).
    assert all(at == written for at, written in resumed)
    assert sum(at is not None for at, _ in resumed) > len(resumed) / 2


async def test_a_refill_writes_back_the_due_time_of_a_row_it_read_stale(s: Scenario) -> None:
    """The next horizon's timetable works out the due time of each `STALE` row it reads
    (as a start's does) and the book learns it at the next write: a row left stale comes
    first in every capacity-cut read after, for nothing."""
    start = s.now + timedelta(hours=10)
    _owner, guest, charger = one_guest(s, valid_from=start,
                                       valid_until=start + timedelta(days=9))
    book = MemoryShareBook()
    turn = BoundaryScheduler(s.store, share_log(s), NOTICE, clock=lambda: s.now,
                             horizon=HORIZON, book=book)
    await turn.tick()  # folded and written: the share is due after the horizon
    assert book.rows[(charger, guest)][1] == start
    s.now = start  # another instance marks it (this one's horizon has not reached it)
    assert append_due(s.store, charger, guest, NOTICE, lambda: s.now).boundaries == 1
    await turn.tick()  # folds the mark (only the book knows the share), then refills
    assert turn.refills == 1
    await turn.write_book()
    assert book.rows[(charger, guest)][1] == start + timedelta(days=9) - NOTICE
