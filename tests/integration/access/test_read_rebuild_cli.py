"""`access-rebuild` over a store the real write side filled with every event type: the
rebuild swaps in tables equal to the live ones, `--check` finds a tampered row and names
it, and the installed console script does the same from DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from services.access.eventlog.reader import EventLog, pooled
from services.access.projection.apply import read_position
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import create_schema
from services.access.rebuild_cli import run_check, run_rebuild

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


async def live_projection(url: str, schema: str) -> int:
    """Project the store the way the service does: many small batches, access incremental."""
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        async with pool.acquire() as conn:
            await create_schema(conn, schema)
        return await ProjectionRunner(pool, pooled(pool, EventLog()), schema=schema,
                                      batch_size=3).catch_up()


async def published(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [e.position for e in await EventLog().read(conn, 0, 100_000)]
    finally:
        await conn.close()


async def test_rebuild_swaps_in_tables_equal_to_the_live_ones(every_event_store: str) -> None:
    url, schema = every_event_store, "read_cli_a"
    live_position = await live_projection(url, schema)
    positions = await published(url)
    assert live_position == positions[-1]

    before = await run_check(url, schema=schema)
    assert before.ok, before.as_json()
    progress: list[tuple[int, int]] = []
    done = await run_rebuild(url, schema=schema, batch_size=7, progress=lambda p, n: progress.append((p, n)))

    assert done.position == live_position
    assert progress[-1] == (live_position, done.events)
    assert done.events == len(positions)
    conn = await asyncpg.connect(url)
    try:
        assert await read_position(conn, schema) == live_position
        history = await conn.fetchval(f"SELECT count(*) FROM {schema}.charger_history")
        assert history > 0
    finally:
        await conn.close()
    after = await run_check(url, schema=schema)
    assert after.ok, after.as_json()
    assert [t.live_digest for t in after.tables] == [t.live_digest for t in before.tables]


async def test_check_names_the_rows_that_differ_and_changes_nothing(every_event_store: str) -> None:
    url, schema = every_event_store, "read_cli_b"
    await live_projection(url, schema)
    conn = await asyncpg.connect(url)
    try:
        target = await conn.fetchrow(f"SELECT user_id, charger_id FROM {schema}.access ORDER BY 1, 2 LIMIT 1")
        changed = await conn.fetchval(
            f"UPDATE {schema}.access SET level = 'tampered' WHERE user_id = $1 AND charger_id = $2 "
            f"RETURNING user_id", target["user_id"], target["charger_id"])
        await conn.execute(f"DELETE FROM {schema}.users WHERE user_id = (SELECT user_id FROM {schema}.users ORDER BY user_id LIMIT 1)")
        report = await run_check(url, schema=schema)
        # Nothing swapped: the tampered rows are still live.
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.access WHERE user_id = $1 AND level = 'tampered'", changed) == 1
    finally:
        await conn.close()

    assert not report.ok
    by_table = {t.table: t for t in report.tables}
    assert {name for name, t in by_table.items() if not t.equal} == {"access", "users"}
    access = by_table["access"]
    assert access.live_digest != access.rebuilt_digest
    assert len(access.only_live) == 1
    assert str(changed) in access.only_live[0]
    assert "tampered" in access.only_live[0]
    assert len(access.only_rebuilt) == 1
    assert str(changed) in access.only_rebuilt[0]
    users = by_table["users"]
    assert users.rebuilt_rows == users.live_rows + 1
    assert len(users.only_rebuilt) == 1
    assert users.only_live == []


def test_console_script_checks_and_rebuilds_from_database_url(every_event_store: str) -> None:
    import asyncio

    url, schema = every_event_store, "read_cli_c"
    position = asyncio.run(live_projection(url, schema))
    env = {**os.environ, "DATABASE_URL": url}

    check = subprocess.run([str(BIN / "access-rebuild"), "--check", "--json", "--schema", schema],
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["ok"] is True
    assert report["position"] == position

    rebuilt = subprocess.run([str(BIN / "access-rebuild"), "--schema", schema],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"up to position {position}" in rebuilt.stdout
    assert "events/s" in rebuilt.stdout

    async def tamper() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"UPDATE {schema}.chargers SET connected = NOT connected")
        finally:
            await conn.close()

    asyncio.run(tamper())
    differs = subprocess.run([str(BIN / "access-rebuild"), "--check", "--schema", schema],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    assert differs.returncode == 1
    assert "chargers" in differs.stdout
    assert "DIFFERENT" in differs.stdout
    assert "only live:" in differs.stdout
