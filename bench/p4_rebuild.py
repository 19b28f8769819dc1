"""P4: rebuild the read models from the whole log (what the earlier measures wrote),
with `services.access.projection.rebuild.rebuild`, while the service keeps running.
Events/s = published events replayed / wall time of the rebuild, swap included.

The raw baseline is COPY of as many rows of the event table's shape into a table of
our own (asyncpg `copy_records_to_table`).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from bench.core import Bench
from bench.stats import Row, Target
from services.access.eventlog.reader import pooled
from services.access.projection.rebuild import rebuild
from services.access.projection.records import ProjectionLog


async def timed_rebuild(b: Bench) -> tuple[int, float, float]:
    """(events replayed, seconds in all, seconds until the last batch was replayed)."""
    replayed = [0]
    started = time.monotonic()
    replayed_at = [started]

    def progress(_position: int, count: int) -> None:
        replayed[0] = count
        replayed_at[0] = time.monotonic()

    await rebuild(b.pool, pooled(b.pool, ProjectionLog()), progress=progress)
    return replayed[0], time.monotonic() - started, replayed_at[0] - started


async def raw_copy(b: Bench, rows: int) -> float:
    payload = os.urandom(300)
    records = [(uuid.uuid4(), 1, "bench.Raw", payload) for _ in range(rows)]
    async with b.pool.acquire() as conn:
        await conn.execute("""CREATE TABLE IF NOT EXISTS bench_raw_copy (
            originator_id uuid NOT NULL, version int NOT NULL, topic text NOT NULL,
            state bytea NOT NULL, PRIMARY KEY (originator_id, version))""")
        await conn.execute("TRUNCATE bench_raw_copy")
        started = time.monotonic()
        await conn.copy_records_to_table(
            "bench_raw_copy", records=records,
            columns=["originator_id", "version", "topic", "state"])
        return rows / (time.monotonic() - started)


async def run(b: Bench) -> None:
    plan = b.plan
    values: list[float] = []
    counts: list[int] = []
    phases: list[dict[str, float]] = []
    for rep in range(plan.reps):
        async with b.profiled("bench", "p4-rebuild", rep == 0):
            count, seconds, replay = await timed_rebuild(b)
        counts.append(count)
        phases.append({"seconds": seconds, "setup_and_replay_s": replay,
                       "access_and_swap_s": seconds - replay})
        values.append(count / seconds if seconds else 0.0)
        b.say(f"P4 rep {rep + 1}: {count:,} events in {seconds:.2f} s = {values[-1]:,.0f}/s")
    raw = [await raw_copy(b, max(counts[0], 10_000)) for _ in range(plan.reps)]
    b.say(f"P4 raw COPY: {', '.join(f'{v:,.0f}' for v in raw)} rows/s")
    b.rows.append(Row("P4", "rebuild read models", "events/s", values, raw,
                      "asyncpg COPY rows/s", "higher", Target("value", ">=", 30_000.0),
                      f"{counts[0]:,} events in the log"))
    details: dict[str, Any] = {"events": counts, "phases": phases}
    b.details["P4"] = details
