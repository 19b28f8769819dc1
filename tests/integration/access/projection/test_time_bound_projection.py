"""The read models of time-bound shares against the real store and PostgreSQL: boundary
events set a share's `in_effect` and join the charger's history, access rows mark their
time-bound reasons, `rebuild --check` is equal after boundary events, and a database
created before windows gains the columns at its next start."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.access.audit.rebuild_check import check_rebuild
from services.access.domain.instants import rfc3339
from services.access.projection.schema import create_schema
from tests.integration.access.time_bound import ReadSide, Writes, read_side
from tests.schedules import WEEKEND

pytestmark = pytest.mark.integration


@pytest.fixture
async def both(new_database: Any) -> AsyncIterator[tuple[Writes, ReadSide, asyncpg.Pool]]:
    url: str = new_database()
    writes = Writes(url)
    async with (asyncpg.create_pool(url, min_size=1, max_size=4) as pool,
                read_side(pool, "read") as read):
        yield writes, read, pool
    writes.store.close()


async def test_boundary_events_set_the_share_in_effect_and_join_the_history(both):
    w, read, pool = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    granted_at = w.now
    start, end = w.now + timedelta(hours=1), w.now + timedelta(hours=2)
    w.share_in(owner, guest, [charger], valid_from=start, valid_until=end)
    await read.sync()
    share = "SELECT in_effect, effect_at FROM read.shares WHERE charger_id = $1 AND user_id = $2"
    assert tuple(await pool.fetchrow(share, charger, guest)) == (False, granted_at)

    assert w.mark(charger, guest, start + timedelta(minutes=1)) == ["ShareCameIntoEffect"]
    await read.sync()
    assert tuple(await pool.fetchrow(share, charger, guest)) == (True, start)

    assert w.mark(charger, guest, end + timedelta(minutes=1)) == ["ShareWentOutOfEffect"]
    await read.sync()
    assert tuple(await pool.fetchrow(share, charger, guest)) == (False, end)

    rows = await pool.fetch("SELECT type, details FROM read.charger_history "
                            "WHERE charger_id = $1 ORDER BY position", charger)
    boundaries = [(r["type"], json.loads(r["details"])) for r in rows
                  if r["type"].startswith("Share")]
    assert boundaries == [
        ("ShareCameIntoEffect", {"user_id": str(guest), "level": "charge",
                                 "at": start.isoformat()}),
        ("ShareWentOutOfEffect", {"user_id": str(guest), "level": "charge",
                                  "at": end.isoformat(), "ended": True}),
    ]
    granted = next(json.loads(r["details"]) for r in rows if r["type"] == "AccessGranted")
    assert (granted["valid_from"], granted["valid_until"]) == (rfc3339(start), rfc3339(end))


async def test_access_rows_keep_the_standing_level_apart_from_time_bound_reasons(both):
    w, read, pool = both
    owner, member, guest, plain = w.user(), w.user(), w.user(), w.user()
    fleet = w.group(owner, members=[member])
    charger = w.charger(owner, fleet)
    w.share_in(owner, member, [charger], "manage", schedule=WEEKEND)
    w.share_in(owner, guest, [charger], valid_until=w.now + timedelta(days=1))
    w.share_in(owner, plain, [charger])
    await read.sync()
    rows = await pool.fetch("SELECT user_id, level, standing_level, timebound FROM read.access "
                            "WHERE charger_id = $1", charger)
    assert {r["user_id"]: tuple(r)[1:] for r in rows} == {
        owner: ("manage", "manage", False),
        member: ("manage", "charge", True),
        guest: ("charge", None, True),
        plain: ("charge", "charge", False),
    }

    w.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], level="charge")
    await read.sync()  # the update sets the window exactly: none, so permanent
    row = await pool.fetchrow("SELECT standing_level, timebound, why FROM read.access "
                              "WHERE charger_id = $1 AND user_id = $2", charger, guest)
    assert (row["standing_level"], row["timebound"]) == ("charge", False)
    assert "valid_until" not in json.loads(row["why"])[0]


async def test_rebuild_check_is_equal_after_boundary_events(both):
    w, read, pool = both
    owner, guest, weekender, member = w.user(), w.user(), w.user(), w.user()
    fleet = w.group(owner, members=[member])
    charger, other = w.charger(owner, fleet), w.charger(owner)
    start, end = w.now + timedelta(hours=1), w.now + timedelta(days=3)
    w.share_in(owner, guest, [charger, other], valid_from=start, valid_until=end)
    w.share_in(owner, weekender, [charger], schedule=WEEKEND, valid_until=end + timedelta(days=7))
    w.share_in(owner, member, [charger], "manage", valid_from=start)
    pending = uuid4()
    w.ok("InviteUser", owner, invitation_id=pending, email="later@example.com",
         charger_ids=[other], level="charge", valid_until=end, schedule=WEEKEND)
    w.ok("ResendInvitation", owner, invitation_id=pending)  # resent with its window
    await read.sync()
    w.now = end + timedelta(days=8)
    for charger_id, user in ((charger, guest), (other, guest), (charger, weekender),
                             (charger, member)):
        w.mark(charger_id, user, w.now)
    assert w.mark(charger, guest, w.now) == []  # nothing due twice
    late = w.run("ResendInvitation", owner, invitation_id=pending)
    assert (late.status, late.reason) == ("rejected", "invalid")  # its window has ended
    await read.sync()
    boundaries = await pool.fetchval("SELECT count(*) FROM read.charger_history "
                                     "WHERE type LIKE 'ShareWentOutOfEffect'")
    assert boundaries >= 4  # each share's end, and the weekender's weekends

    report = await check_rebuild(pool, live="read")
    assert report.ok, report.as_json()
    assert {t.table for t in report.tables} >= {"shares", "access", "invitations"}


async def test_a_database_created_before_windows_gains_the_columns(new_database):
    url: str = new_database()
    conn = await asyncpg.connect(url)
    try:
        await create_schema(conn, "old")
        for table, column in (("shares", "valid_from"), ("shares", "valid_until"),
                              ("shares", "schedule"), ("shares", "in_effect"),
                              ("shares", "effect_at"), ("invitations", "valid_from"),
                              ("invitations", "valid_until"), ("invitations", "schedule"),
                              ("access", "standing_level"), ("access", "timebound")):
            await conn.execute(f"ALTER TABLE old.{table} DROP COLUMN {column}")
        await conn.execute("INSERT INTO old.access (user_id, charger_id, level, why) VALUES "
                           "(gen_random_uuid(), gen_random_uuid(), 'charge', '[]')")

        await create_schema(conn, "old")  # the next start
        await create_schema(conn, "old")  # and the one after: nothing more to do
        row = await conn.fetchrow("SELECT level, standing_level, timebound FROM old.access")
        assert tuple(row) == ("charge", "charge", False)
        columns = await conn.fetch("SELECT table_name, column_name FROM "
                                   "information_schema.columns WHERE table_schema = 'old'")
        fresh = await conn.fetch("SELECT table_name, column_name FROM "
                                 "information_schema.columns WHERE table_schema = 'read_new'")
        assert fresh == []
        await create_schema(conn, "read_new")
        fresh = await conn.fetch("SELECT table_name, column_name FROM "
                                 "information_schema.columns WHERE table_schema = 'read_new'")
        assert {tuple(c) for c in columns} == {tuple(c) for c in fresh}
    finally:
        await conn.close()
