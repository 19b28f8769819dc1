"""The query API's position in front of a replica: read from the tracking row of the
database it reads, waiting for a position the projection has not committed yet."""

from __future__ import annotations

import asyncio

import asyncpg

from services.access.api.tracked_position import TrackedPosition
from services.access.projection.schema import PROJECTION_NAME


async def set_tracking(db: asyncpg.Connection, schema: str, position: int) -> None:
    await db.execute(f'UPDATE "{schema}".tracking SET position = $2 WHERE projection = $1',
                     PROJECTION_NAME, position)


async def test_waits_until_the_tracking_row_reaches_the_position(
        db: asyncpg.Connection, pool: asyncpg.Pool, schema: str) -> None:
    position = TrackedPosition(pool, schema=schema, idle_interval=10.0)
    position.start()
    try:
        await set_tracking(db, schema, 7)
        waiting = asyncio.create_task(position.wait_for(12, 10.0))
        await asyncio.sleep(0.2)
        assert not waiting.done(), "answered before the tracking row showed 12"
        assert position.position == 7
        await set_tracking(db, schema, 12)
        assert await waiting is True
        assert position.position == 12
    finally:
        await position.stop()


async def test_gives_up_after_the_timeout_at_the_position_it_has(
        db: asyncpg.Connection, pool: asyncpg.Pool, schema: str) -> None:
    position = TrackedPosition(pool, schema=schema)
    position.start()
    try:
        await set_tracking(db, schema, 3)
        assert await position.wait_for(4, 0.3) is False
        assert position.position == 3
        assert await position.wait_for(3, 0.3) is True
    finally:
        await position.stop()


async def test_never_goes_back(db: asyncpg.Connection, pool: asyncpg.Pool,
                               schema: str) -> None:
    """Like the projection runner's, the position only moves forward: no answer carries
    a lower position than one answered before it."""
    position = TrackedPosition(pool, schema=schema)
    await set_tracking(db, schema, 9)
    assert await position.refresh() == 9
    await set_tracking(db, schema, 4)
    assert await position.refresh() == 9
