"""Reading the stored log for auditors: every row (published or internal) with its chain link.

Rows are read a page at a time (keyset pages in one snapshot), so neither an export of millions of
events nor a full replay ever holds the log in memory. Published rows are decoded into
the envelopes of `access.events`; internal ones (uniqueness claims, bookkeeping) stay raw.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from charger_access_client.envelope import EventEnvelope
from services.access.eventlog.reader import EventLog
from services.access.eventlog.topics import PUBLISHED_TOPICS
from services.access.eventlog.values import LoggedEvent
from services.access.projection.sql import Connection
from services.access.store.application import EVENTS_TABLE
from services.access.store.chain import CHAIN_TABLE

BATCH = 1000

# The full join shows an event without its link and a link without its event alike.
_SIDE = "notification_id > $1 AND ($2::bigint IS NULL OR notification_id <= $2)"
# A page of each side, then the union's first page: a position on that page is on both
# sides' pages if it is stored on both (each side has at most a page of rows up to it).
_ROWS = f"""
    SELECT notification_id AS position, e.originator_id, e.originator_version, e.topic,
           e.state, c.hash
    FROM (SELECT * FROM {EVENTS_TABLE} WHERE {_SIDE} ORDER BY notification_id LIMIT $3) e
    FULL JOIN (SELECT * FROM {CHAIN_TABLE} WHERE {_SIDE} ORDER BY notification_id LIMIT $3) c
        USING (notification_id)
    ORDER BY notification_id LIMIT $3"""  # noqa: S608 - table names are constants
_HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"  # noqa: S608
_FIRST_EVENT = f"""
    SELECT notification_id, originator_id, originator_version, topic, state
    FROM {EVENTS_TABLE} WHERE originator_id = $1 AND originator_version = 1"""  # noqa: S608


@dataclass(frozen=True)
class StoredRow:
    """One row of the store, as `verify` and `export` see it. Either side may be missing."""

    position: int
    originator_id: UUID | None
    originator_version: int | None
    topic: str | None
    state: bytes | None
    hash: bytes | None

    @property
    def published(self) -> bool:
        return self.topic in _PUBLISHED_SET


_PUBLISHED_SET = frozenset(PUBLISHED_TOPICS)


@cache
def _event_log() -> EventLog:
    return EventLog()


def _row(record: Any) -> StoredRow:
    state, digest = record["state"], record["hash"]
    return StoredRow(record["position"], record["originator_id"], record["originator_version"],
                     record["topic"], None if state is None else bytes(state),
                     None if digest is None else bytes(digest))


async def stored_batches(
    conn: Connection, first: int = 0, last: int | None = None, batch: int = BATCH
) -> AsyncIterator[list[StoredRow]]:
    """Every stored position from `first` to `last` (inclusive), in order, a page at a time.

    One repeatable-read snapshot for the whole walk: events committed meanwhile are not
    half-seen.
    """
    after = max(first - 1, 0)
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        while records := await conn.fetch(_ROWS, after, last, batch):
            rows = [_row(r) for r in records]
            yield rows
            after = rows[-1].position


async def stored_rows(
    conn: Connection, first: int = 0, last: int | None = None, batch: int = BATCH
) -> AsyncIterator[StoredRow]:
    async for rows in stored_batches(conn, first, last, batch):
        for row in rows:
            yield row


async def published_events(conn: Connection,
                           batch: int = BATCH) -> AsyncGenerator[EventEnvelope, None]:
    """Every published event as its envelope (as `access.events` has it), in store order."""
    log, after = _event_log(), 0
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        while events := await log.read(conn, after, batch):
            for event in events:
                yield event.envelope
            after = events[-1].position


async def published_after(conn: Connection, position: int) -> LoggedEvent | None:
    """The first published event past `position`, if any."""
    events = await _event_log().read(conn, position, 1)
    return events[0] if events else None


async def envelopes_of(conn: Connection, rows: list[StoredRow]) -> dict[int, EventEnvelope]:
    """The published envelopes of a page of rows, by position (read as the relay reads)."""
    if not rows:
        return {}
    first, last = rows[0].position, rows[-1].position
    events = await _event_log().read(conn, first - 1, len(rows))
    return {e.position: e.envelope for e in events if e.position <= last}


async def head(conn: Connection) -> int:
    """The highest stored position (0 for an empty store)."""
    return int(await conn.fetchval(_HEAD))


async def first_event(conn: Connection, aggregate_id: str) -> EventEnvelope | None:
    """The event that created an aggregate (e.g. a user's registration), if stored."""
    try:
        key = UUID(aggregate_id)
    except ValueError:
        return None
    record = await conn.fetchrow(_FIRST_EVENT, key)
    if record is None or record["topic"] not in _PUBLISHED_SET:
        return None
    events = await _event_log().read(conn, record["notification_id"] - 1, 1)
    return events[0].envelope if events else None


_LINK_BEFORE = f"""
    SELECT hash FROM {CHAIN_TABLE} WHERE notification_id < $1
    ORDER BY notification_id DESC LIMIT 1"""  # noqa: S608


async def link_before(conn: Connection, position: int) -> bytes | None:
    """The stored chain link just before `position` (None at the start of the log)."""
    value = await conn.fetchval(_LINK_BEFORE, position)
    return None if value is None else bytes(value)


_LINK_AT = f"SELECT hash FROM {CHAIN_TABLE} WHERE notification_id = $1"  # noqa: S608


async def link_at(conn: Connection, position: int) -> bytes | None:
    """The stored chain link of `position` (None when the chain has no such row)."""
    value = await conn.fetchval(_LINK_AT, position)
    return None if value is None else bytes(value)
