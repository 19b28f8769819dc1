"""The write ceiling the store's table lock sets, measured (for docs/scaling.md).

The recorder takes `LOCK TABLE … IN EXCLUSIVE MODE` in every transaction that inserts
events (so notification ids follow commit order) and holds it to the commit. Writers
therefore commit one at a time however many there are: the ceiling is batches per
second of ONE writer, times the batch size. This measures it in a database of its own:
transactions of `batch` event-shaped rows (300 B) over `writers` connections, with the
lock and without it, each for `seconds`. `python -m bench.lock_ceiling` prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import asyncpg

from harness.database import Database

TABLE = """CREATE TABLE events (id bigserial PRIMARY KEY, originator_id uuid NOT NULL,
           version int NOT NULL, topic text NOT NULL, state bytea NOT NULL)"""
INSERT = """INSERT INTO events (originator_id, version, topic, state)
            SELECT gen_random_uuid(), 1, 'bench', $1::bytea FROM generate_series(1, $2)"""


async def rows_per_second(url: str, writers: int, batch: int, seconds: float, lock: bool) -> float:
    pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
    state = os.urandom(300)
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                async with conn.transaction():
                    if lock:
                        await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                    await conn.execute(INSERT, state, batch)
                done += batch

    started = time.perf_counter()
    try:
        await asyncio.gather(*(writer() for _ in range(writers)))
    finally:
        await pool.close()
    return done / (time.perf_counter() - started)


async def measure(
    url: str, writers: int, batches: list[int], seconds: float
) -> list[dict[str, int | bool]]:
    conn = await asyncpg.connect(url)
    await conn.execute(TABLE)
    await conn.close()
    found = []
    for batch in batches:
        for lock in (True, False):
            for n in (1, writers):
                rate = await rows_per_second(url, n, batch, seconds, lock)
                found.append(
                    {
                        "batch": batch,
                        "writers": n,
                        "lock": lock,
                        "rows_per_s": round(rate),
                        "commits_per_s": round(rate / batch),
                    }
                )
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--batches", default="1,20")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    database = Database(prefix="ca_lock_ceiling")
    url = database.create(Path(tempfile.mkdtemp(prefix="lock-ceiling-")))  # logs: own cluster only
    try:
        batches = [int(b) for b in args.batches.split(",")]
        for line in asyncio.run(measure(url, args.writers, batches, args.seconds)):
            print(json.dumps(line))
    finally:
        database.drop()


if __name__ == "__main__":
    main()
