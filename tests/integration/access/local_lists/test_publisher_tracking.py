"""The local-list publisher's bookkeeping against real PostgreSQL: it records how far it got
only after every send of a batch was acknowledged, resumes from there after a restart, and
a rewind publishes every version again under the same CloudEvent ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.access.eventlog.reader import pooled
from services.access.local_lists.publisher import LocalListPublisher
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import create_schema
from tests.integration.access.time_bound import Writes

pytestmark = pytest.mark.integration


class Broker:
    """Records what is handed to it; `fail` makes the broker refuse the next acks."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = False

    async def publish(self, body: bytes, topic: str, *, key: bytes, no_confirm: bool,
                      headers: dict[str, str], correlation_id: str) -> asyncio.Future[None]:
        assert no_confirm
        assert headers == {"content-type": "application/cloudevents+json"}
        event = json.loads(body)
        assert key.decode() == event["subject"]
        assert correlation_id == event["id"]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(OSError("broker gone"))
        else:
            self.sent.append(event)
            future.set_result(None)
        return future


@pytest.fixture
async def live(new_database: Any) -> AsyncIterator[tuple[Writes, ProjectionRunner, asyncpg.Pool]]:
    url: str = new_database()
    writes = Writes(url)
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
        async with pool.acquire() as conn:
            await create_schema(conn, "read")
        yield writes, ProjectionRunner(pool, pooled(pool, ProjectionLog())), pool
    writes.store.close()


def versions(broker: Broker) -> list[tuple[str, int]]:
    return [(e["subject"], e["data"]["version"]) for e in broker.sent]


async def test_resumes_after_the_last_acknowledged_batch(live):
    w, runner, pool = live
    owner = w.user()
    chargers = [w.charger(owner) for _ in range(3)]
    for n in range(3):
        w.ok("AddChargeKey", owner, key_id=uuid4(), user_id=owner, id_token=f"tok{n}")
    await runner.catch_up()
    rows = await pool.fetch("SELECT charger_id, version FROM read.local_list_versions "
                            "ORDER BY position, charger_id, version")
    expected = [(str(r["charger_id"]), r["version"]) for r in rows]
    assert len(expected) == 3 * 4
    assert {UUID(c) for c, _ in expected} == set(chargers)

    broker = Broker()
    first = LocalListPublisher(pool, broker, "t", batch_size=5)  # type: ignore[arg-type]
    await first.setup()
    assert await first.publish_next() == 5
    broker.fail = True
    with pytest.raises(OSError, match="broker gone"):
        await first.publish_next()
    assert versions(broker) == expected[:5], "nothing of the refused batch was recorded"

    broker.fail = False
    second = LocalListPublisher(pool, broker, "t", batch_size=5)  # type: ignore[arg-type]
    await second.setup()
    while await second.publish_next():
        pass
    assert versions(broker) == expected, "resumed where the acknowledged sends ended"

    w.ok("AddChargeKey", owner, key_id=uuid4(), user_id=owner, id_token="late")
    await runner.catch_up()
    assert await second.publish_next() == 3
    ids = [e["id"] for e in broker.sent]
    await second.rewind()
    while await second.publish_next():
        pass
    assert [e["id"] for e in broker.sent[len(ids):]] == ids, "the same events, the same ids"
