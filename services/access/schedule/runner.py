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
`snapshots`, resumes from the timetable saved last (`snapshots`: the same fold, kept) and
folds only the log that came after it.

With a `horizon`, the timetable holds only the shares due within it (memory stays that of
the next hours' shares, not of every share a fleet was ever granted). Once half of it has
passed, the scheduler folds the whole log again into the next horizon's timetable, a few
batches a turn so boundaries due meanwhile are not held up, and swaps it in when it has
caught up. A share the swap forgets it had settled costs one needless load.
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
from services.access.schedule.shares import ShareKey, Timetable
from services.access.schedule.snapshots import SAVE_SECONDS, Saving, TimetableSnapshots
from services.common import fault_points
from services.common.background import BackgroundLoop

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
        refill_batches: int = 10,
        max_nap: float = 0.25,
        max_backoff: float = 5.0,
        stall_after: float = 30.0,
        snapshots: TimetableSnapshots | None = None,
        save_seconds: float = SAVE_SECONDS,
    ) -> None:
        """`snapshots`: where the timetable is saved and a start resumes from (with a
        `horizon` only: without one it holds every time-bound share, too many to save)."""
        self.wake = asyncio.Event()
        self._saving = (None if snapshots is None or horizon is None
                        else Saving(snapshots, horizon, save_seconds))
        self._horizon = horizon
        self.timetable = Timetable(notice, self._horizon_from(clock()))
        self._next: Timetable | None = None
        """The next horizon's timetable while it is being folded."""
        self.refills = 0
        """Timetables this process folded afresh for a later horizon."""
        self.boundaries = 0
        """Boundary events this process appended."""
        self.notices = 0
        """ShareEnding notices this process appended."""
        self._store = store
        self._read_log = read_log
        self._clock = clock
        self._batch_size = batch_size
        self._refill_batches = refill_batches
        self._max_nap = max_nap
        self._max_backoff = max_backoff
        self._stall_after = stall_after
        self._last_success = time.monotonic()
        self._unfolded = False
        """The last turn appended after folding the log: fold before appending again."""
        self._background = BackgroundLoop(self.run, "schedule")

    @property
    def resumed_at(self) -> int | None:
        """The position a start resumed from (None: it folded the log from the start)."""
        return None if self._saving is None else self._saving.resumed_at

    @property
    def due_shares(self) -> int:
        """Time-bound shares with a boundary or a notice still ahead (within the horizon)."""
        return len(self.timetable.shares)

    def _horizon_from(self, now: datetime) -> datetime | None:
        return None if self._horizon is None else now + self._horizon

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
        """Resume from the saved timetable, or start an empty one whose horizon starts now
        (the first turn then folds the whole log)."""
        if self.timetable.position == 0:  # nothing folded yet
            resumed = None if self._saving is None else await self._saving.resume(
                self.timetable.notice, self._clock())
            self.timetable = resumed or Timetable(
                self.timetable.notice, self._horizon_from(self._clock()))

    async def tick(self) -> int:
        """One turn: append for every share due now, fold the log, append for what it made
        due; how many shares got something appended."""
        # What the timetable knows to be due goes first, before reading the log: a boundary
        # must not wait for that read (the aggregate decides anyway, so a share the log
        # has just revoked costs a load, not a wrong event). Then what the log brought.
        # Unless the timetable has not yet folded what this scheduler appended last turn
        # (it would load those shares again for nothing).
        appended = 0 if self._unfolded else await self._append_due()
        await self.catch_up()
        await self._refill()
        self._unfolded = False
        late = await self._append_due()
        self._unfolded = late > 0
        self._last_success = time.monotonic()
        if self._saving is not None:
            await self._saving.after_turn(self.timetable)
        return appended + late

    async def _append_due(self) -> int:
        now = self._clock()
        due = self.timetable.pop_due(now)
        if not due:
            return 0
        try:
            return await self._append(due, now)
        except BaseException:
            for left, _at in due:  # due again next turn
                self.timetable.retry(left)
            raise

    async def catch_up(self) -> int:
        """Fold the log up to its end; the position reached."""
        while True:
            events: Sequence[LoggedEvent] = await self._read_log(
                self.timetable.position, self._batch_size)
            self.timetable.fold(events)
            if len(events) < self._batch_size:
                return self.timetable.position

    async def _refill(self) -> None:
        """Fold a few batches of the log into the next horizon's timetable (begun once half
        of the current one has passed); swap it in once it has reached the log's end."""
        if self._horizon is None or self.timetable.until is None:
            return
        if self._next is None:
            now = self._clock()
            if now < self.timetable.until - self._horizon / 2:
                return
            self._next = Timetable(self.timetable.notice, self._horizon_from(now))
        for _batch in range(self._refill_batches):
            events = await self._read_log(self._next.position, self._batch_size)
            self._next.fold(events)
            if len(events) < self._batch_size:
                self.timetable, self._next = self._next, None
                self.refills += 1
                return

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
