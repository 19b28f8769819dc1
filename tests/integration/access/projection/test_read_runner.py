"""The projection runner: follows the log, wakes on notify, survives failures, resumes."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence

import asyncpg
import pytest

from services.access.eventlog.values import LoggedEvent
from services.access.eventlog.watch import LogWatch
from services.access.projection.apply import apply, read_position
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import READ_MODELS_CHANNEL, create_schema
from services.common.timeouts import wait_for
from tests.unit.access.event_builders import ScriptedLog

pytestmark = pytest.mark.integration

TABLES = ["users", "groups", "group_members", "chargers", "shares", "invitations", "access"]


def busy_log(users: int = 30, chargers: int = 20, churn: int = 300) -> list[LoggedEvent]:
    """A log where order matters: shares granted, revoked and granted again, members moving."""
    rng = random.Random(7)
    log = ScriptedLog()
    people = [log.user() for _ in range(users)]
    fleet = log.group(people[0])
    boxes = [
        log.charger(rng.choice(people[:5]), rng.choice([fleet, None])) for _ in range(chargers)
    ]
    for _ in range(churn):
        charger, person = rng.choice(boxes), rng.choice(people)
        roll = rng.random()
        if roll < 0.5:
            log.grant(charger, person, rng.choice(["charge", "manage"]))
        elif roll < 0.97:
            log.revoke(charger, person)
        else:
            log.member(fleet, rng.choice(people[:40]), rng.choice(["member", "admin"]))
    return log.take()


def reader(events: list[LoggedEvent], redeliver: int = 0):
    async def read(after: int, limit: int) -> Sequence[LoggedEvent]:
        start = max(0, after - redeliver)  # a restarted reader may hand back old events
        return [e for e in events if e.position > start][:limit]

    return read


async def snapshot(db: asyncpg.Connection, schema: str) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: [
            tuple(r.values()) for r in await db.fetch(f'SELECT * FROM "{schema}".{t} ORDER BY 1, 2')
        ]
        for t in TABLES
    }


@pytest.fixture
async def reference(db: asyncpg.Connection):
    """A second schema, to build the expected state with one big apply."""
    name = f"read_ref_{uuid.uuid4().hex[:12]}"
    await create_schema(db, name)
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


async def test_killed_mid_stream_resumes_without_skipping_or_double_applying(
    db, pool, schema, reference
):
    events = busy_log()
    await apply(db, events, reference)

    first = ProjectionRunner(pool, reader(events), schema=schema, batch_size=7, poll_interval=0.01)
    first.start()
    assert await first.wait_for(events[len(events) // 3].position, timeout=10)
    await first.stop()  # killed, possibly inside a transaction: that batch rolls back
    stopped_at = await read_position(db, schema)
    assert 0 < stopped_at < events[-1].position

    second = ProjectionRunner(pool, reader(events, redeliver=5), schema=schema, batch_size=11)
    assert await second.catch_up() == events[-1].position
    assert await snapshot(db, schema) == await snapshot(db, reference)


async def test_runner_wakes_on_notify_instead_of_waiting_for_the_poll(pool, schema):
    log = ScriptedLog()
    events: list[LoggedEvent] = []
    runner = ProjectionRunner(pool, reader(events), schema=schema, poll_interval=30)
    runner.start()
    try:
        await asyncio.sleep(0.05)
        log.user()
        events.extend(log.take())
        runner.wake.set()
        assert await runner.wait_for(events[-1].position, timeout=2)
    finally:
        await runner.stop()


async def test_runner_survives_failing_reads_and_catches_up(pool, schema):
    log = ScriptedLog()
    log.user()
    events = log.take()
    failures = 2

    async def flaky(after: int, limit: int) -> Sequence[LoggedEvent]:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("store unreachable")
        return [e for e in events if e.position > after][:limit]

    runner = ProjectionRunner(pool, flaky, schema=schema, poll_interval=0.01, max_backoff=0.2)
    runner.start()
    try:
        assert await runner.wait_for(events[-1].position, timeout=5)
        assert failures == 0
        assert not runner.stalled()
    finally:
        await runner.stop()


async def test_wait_for_times_out_when_the_log_has_nothing_new(pool, schema):
    runner = ProjectionRunner(pool, reader([]), schema=schema, poll_interval=0.01)
    runner.start()
    try:
        assert not await runner.wait_for(5, timeout=0.1)
        assert runner.position == 0
    finally:
        await runner.stop()


async def test_a_batch_applied_to_the_read_models_wakes_their_followers_elsewhere(
    new_database,
):
    """The local lists may follow the read models from another process (`ACCESS_ROLE`):
    each batch committed to the read schema NOTIFYs them; a rebuild's staging schema and
    the store's channel stay quiet."""
    url = new_database()
    conn = await asyncpg.connect(url)
    staging = f"read_staging_{uuid.uuid4().hex[:8]}"
    try:
        await create_schema(conn)
        await create_schema(conn, staging)
        woken, store_woken = asyncio.Event(), asyncio.Event()
        watch = LogWatch(url)
        watch.wake(woken.set, READ_MODELS_CHANNEL)
        watch.wake(store_woken.set)
        await watch.start()
        try:
            await wait_for(woken.wait(), 10)  # once on connecting
            await wait_for(store_woken.wait(), 10)
            woken.clear()
            store_woken.clear()
            events = busy_log()
            await apply(conn, events, staging)
            await asyncio.sleep(0.3)
            assert not woken.is_set(), "a staging schema's batch woke the read models' followers"

            await apply(conn, events[:40])
            await wait_for(woken.wait(), 10)

            assert not store_woken.is_set()
        finally:
            await watch.stop()
    finally:
        await conn.close()
