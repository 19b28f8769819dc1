"""The boundary scheduler's start on a fleet's log: folding the whole log into its
timetable (a start with nothing saved) against resuming from the timetable it saved
(`services/access/schedule/snapshots.py`). Until a start has its timetable no boundary is
appended, so this is how long boundaries wait after every restart.

    python -m bench.scheduler_start --database-url URL [--hours 24] [--now ISO] [--repeat 3]

Each repetition times, in this process, `begin()` and the first turn of a scheduler as
the service makes it (its own store, the service's pool size and batch size), first with
nothing saved, then again with what that start saved: the same work but the fold of the
log before the save. "Now" is the log's last event time (the service started right after
the history was written) unless given: a generated fleet's `ends_at` (`make seed-fleet`
prints it) is where its windows begin, days after its last event. The saved row has a
name of its own, so a service's is left alone; it is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime, timedelta

import asyncpg

from bench.timetable import last_time
from services.access.eventlog.reader import pooled
from services.access.schedule.log import ShareLog
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.snapshots import TimetableSnapshots
from services.access.store.application import open_store

NOTICE = timedelta(hours=24)
NAME = "bench-scheduler-start"


async def start(url: str, pool: asyncpg.Pool, horizon: timedelta, snapshots: TimetableSnapshots,
                now: datetime) -> tuple[float, BoundaryScheduler]:
    store = await asyncio.to_thread(open_store, url, pool_size=1)
    try:
        scheduler = BoundaryScheduler(store, pooled(pool, ShareLog()), NOTICE,
                                      clock=lambda: now,
                                      horizon=horizon, snapshots=snapshots)
        began = time.perf_counter()
        await scheduler.begin()
        await scheduler.tick()
        return time.perf_counter() - began, scheduler
    finally:
        store.close()


async def measure(url: str, hours: float, repeat: int, now: datetime | None = None
                  ) -> dict[str, list[float]]:
    horizon = timedelta(hours=hours)
    figures: dict[str, list[float]] = {"fold": [], "resume": []}
    async with asyncpg.create_pool(url, min_size=1, max_size=8) as pool:
        now = now or await last_time(pool)
        if now is None:
            raise SystemExit("the database holds no published events")
        snapshots = TimetableSnapshots(pool, NAME)
        await snapshots.setup()
        try:
            for _ in range(repeat):
                async with pool.acquire() as conn:
                    await conn.execute("DELETE FROM schedule_timetables WHERE name = $1", NAME)
                folded_in, folded = await start(url, pool, horizon, snapshots, now)
                resumed_in, resumed = await start(url, pool, horizon, snapshots, now)
                if folded.resumed_at is not None or resumed.resumed_at != folded.timetable.position:
                    raise RuntimeError("the second start did not resume from the first's save")
                if resumed.timetable.shares != folded.timetable.shares:
                    raise RuntimeError("the resumed timetable differs from the folded one")
                figures["fold"].append(folded_in)
                figures["resume"].append(resumed_in)
                print(f"fold {folded_in:.2f} s, resume {resumed_in:.3f} s "
                      f"(position {folded.timetable.position:,}, "
                      f"{len(folded.timetable.shares):,} shares held)", flush=True)
        finally:
            async with pool.acquire() as conn:
                await conn.execute("DELETE FROM schedule_timetables WHERE name = $1", NAME)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler_start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--hours", type=float, default=24.0, help="the horizon in hours")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="ISO time with its zone (default the log's last event's)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.database_url, args.hours, args.repeat, args.now))
    fold, resume = (statistics.median(figures[k]) for k in ("fold", "resume"))
    print("| scheduler start (median) | fold the log | resume from the save | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.repeat} repetitions | {fold:.2f} s | {resume:.3f} s | {fold / resume:.0f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
