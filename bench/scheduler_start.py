"""The boundary scheduler's start and its next horizon on a fleet's log: folding the whole
log into its timetable (a start with an empty share book, which the fold fills) against
resuming from the book (`services/access/schedule/book.py`), and the next horizon's
timetable taken from the book. Until a start has its timetable no boundary is appended,
so this is how long boundaries wait after every restart; before the book, every new
horizon (each half horizon) folded the whole log again, as a start with nothing saved.

    python -m bench.scheduler_start --database-url URL [--hours 24] [--now ISO] [--repeat 3]

Each repetition times, in this process, `begin()` and the first turn of a scheduler as
the service makes it (its own store, the service's pool size and batch size), first with
an empty book, then again from the book that start wrote: the same work but the fold of
the log before the write; then the resumed scheduler's next horizon, half a horizon
later (`refill`: nothing is appended), checked once against the whole log's fold for
that horizon. "Now" is the log's last event time (the service
started right after the history was written) unless given: a generated fleet's `ends_at`
(`make seed-fleet` prints it) is where its windows begin, days after its last event. The
book has tables of its own (`bench_schedule_*`), so a service's is left alone; they are
dropped at the end.
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
from services.access.schedule.book_table import ShareBook, book_tables
from services.access.schedule.log import ShareLog
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.share import Share, ShareKey
from services.access.schedule.shares import Timetable
from services.access.store.application import open_store

NOTICE = timedelta(hours=24)
NAME = "bench_schedule"
SHARES, BOOK = book_tables(NAME)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def start(url: str, pool: asyncpg.Pool, horizon: timedelta, book: ShareBook,
                clock: Clock) -> tuple[float, BoundaryScheduler]:
    store = await asyncio.to_thread(open_store, url, pool_size=1)
    try:
        scheduler = BoundaryScheduler(store, pooled(pool, ShareLog()), NOTICE, clock=clock,
                                      horizon=horizon, book=book)
        began = time.perf_counter()
        await scheduler.begin()
        await scheduler.tick()
        await scheduler.write_book()  # a fold's last notes (a resume has none)
        return time.perf_counter() - began, scheduler
    finally:
        store.close()


def same_shares(a: Timetable, b: Timetable) -> bool:
    """The same shares held up to the nearer of the two horizons (a capacity brings each
    in to its own edge: a fold to where its last bring-in cut, a resume to the book's)."""
    if a.until is None or b.until is None:
        return a.shares == b.shares
    until = min(a.until, b.until)

    def within(t: Timetable) -> dict[ShareKey, Share]:
        return {key: share for key, share in t.shares.items()
                if (due := share.due(t.notice)) is None or due <= until}

    return within(a) == within(b)


async def check_refill(pool: asyncpg.Pool, scheduler: BoundaryScheduler) -> None:
    """The next horizon's timetable, taken from the book, is the fold of the whole log for
    that horizon (what the scheduler folded before the book)."""
    refilled = scheduler.timetable
    folded = Timetable(refilled.notice, refilled.until)
    read = pooled(pool, ShareLog())
    while True:
        events = await read(folded.position, 1000)
        folded.fold(events)
        if len(events) < 1000:
            break
    if folded.position != refilled.position or folded.shares != refilled.shares:
        raise RuntimeError("the next horizon from the book differs from the log's fold")


async def measure(url: str, hours: float, repeat: int, now: datetime | None = None
                  ) -> dict[str, list[float]]:
    horizon = timedelta(hours=hours)
    figures: dict[str, list[float]] = {"fold": [], "resume": [], "refill": []}
    async with asyncpg.create_pool(url, min_size=1, max_size=8) as pool:
        now = now or await last_time(pool)
        if now is None:
            raise SystemExit("the database holds no published events")
        book = ShareBook(pool, NAME)
        await book.setup()
        try:
            for _ in range(repeat):
                async with pool.acquire() as conn:
                    await conn.execute(f"TRUNCATE {SHARES}, {BOOK}")
                folded_in, folded = await start(url, pool, horizon, book, Clock(now))
                clock = Clock(now)
                resumed_in, resumed = await start(url, pool, horizon, book, clock)
                if folded.resumed_at is not None or resumed.resumed_at != folded.timetable.position:
                    raise RuntimeError("the second start did not resume from the first's book")
                if not same_shares(resumed.timetable, folded.timetable):
                    raise RuntimeError("the resumed timetable differs from the folded one")
                clock.now = now + horizon / 2
                began = time.perf_counter()
                await resumed.refill()
                refilled_in = time.perf_counter() - began
                if resumed.refills != 1:
                    raise RuntimeError("the resumed scheduler did not take its next horizon")
                if not figures["refill"]:  # once: the next horizon as the whole log's fold
                    await check_refill(pool, resumed)
                figures["fold"].append(folded_in)
                figures["resume"].append(resumed_in)
                figures["refill"].append(refilled_in)
                async with pool.acquire() as conn:
                    rows = await conn.fetchval(f"SELECT count(*) FROM {SHARES}")  # noqa: S608
                print(f"fold {folded_in:.2f} s, resume {resumed_in:.3f} s, next horizon "
                      f"{refilled_in:.3f} s (position {folded.timetable.position:,}, "
                      f"{len(folded.timetable.shares):,} shares held, then "
                      f"{len(resumed.timetable.shares):,}; {rows:,} in the book)", flush=True)
        finally:
            async with pool.acquire() as conn:
                await conn.execute(f"DROP TABLE IF EXISTS {SHARES}, {BOOK}")
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
    fold, resume, refill = (statistics.median(figures[k]) for k in ("fold", "resume", "refill"))
    print("| scheduler (median) | fold the log | resume from the book "
          "| next horizon from the book |")
    print("|---|---|---|---|")
    print(f"| {args.repeat} repetitions | {fold:.2f} s | {resume:.3f} s ({fold / resume:.0f}x) "
          f"| {refill:.3f} s ({fold / refill:.0f}x) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
