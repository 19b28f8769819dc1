"""A stored personal value that does not authenticate is an error for every reader of the
log — the relay's and the projection's — logged and on /metrics, never a pseudonym.

Each test changes one stored row inside a transaction it rolls back, so the module's store
stays intact for the others.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pytest

from services.access.eventlog.reader import EventLog
from services.access.metrics import AccessMetrics
from services.access.projection.records import ProjectionLog
from services.access.store.personal.sealing import CORRUPT, CorruptPersonalDataError

pytestmark = pytest.mark.integration

_SEALED = re.compile(rb'"email":"pii:v1:[0-9a-f]{32}:([A-Za-z0-9+/=]+)"')


@dataclass
class Projection:
    position: int = 0


@pytest.fixture
async def conn(every_event_store: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(every_event_store)
    try:
        yield connection
    finally:
        await connection.close()


async def _corrupt_a_registration(conn: asyncpg.Connection) -> int:
    """Flip one bit of a UserRegistered's sealed e-mail; its position."""
    row = await conn.fetchrow(
        "SELECT notification_id, state FROM chargeraccess_events "
        "WHERE topic LIKE '%User.UserRegistered' ORDER BY notification_id LIMIT 1")
    assert row is not None
    state = bytes(row["state"])
    match = _SEALED.search(state)
    assert match is not None
    raw = bytearray(base64.b64decode(match[1]))
    raw[20] ^= 0x01
    changed = state[:match.start(1)] + base64.b64encode(bytes(raw)) + state[match.end(1):]
    await conn.execute("UPDATE chargeraccess_events SET state = $1 WHERE notification_id = $2",
                       changed, row["notification_id"])
    return int(row["notification_id"])


@asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[None]:
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield
    finally:
        await transaction.rollback()


async def test_the_relays_reader_raises_on_corrupt_ciphertext_and_counts_it(
        conn: asyncpg.Connection) -> None:
    before = CORRUPT.count
    async with rolled_back(conn):
        position = await _corrupt_a_registration(conn)
        with pytest.raises(CorruptPersonalDataError):
            await EventLog().read(conn, position - 1, 1)
    assert CORRUPT.count == before + 1
    metrics = await AccessMetrics(Projection(), corrupt=CORRUPT).render()
    assert f"access_personal_data_corrupt_total {CORRUPT.count}" in metrics.splitlines()
    # Rolled back: the same row reads again, with its e-mail.
    [event] = await EventLog().read(conn, position - 1, 1)
    assert "@" in event.envelope.data["email"]


async def test_the_projections_reader_raises_on_corrupt_ciphertext(
        conn: asyncpg.Connection) -> None:
    before = CORRUPT.count
    async with rolled_back(conn):
        position = await _corrupt_a_registration(conn)
        with pytest.raises(CorruptPersonalDataError):
            await ProjectionLog().read(conn, position - 1, 1)
    assert CORRUPT.count == before + 1
