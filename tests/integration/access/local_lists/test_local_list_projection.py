"""Local lists' read model against the real store and PostgreSQL: a version per command
that changes a list's content, none otherwise, entries for every key of every user with
access in effect as the log has it, and `rebuild --check` equal however the live
projection was batched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.access.audit.rebuild_check import check_rebuild
from services.access.eventlog.reader import pooled
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import create_schema
from tests.integration.access.time_bound import Writes

pytestmark = pytest.mark.integration


@pytest.fixture
async def live(new_database: Any) -> AsyncIterator[tuple[Writes, ProjectionRunner, asyncpg.Pool]]:
    url: str = new_database()
    writes = Writes(url)
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
        async with pool.acquire() as conn:
            await create_schema(conn, "read")
        # One event per batch: the opposite of a rebuild's batches.
        runner = ProjectionRunner(pool, pooled(pool, ProjectionLog()), batch_size=1)
        yield writes, runner, pool
    writes.store.close()


def key(w: Writes, actor: UUID, user: UUID, token: str, type_: str = "ISO14443") -> UUID:
    key_id = uuid4()
    w.ok("AddChargeKey", actor, key_id=key_id, user_id=user, id_token=token, type=type_)
    return key_id


async def versions(pool: asyncpg.Pool, charger: UUID) -> list[int]:
    rows = await pool.fetch("SELECT version FROM read.local_list_versions WHERE charger_id = $1 "
                            "ORDER BY version", charger)
    return [r["version"] for r in rows]


async def token(pool: asyncpg.Pool, key_id: UUID) -> tuple[str, str]:
    """The key as the charge_keys read model holds it (what a list entry must name)."""
    row = await pool.fetchrow("SELECT id_token, type FROM read.charge_keys WHERE key_id = $1",
                              key_id)
    return row["id_token"], row["type"]


async def full(pool: asyncpg.Pool, charger: UUID) -> dict[tuple[str, str], dict[str, Any]]:
    rows = await pool.fetch("SELECT id_token, type, info FROM read.local_list_entries "
                            "WHERE charger_id = $1 AND removed_in IS NULL", charger)
    return {(r["id_token"], r["type"]): json.loads(r["info"]) for r in rows}


async def test_versions_follow_the_content_and_rebuild_identically(live):
    w, runner, pool = live
    owner, guest, other = w.user(), w.user(), w.user()
    owner_key = key(w, owner, owner, "own1")
    charger = w.charger(owner)
    await runner.catch_up()
    own1 = await token(pool, owner_key)
    assert await versions(pool, charger) == [1]
    assert await full(pool, charger) == {own1: {"status": "Accepted"}}

    guest_key = key(w, guest, guest, "guest1", "KeyCode")
    other_key = key(w, other, other, "other1")
    await runner.catch_up()
    guest1, other1 = await token(pool, guest_key), await token(pool, other_key)
    assert await versions(pool, charger) == [1], "keys of users without access change nothing"

    w.share(owner, guest, [charger])
    await runner.catch_up()
    assert await versions(pool, charger) == [1, 2]
    assert guest1 in await full(pool, charger)

    w.ok("BlockChargeKey", guest, key_id=guest_key)
    await runner.catch_up()
    assert (await full(pool, charger))[guest1] == {"status": "Blocked"}
    w.ok("BlockChargeKey", guest, key_id=guest_key)  # accepted, no event: no version
    await runner.catch_up()
    assert await versions(pool, charger) == [1, 2, 3]

    group = w.group(owner, members=[other])
    charger2 = w.charger(owner, group)
    await runner.catch_up()
    assert set(await full(pool, charger2)) == {own1, other1}
    w.ok("RemoveGroupMember", owner, group_id=group, user_id=other)
    w.ok("RemoveChargeKey", guest, key_id=guest_key)
    await runner.catch_up()
    assert set(await full(pool, charger2)) == {own1}
    assert set(await full(pool, charger)) == {own1}

    end = w.now + timedelta(hours=3)
    w.share_in(owner, other, [charger], valid_until=end)
    await runner.catch_up()
    expiry = (await full(pool, charger))[other1]
    assert expiry == {"status": "Accepted", "expiry": end.isoformat().replace("+00:00", "Z")}
    assert w.mark(charger, other, end + timedelta(minutes=1)) == ["ShareWentOutOfEffect"]
    await runner.catch_up()
    assert other1 not in await full(pool, charger)

    report = await check_rebuild(pool)
    assert report.ok, report.as_json()
    assert {t.table for t in report.tables} >= {"local_list_versions", "local_list_entries"}
