"""The scheduler's timetable kept in PostgreSQL, so a start resumes from it instead of
folding the whole log again.

Folding a fleet's log took 121 s at 10 M events (docs/performance.md, "The scheduler's
horizon"), and until it ended no boundary was appended: every restart held boundaries up
for two minutes. A timetable is a pure fold of the log up to its position for one horizon
end (`until`), so the same state saved at position P and folded on from P is the fold
from the start (`tests/unit/access/schedule/test_snapshots.py`). It is saved every
`SAVE_SECONDS` while the log moves and at every refill; a start uses it while its horizon
still lies ahead (else the shares due since are not in it) for the same notice and
horizon settings, and only if the log holds its position (a database restored from an
older backup does not). One row for all instances: any instance's timetable is the same
fold. The shares held are those due within the horizon (none to a few thousand), so the
row stays small.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.access.domain.windows import Window
from services.access.schedule.shares import Share, ShareKey, Timetable
from services.access.store.application import EVENTS_TABLE

log = logging.getLogger(__name__)

SAVE_SECONDS = 60.0
"""At most this much of the log's growth is folded again at a start."""
NAME = "shares"

SETUP_SQL = """
CREATE TABLE IF NOT EXISTS schedule_timetables (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    until timestamptz NOT NULL,
    notice_seconds double precision NOT NULL,
    horizon_seconds double precision NOT NULL,
    -- JSON (`encode`) kept as text: no statement looks inside it, so PostgreSQL need not
    -- parse it into jsonb on each save and print it back on each load.
    shares text NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
)
"""
_SAVE = """
INSERT INTO schedule_timetables (name, position, until, notice_seconds, horizon_seconds, shares)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, until = EXCLUDED.until,
    notice_seconds = EXCLUDED.notice_seconds, horizon_seconds = EXCLUDED.horizon_seconds,
    shares = EXCLUDED.shares, saved_at = now()
WHERE (schedule_timetables.until, schedule_timetables.position)
      <= (EXCLUDED.until, EXCLUDED.position)
"""
_LOAD = f"""
SELECT position, until, notice_seconds, horizon_seconds, shares,
       (SELECT max(notification_id) FROM {EVENTS_TABLE}) AS head
FROM schedule_timetables WHERE name = $1
"""  # noqa: S608 - the store's own table name


@dataclass(frozen=True)
class Captured:
    """A timetable's state, copied on the event loop between two folds (the `Share`s
    change as the log is folded) so it can be written out in a thread."""

    position: int
    until: datetime
    notice: timedelta
    shares: list[tuple[ShareKey, Window, bool, datetime, datetime, bool, frozenset[datetime]]]


def capture(timetable: Timetable) -> Captured:
    if timetable.until is None:
        raise ValueError("only a timetable with a horizon is saved")
    return Captured(timetable.position, timetable.until, timetable.notice, [
        (key, share.window, share.in_effect, share.since, share.granted_at, share.noticed,
         share.settled) for key, share in timetable.shares.items()])


def encode(captured: Captured) -> str:
    """As JSON: each distinct window once (a fleet grants the same few windows over and
    over), each share naming its window by index."""
    windows: dict[Window, int] = {}
    rows = [[str(charger), str(user), windows.setdefault(window, len(windows)), in_effect,
             since.isoformat(), granted_at.isoformat(), noticed,
             sorted(t.isoformat() for t in settled)]
            for (charger, user), window, in_effect, since, granted_at, noticed, settled
            in captured.shares]
    return json.dumps({"windows": [w.to_data() for w in windows], "shares": rows})


def decode(text: str, notice: timedelta, until: datetime | None, position: int) -> Timetable:
    data = json.loads(text)
    windows = [Window.from_data(w) for w in data["windows"]]
    timetable = Timetable(notice, until)
    timetable.restore(position, (
        ((UUID(charger), UUID(user)),
         Share(windows[window], in_effect, datetime.fromisoformat(since),
               datetime.fromisoformat(granted_at), noticed,
               frozenset(datetime.fromisoformat(t) for t in settled)))
        for charger, user, window, in_effect, since, granted_at, noticed, settled
        in data["shares"]))
    return timetable


class TimetableSnapshots:
    def __init__(self, pool: asyncpg.Pool, name: str = NAME) -> None:
        self._pool = pool
        self._name = name

    async def setup(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(SETUP_SQL)

    async def load(self, notice: timedelta, horizon: timedelta, now: datetime
                   ) -> Timetable | None:
        """The saved timetable, if a start may resume from it; None: fold the log."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_LOAD, self._name)
        if row is None:
            return None
        why_not = (
            "it was made for other settings" if (row["notice_seconds"], row["horizon_seconds"])
            != (notice.total_seconds(), horizon.total_seconds()) else
            "its horizon has passed" if row["until"] <= now else
            "the log does not reach its position" if (row["head"] or 0) < row["position"] else
            None)
        if why_not is not None:
            log.info("not resuming from the saved timetable: %s", why_not)
            return None
        # In a thread: at a fleet's scale (100 k shares held) this is seconds of work.
        return await asyncio.to_thread(decode, row["shares"], notice, row["until"],
                                       row["position"])

    async def save(self, timetable: Timetable, horizon: timedelta) -> None:
        captured = capture(timetable)  # on the loop, where the timetable is folded
        text = await asyncio.to_thread(encode, captured)
        async with self._pool.acquire() as conn:
            await conn.execute(_SAVE, self._name, captured.position, captured.until,
                               captured.notice.total_seconds(), horizon.total_seconds(), text)


class Saving:
    """When a scheduler saves its timetable, and what its start resumed from."""

    def __init__(self, snapshots: TimetableSnapshots, horizon: timedelta,
                 every: float = SAVE_SECONDS) -> None:
        self._snapshots = snapshots
        self._horizon = horizon
        self._every = every
        self._saved: tuple[int, datetime | None] | None = None
        """(position, until) of the timetable saved (or resumed from) last."""
        self._saved_at = 0.0
        self.resumed_at: int | None = None

    async def resume(self, notice: timedelta, now: datetime) -> Timetable | None:
        """The saved timetable, if the start may resume from it (a failed read: fold)."""
        try:
            resumed = await self._snapshots.load(notice, self._horizon, now)
        except Exception:
            log.exception("the saved timetable could not be read; folding the log")
            return None
        if resumed is not None:
            self.resumed_at = resumed.position
            self._saved, self._saved_at = (resumed.position, resumed.until), time.monotonic()
            log.info("resuming the timetable saved at position %d (%d shares due by %s)",
                     resumed.position, len(resumed.shares), resumed.until)
        return resumed

    async def after_turn(self, timetable: Timetable) -> None:
        """Save the timetable when it moved: at once after a refill (a new horizon), else
        at most every `every` seconds."""
        state = (timetable.position, timetable.until)
        if state == self._saved:
            return
        refilled = self._saved is not None and self._saved[1] != state[1]
        if not refilled and time.monotonic() - self._saved_at < self._every:
            return
        await self._snapshots.save(timetable, self._horizon)
        self._saved, self._saved_at = state, time.monotonic()
