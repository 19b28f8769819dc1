"""A restarted notification service takes over at once what its predecessor had leased,
and only then: the predecessor must be gone (its advisory lock freed)."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.common.incarnation import Incarnation
from services.common.timeouts import wait_for
from services.notifications.ports import Claim
from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log.queue import SentLog
from tests.integration.notifications.sent_log import rows
from tests.integration.notifications.sent_log.rows import sent_log_pool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url(new_database: Any) -> str:
    """A database of this module's own: a test here leaves leased rows behind."""
    url: str = new_database()
    return url

KEYS = RecipientKeys(b"incarnation-test")

HOLDER = """
import asyncio, sys
from services.common.incarnation import Incarnation

async def main(url: str, name: str) -> None:
    incarnation = Incarnation(url, "notifications", name)
    assert await incarnation.begin()
    print("holding", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with sent_log_pool(database_url, KEYS) as pool:
        yield pool


def claim() -> Claim:
    return rows.claim(KEYS)


async def test_a_restarted_instance_takes_over_its_predecessors_leases_at_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    name = f"notifier-{uuid.uuid4().hex[:6]}"
    before = SentLog(pool, KEYS, owner=name, database_url=database_url)
    handed, unsent, others = claim(), claim(), claim()
    await before.claim([handed, unsent], lease_seconds=120.0)
    await SentLog(pool, KEYS, owner="someone-else").claim([others], lease_seconds=120.0)
    marks = before.hand_over_marks()
    await marks.ready()
    await marks.mark(handed.event_id, handed.recipient)
    await marks.close()

    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, database_url, name, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await wait_for(holder.stdout.readline(), 30) == b"holding\n"
    # While the predecessor runs, the name is not ours: nothing is taken over.
    impostor = Incarnation(database_url, "notifications", name, wait_seconds=0.5)
    assert not await impostor.begin()
    assert impostor.name != name
    assert impostor.group_instance_id is None  # a one-off name: a dynamic group member
    await impostor.end()

    holder.send_signal(signal.SIGKILL)
    await holder.wait()
    after = Incarnation(database_url, "notifications", name, wait_seconds=10.0)
    try:
        assert await after.begin()
        assert after.name == name
        assert after.group_instance_id == name  # static membership under a stable name
        successor = SentLog(pool, KEYS, owner=name)
        assert await successor.take_over(name) == 2
        assert await successor.settle_handed_over() == 1
        due = await successor.lease_due(10, 120.0)
        assert [(r.event_id, r.recipient) for r in due] == [(unsent.event_id, unsent.recipient)]
    finally:
        await after.end()


async def test_an_instance_without_a_name_is_a_dynamic_group_member(database_url: str) -> None:
    anonymous = Incarnation(database_url, "access", "")
    try:
        assert await anonymous.begin()
        assert anonymous.name.startswith("anonymous-")
        assert anonymous.group_instance_id is None
    finally:
        await anonymous.end()
