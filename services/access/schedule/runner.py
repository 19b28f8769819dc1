"""The scheduler's loop: follow the log, sleep until the next share is due, append.

It sleeps until the earliest due time, but never longer than `max_nap` and no longer
than until the log watch wakes it (a commit may have granted a share due sooner). Each
turn appends, through the write side, for every share due by now (before reading the
log, so a boundary never waits for that read), then folds what the log gained and appends
for what that made due. The shares due at once are appended together
(`appending.append_all_due`: one load, one commit, in a thread: the store is
synchronous). It has a store of its own: the store's key ring keeps per-batch state that
must not be shared with the command consumer's thread.

At start it folds the whole log before appending anything, so after downtime every
missed boundary is due at once and appended in order with its nominal time; or, with
a horizon, resumes from the share book (`book`: every time-bound share and its next due
time, as the fold left them) and folds only the log written after it.

With a `horizon`, the timetable holds only the shares due within it, at most about
`capacity` of them; the share book keeps the rest, and `horizons.py` says when it is
written and read. A horizon brought in behind the clock (more shares due at once than
the capacity: a backlog) is refilled within the turn until the backlog is appended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from services.access.eventlog.reader import LogReader
from services.access.eventlog.values import LoggedEvent
from services.access.eventlog.watch import nap
from services.access.ports import EventStore
from services.access.schedule.appending import append_all_due
from services.access.schedule.book import Book
from services.access.schedule.horizons import Horizons
from services.access.schedule.share import ShareKey
from services.common import fault_points
from services.common.background import BackgroundLoop

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SAVE_SECONDS = 60.0
"""At most this much of the log's growth is folded again at a start."""
WRITE_AT_CHANGES = 20_000
"""Notes waiting that make the scheduler write them to the book at once (a first fold of
a fleet's log notes every time-bound share: 900 k at 10 M events). Each is a share (a
few hundred bytes), written once however often the fold changed it meanwhile."""


CAPACITY = 10_000
"""Shares the timetable holds at most, about (`Timetable.capacity`): those due first. A
horizon of a day holds every share with a recurring window (each has a boundary a day),
and a start after downtime every share whose boundary passed meanwhile: 19 k-81 k at
10 M events in probes, ~2 KB each in a process (P6 gives the command side 200 MB)."""

APPEND_CHUNK = 250
"""Shares appended for in one load and commit at most. A start after downtime, or the
first on a fleet's log, finds every share whose boundary passed meanwhile due at once,
and each one's Charger aggregate is in memory until its commit: tens of thousands at 10 M
events took the command side past P6's 200 MB. Chunks keep that bounded, and each keeps
the batch's single load and commit."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class BoundaryScheduler:
    def __init__(
        self,
        store: EventStore,
        read_log: LogReader[LoggedEvent],
        notice: timedelta,
        *,
        clock: Clock = utc_now,
        batch_size: int = 1000,
        horizon: timedelta | None = None,
        max_nap: float = 0.25,
        max_backoff: float = 5.0,
        stall_after: float = 30.0,
        book: Book | None = None,
        save_seconds: float = SAVE_SECONDS,
        capacity: int | None = CAPACITY,
    ) -> None:
        """`book`: where the shares beyond the `horizon` are kept (with a horizon only;
        by default in memory, so a restart folds the whole log). `capacity`: shares held
        at most, about, with a horizon (`Timetable.capacity`; None: all within it)."""
        self.wake = asyncio.Event()
        self.horizons = Horizons(horizon, book, capacity, clock, save_seconds)
        self.timetable = self.horizons.empty(notice, clock())
        self.boundaries = 0
        """Boundary events this process appended."""
        self.notices = 0
        """ShareEnding notices this process appended."""
        self._store = store
        self._read_log = read_log
        self._clock = clock
        self._batch_size = batch_size
        self._max_nap = max_nap
        self._max_backoff = max_backoff
        self._stall_after = stall_after
        self._last_success = time.monotonic()
        self._unfolded = False
        """The last turn appended after folding the log: fold before appending again."""
        self._background = BackgroundLoop(self.run, "schedule")

    @property
    def due_shares(self) -> int:
        """Time-bound shares with a boundary or a notice still ahead (within the horizon)."""
        return len(self.timetable.shares)

    @property
    def resumed_at(self) -> int | None:
        """The position a start resumed from (None: it folded the log from the start)."""
        return self.horizons.resumed_at

    @property
    def refills(self) -> int:
        """Timetables this process took from the book for a later horizon."""
        return self.horizons.refills

    def notify(self) -> None:
        """The log gained events (the log watch calls this): fold them now."""
        self.wake.set()

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    def running(self) -> bool:
        return self._background.alive() and not self.stalled()

    def stalled(self) -> bool:
        return time.monotonic() - self._last_success > self._stall_after

    async def run(self) -> None:
        """Loop until cancelled; a failing database is logged and retried with backoff."""
        await self.begin()
        backoff = 0.1
        while True:
            self.wake.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler turn failed; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            await nap(self.wake, self._nap())

    async def begin(self) -> None:
        """Resume from the share book, or start an empty timetable whose horizon starts
        now (the first turn then folds the whole log)."""
        if self.timetable.position != 0:  # folded already
            return
        self.timetable = await self.horizons.resume(self.timetable.notice)

    async def tick(self) -> int:
        """One turn: append for every share due now, fold the log, append for what it made
        due; how many shares got something appended."""
        # What the timetable knows to be due goes first, before reading the log: a boundary
        # must not wait for that read (the aggregate decides anyway, so a share the log
        # has just revoked costs a load, not a wrong event). Then what the log brought.
        # Unless the timetable has not yet folded what this scheduler appended last turn
        # (it would load those shares again for nothing).
        appended = 0 if self._unfolded else await self._append_due()
        while True:
            await self.catch_up()
            await self.refill()
            self._unfolded = False
            late = await self._append_due()
            self._unfolded = late > 0
            appended += late
            self._last_success = time.monotonic()
            # A horizon the capacity brought in behind the clock: the book holds more
            # shares due by now (a backlog). Fold what was appended, take them, go on.
            until = self.timetable.until
            if not late or until is None or until >= self._clock():
                break
        if self.horizons.time_to_write():
            await self.write_book()
        return appended

    async def _append_due(self) -> int:
        now = self._clock()
        due = self.timetable.pop_due(now)
        appended = 0
        for start in range(0, len(due), APPEND_CHUNK):
            try:
                appended += await self._append(due[start:start + APPEND_CHUNK], now)
            except BaseException:
                for left, _at in due[start:]:  # due again next turn
                    self.timetable.retry(left)
                raise
        return appended

    async def catch_up(self) -> int:
        """Fold the log up to its end; the position reached."""
        while True:
            events: Sequence[LoggedEvent] = await self._read_log(
                self.timetable.position, self._batch_size)
            self.timetable.fold(events)
            if len(self.timetable.changes) >= WRITE_AT_CHANGES:
                await self.write_book()
            if len(events) < self._batch_size:
                return self.timetable.position

    async def write_book(self) -> None:
        """Write what the folds changed since the last write to the book."""
        await self.horizons.write(self.timetable)

    async def refill(self) -> None:
        """The next horizon's timetable, once it is time (each turn asks; public for the
        bench)."""
        self.timetable = await self.horizons.refill(self.timetable)

    async def _append(self, due: list[tuple[ShareKey, datetime]], now: datetime) -> int:
        """Append for every share due now, together (`append_all_due`: one load, one
        commit); how many got something appended."""
        results = await asyncio.to_thread(
            append_all_due, self._store, [key for key, _at in due], self.timetable.notice,
            self._clock)
        for _share in due:  # counted per share, as when each had its own append
            fault_points.reached("scheduler.after_append")
        for (key, at), appended in zip(due, results, strict=True):
            self.boundaries += appended.boundaries
            self.notices += appended.notices
            if not appended:
                # Another instance appended it (the log will show it), or the notice of a
                # share that ended first: not due at `at` again.
                self.timetable.settle(key, at)
            if not appended.notices:
                self.timetable.settle_notice(key, now)
        return sum(1 for appended in results if appended)

    def _nap(self) -> float:
        due = self.timetable.next_due()
        if due is None:
            return self._max_nap
        return max(0.0, min(self._max_nap, (due - self._clock()).total_seconds()))
