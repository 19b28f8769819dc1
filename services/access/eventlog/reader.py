"""Reading the event store's notification log as published events, in store order.

The relay and the projection both follow this log; neither is ever written to from the
command path, so there is no dual write. Positions are the store's notification ids,
which the store hands out in commit order (it locks the table for each insert), so a
reader that has seen position N will never later find a committed event below N.

Only published event types are read: positions are therefore sparse (the gaps are
internal bookkeeping events such as uniqueness claims). Command results report the
position of the command's last *published* event, so a reader that has applied it has
applied everything the command did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from services.access.eventlog.fast import decode_fast
from services.access.eventlog.topics import PUBLISHED_TOPICS
from services.access.eventlog.translation import decode_with_mapper
from services.access.eventlog.unsealing import unsealed
from services.access.eventlog.values import LoggedEvent
from services.access.store.application import EVENTS_TABLE

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]


class EventLog:
    """The store's log, read over a connection as published events (`access.events`' shape)."""

    def __init__(self, table: str = EVENTS_TABLE) -> None:
        self._table = table
        self._select = (
            f"SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {table} WHERE notification_id > $1 AND topic = ANY($3::text[]) "
            f"ORDER BY notification_id LIMIT $2"
        )
        self._at = (
            f"SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {table} WHERE notification_id = ANY($1::bigint[]) "
            f"AND topic = ANY($2::text[]) ORDER BY notification_id"
        )
        self._last_published = (
            f"SELECT notification_id FROM {table} WHERE topic = ANY($1::text[]) "  # noqa: S608
            f"ORDER BY notification_id DESC LIMIT 1"
        )

    async def read(self, conn: Connection, after: int, limit: int) -> list[LoggedEvent]:
        rows = await self.fetch_rows(conn, after, limit)
        return [decode(row) for row in await unsealed(conn, rows)]

    async def read_at(self, conn: Connection, positions: Sequence[int]) -> list[LoggedEvent]:
        """The published events at exactly these positions, in store order: an index's
        answer read without the events between them."""
        rows = list(await conn.fetch(self._at, list(positions), PUBLISHED_TOPICS))
        return [decode(row) for row in await unsealed(conn, rows)]

    async def fetch_rows(self, conn: Connection, after: int, limit: int) -> list[Any]:
        """Up to `limit` stored rows of published events after `after`, as stored (sealed)."""
        return list(await conn.fetch(self._select, after, limit, PUBLISHED_TOPICS))

    async def head(self, conn: Connection) -> int:
        """The highest position in the store (published or not)."""
        value = await conn.fetchval(f"SELECT coalesce(max(notification_id), 0) FROM {self._table}")  # noqa: S608
        return int(value)

    async def last_published(self, conn: Connection) -> int:
        """The position of the last published event (0 before any): where `read` ends.

        Walks the position index backwards to the first published event, so it costs a
        few rows, not a scan.
        """
        value = await conn.fetchval(self._last_published, PUBLISHED_TOPICS)
        return int(value or 0)


def decode(row: Any) -> LoggedEvent:
    """One unsealed stored row as its published event (fast path, else the mapper)."""
    return decode_fast(row) or decode_with_mapper(row)


class Positioned(Protocol):
    @property
    def position(self) -> int: ...


E = TypeVar("E", bound=Positioned)
E_co = TypeVar("E_co", bound=Positioned, covariant=True)


class ConnectionReader(Protocol[E_co]):
    """A log read over one connection: `EventLog`, or the projection's `ProjectionLog`."""

    async def read(self, conn: Connection, after: int, limit: int) -> Sequence[E_co]: ...


LogReader: TypeAlias = Callable[[int, int], Awaitable[Sequence[E]]]
"""`read_log(after, limit)`: up to `limit` events with position > `after`, in store order."""


def pooled(
    pool: asyncpg.Pool, log: ConnectionReader[E], *, upto: int | None = None
) -> LogReader[E]:
    """`log` as a follower reads it: each batch on a connection of its own from `pool`
    (so a rebuild reads the next batch while it writes one), and, with `upto`, nothing
    after that position."""

    async def read_log(after: int, limit: int) -> Sequence[E]:
        async with pool.acquire() as conn:
            events = await log.read(conn, after, limit)
        return events if upto is None else [e for e in events if e.position <= upto]

    return read_log
