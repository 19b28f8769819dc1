"""The scheduler's horizons and its share book: which timetable it holds, and when the
book is written and read.

With a horizon, the timetable holds only the shares due within it (and at most about
`capacity` of them); the book keeps every time-bound share with its next due time. A
start resumes from the book (the fold it last wrote) instead of folding the whole log;
what later folds change is written to the book every `save_seconds` (and whenever many
changes wait); once half of the time left has passed, the next horizon's timetable is the
one held plus the book's shares due by its end: an index range, not a fold of the log.
Without a horizon there is no book: the timetable holds every share, and a start folds
the whole log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from services.access.schedule.book import Book, Due, MemoryShareBook, timetable_of
from services.access.schedule.shares import Timetable

log = logging.getLogger(__name__)


class Horizons:
    """The scheduler's side of the book; one per scheduler (not shared between tasks)."""

    def __init__(self, horizon: timedelta | None, book: Book | None, capacity: int | None,
                 clock: Callable[[], datetime], save_seconds: float) -> None:
        """`book`: by default in memory, so a restart folds the whole log (with a horizon
        only). `capacity`: shares held at most, about, with a horizon (None: all)."""
        self._horizon = horizon
        self._book = None if horizon is None else book if book is not None else MemoryShareBook()
        self._capacity = capacity if self._book is not None else None
        self._clock = clock
        self._save_seconds = save_seconds
        self._began = clock()
        """When the timetable's horizon began (its start, or its refill)."""
        self._written_at = float("-inf")
        """When the book was last written (never yet: the first turn writes it)."""
        self._written: int | None = None
        """The position the book was last written at by this process."""
        self.resumed_at: int | None = None
        self.refills = 0

    def empty(self, notice: timedelta, now: datetime) -> Timetable:
        """A timetable for a fold from the start of the log, its horizon starting `now`."""
        until = None if self._horizon is None else now + self._horizon
        return Timetable(notice, until, notes=self._book is not None, capacity=self._capacity)

    async def resume(self, notice: timedelta) -> Timetable:
        """The book's timetable for a horizon starting now, or an empty one (the first
        turn then folds the whole log)."""
        self._began = self._clock()
        resumed = None
        if self._book is not None and self._horizon is not None:
            resumed = await self._book.resume(notice, self._began + self._horizon,
                                              self._capacity)
        if resumed is None:
            return self.empty(notice, self._began)
        self.resumed_at = resumed.position
        log.info("resuming from the share book at position %d (%d shares due by %s)",
                 resumed.position, len(resumed.shares), resumed.until)
        return resumed

    def time_to_write(self) -> bool:
        return time.monotonic() - self._written_at >= self._save_seconds

    async def write(self, timetable: Timetable) -> None:
        """Write what the folds changed since the last write, and the position, to the
        book (one transaction: a write that fails is noted again and retried)."""
        self._written_at = time.monotonic()
        position = timetable.position
        if self._book is None or (not timetable.changes and position == self._written):
            return  # the log has not moved since
        changes = timetable.take_changes()
        try:
            await self._book.write(position, timetable.notice, changes)
        except BaseException:
            timetable.give_back(changes)
            raise
        self._written = position

    async def refill(self, held: Timetable) -> Timetable:
        """Once half of the horizon has passed: the next horizon's timetable, the shares
        `held` and the book's due by its end; until then, `held`."""
        if self._book is None or self._horizon is None or held.until is None:
            return held
        now, until = self._clock(), held.until
        # At half the time left, as for a whole horizon. One the capacity brought in may
        # find the same shares due first again (more due at one time than it holds), and
        # so halve the time left again: a few more refills, not one a turn.
        if now < until - (until - self._began) / 2:
            return held
        await self.write(held)  # the book then holds the fold to the timetable's position
        due = await self._book.due_by(now + self._horizon, self._capacity)
        # In a thread, like the book's reading: seconds where every share is held. Nothing
        # folds into `held` meanwhile (only the scheduler's task does, and it waits here).
        refilled = await asyncio.to_thread(_next_horizon, held, due, self._capacity)
        refilled.give_back(held.changes)  # under its own: the stale rows it noted
        self._began = now
        self.refills += 1
        return refilled


def _next_horizon(held: Timetable, due: Due, capacity: int | None) -> Timetable:
    """The timetable until the horizon `due` covers: the shares held, and the book's due
    by then."""
    later = [(key, share) for key, share in due if key not in held.shares]
    return timetable_of(Due([*later, *held.shares.items()], due.stale, due.until),
                        held.notice, held.position, capacity)
