"""The fleets measured: one database per size and seed, written by the generator once and
kept with its read models, which are rebuilt (P4 at that size) only when needed."""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg
import psycopg
from psycopg import sql

from bench.fleet import seed_fleet
from services.access.eventlog.reader import EventLog, pooled
from services.access.projection.apply import read_position
from services.access.projection.rebuild import rebuild
from services.access.projection.records import ProjectionLog
from services.access.schedule.book_table import book_tables


def parse_size(text: str) -> int:
    """'100k' -> 100 000, '1m' -> 1 000 000, '2500' -> 2 500."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(size: int) -> str:
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{suffix}"
    return str(size)



def database_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def ensure_fleet(admin_url: str, size: int, seed: int, reseed: bool,
                 say: Callable[[str], None], workers: int = 1) -> tuple[str, float | None]:
    """The URL of a database holding the fleet of `size` events from `seed`, and the
    seconds writing it took (None: it was there from an earlier run)."""
    name = f"ca_growth_{size_label(size).lower()}_s{seed}"
    url = database_url(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (name,)).fetchone() is not None
        if exists and not reseed and _complete(url, size, seed):
            say(f"{size_label(size)}: reusing {name}")
            return url, None
        if exists:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    say(f"{size_label(size)}: writing a fleet of {size:,} events into {name} (seed {seed}, "
        f"{workers} worker{'s' if workers > 1 else ''})")
    started = time.monotonic()
    seed_fleet(url, size, seed, workers=workers)
    seconds = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_growth_seed (size bigint, seed bigint, seconds float)")
        conn.execute("INSERT INTO bench_growth_seed VALUES (%s, %s, %s)", (size, seed, seconds))
    return url, seconds


def _complete(url: str, size: int, seed: int) -> bool:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT size, seed FROM bench_growth_seed").fetchone()
    except psycopg.Error:
        return False
    return row == (size, seed)



async def rebuild_rate(url: str) -> tuple[int, float]:
    """P4 at this size: (events replayed, events/s) of a rebuild of the read models."""
    # As `make rebuild` has it: the replay, its reader, and the finish's second connection.
    pool = await asyncpg.create_pool(url, min_size=1, max_size=3)
    try:
        replayed = [0]

        def progress(_position: int, count: int) -> None:
            replayed[0] = count

        started = time.monotonic()
        await rebuild(pool, pooled(pool, ProjectionLog()), progress=progress)
        seconds = time.monotonic() - started
    finally:
        await pool.close()
    return replayed[0], replayed[0] / seconds if seconds else 0.0



async def log_size(url: str) -> int:
    """Events in the fleet's log, published or not (what the curves are drawn against)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM chargeraccess_events"))
    finally:
        await conn.close()


async def projected_to_head(url: str) -> bool:
    """Whether the fleet's read models are there and have applied its whole log (kept
    from an earlier run: a fleet's projection takes long, see docs/performance.md)."""
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('read.tracking')") is None:
            return False
        head = await EventLog().last_published(conn)  # internal events are not projected
        return bool(head) and await read_position(conn) >= head
    finally:
        await conn.close()


async def empty_share_book(url: str) -> bool:
    """Drop the scheduler's share book a system before on this fleet left (whether there
    was one): each size's catch-up then starts as on a fleet no system ran on, the
    scheduler folding the whole log (P6's heaviest start), not resuming from the book."""
    conn = await asyncpg.connect(url)
    try:
        shares, book = book_tables()
        had = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", book)
        await conn.execute(f"DROP TABLE IF EXISTS {shares}, {book}")
        return bool(had)
    finally:
        await conn.close()
