"""P4: rebuild the read models from the whole log (what the earlier measures wrote, or
the log of another database: `Plan.p4_database_url`, a seeded fleet say), with
`services.access.projection.rebuild.rebuild`, while the service keeps running.
Events/s = published events replayed / wall time of the rebuild, swap included.

The baseline reads and decodes the same log as the rebuild's reader does (the
projection's `ProjectionLog`: rows fetched, personal fields unsealed, decoded), with the
rebuild's batch size, the next batch read while one is decoded, and the rebuild's garbage
collector setting, but writes nothing: what the rebuild costs above it is the projection.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from bench.core import Bench
from bench.stats import Row, Target
from services.access.eventlog.reader import pooled
from services.access.projection.rebuild import bulk_gc, rebuild
from services.access.projection.records import ProjectionLog

BATCH_SIZE = 2000  # rebuild's default batch


async def timed_rebuild(pool: asyncpg.Pool) -> tuple[int, float, float]:
    """(events replayed, seconds in all, seconds until the last batch was replayed)."""
    replayed = [0]
    started = time.monotonic()
    replayed_at = [started]

    def progress(_position: int, count: int) -> None:
        replayed[0] = count
        replayed_at[0] = time.monotonic()

    await rebuild(pool, pooled(pool, ProjectionLog()), progress=progress)
    return replayed[0], time.monotonic() - started, replayed_at[0] - started


async def read_and_decode(pool: asyncpg.Pool, batch_size: int = BATCH_SIZE) -> tuple[int, float]:
    """(events, seconds) to read the whole log as the rebuild reads it, writing nothing."""
    read_log = pooled(pool, ProjectionLog())
    count = 0
    started = time.monotonic()
    with bulk_gc():
        pending = asyncio.ensure_future(read_log(0, batch_size))
        while events := await pending:
            pending = asyncio.ensure_future(read_log(events[-1].position, batch_size))
            count += len(events)
    return count, time.monotonic() - started


async def run(b: Bench) -> None:
    plan = b.plan
    pool = b.pool
    if plan.p4_database_url is not None:
        pool = await asyncpg.create_pool(plan.p4_database_url, min_size=1, max_size=4)
    try:
        await _measure(b, pool)
    finally:
        if pool is not b.pool:
            await pool.close()


async def _measure(b: Bench, pool: asyncpg.Pool) -> None:
    values: list[float] = []
    counts: list[int] = []
    phases: list[dict[str, float]] = []
    reads: list[float] = []
    for rep in range(b.plan.reps):
        read, read_seconds = await read_and_decode(pool)
        reads.append(read / read_seconds if read_seconds else 0.0)
        async with b.profiled("bench", "p4-rebuild", rep == 0):
            count, seconds, replay = await timed_rebuild(pool)
        counts.append(count)
        phases.append({"seconds": seconds, "setup_and_replay_s": replay,
                       "access_and_swap_s": seconds - replay, "read_events": read})
        values.append(count / seconds if seconds else 0.0)
        b.say(f"P4 rep {rep + 1}: {count:,} events in {seconds:.2f} s = {values[-1]:,.0f}/s; "
              f"read and decode {read:,} in {read_seconds:.2f} s = {reads[-1]:,.0f}/s")
    where = "another database" if b.plan.p4_database_url else "the benchmark's log"
    b.rows.append(Row("P4", "rebuild read models", "events/s", values, reads,
                      "read + decode the log, no writes", "higher",
                      Target("ratio", ">=", 0.5, of="read"),
                      f"{counts[0]:,} events in {where}"))
    details: dict[str, Any] = {"events": counts, "phases": phases,
                               "database": "own" if b.plan.p4_database_url is None
                               else "p4_database_url"}
    b.details["P4"] = details
