"""The part of the event log the scheduler follows: the events that start, end, move or
mark a charger's shares, nothing else.

A reader of its own rather than `EventLog`, so a scheduler starting on a long log reads
and decodes only these few types (a log of a million events is mostly others). Shares
are ended only by `AccessRevoked` (removing a user, transferring a charger and updating
access all revoke through it) and changed only by `AccessGranted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from services.access.domain.charger import Charger
from services.access.eventlog.reader import decode
from services.access.schedule.shares import ShareRead
from services.access.store.application import EVENTS_TABLE

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

SHARE_EVENTS = (Charger.AccessGranted, Charger.AccessRevoked, Charger.ShareCameIntoEffect,
                Charger.ShareWentOutOfEffect, Charger.ShareEnding)
SHARE_TOPICS = [get_topic(cls) for cls in SHARE_EVENTS]


class ShareLog:
    """The share events of the store's log, in store order, as published events.

    Personal data (the holder in `ShareEnding`) is left sealed: the schedule never reads it.
    """

    def __init__(self, table: str = EVENTS_TABLE) -> None:
        # One statement, one snapshot: the head first, then the share events up to it.
        # Every position at or below a visible head is settled (the store hands positions
        # out under its table lock, in commit order), so a read that returns fewer than
        # `limit` events has seen all of the log up to that head.
        self._select = (
            f"WITH head AS MATERIALIZED (SELECT coalesce(max(notification_id), 0) AS head "  # noqa: S608
            f"FROM {table}) "
            f"SELECT head.head, e.notification_id, e.originator_id, e.originator_version, "
            f"e.topic, e.state FROM head LEFT JOIN LATERAL ("
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {table} WHERE notification_id > $1 AND notification_id <= head.head "
            f"AND topic = ANY($3::text[]) ORDER BY notification_id LIMIT $2) e ON true "
            f"ORDER BY e.notification_id"
        )

    async def read(self, conn: Connection, after: int, limit: int) -> ShareRead:
        rows = await conn.fetch(self._select, after, limit, SHARE_TOPICS)
        events = [decode(row) for row in rows if row["notification_id"] is not None]
        head = int(rows[0]["head"]) if rows else after
        reached = events[-1].position if len(events) == limit else max(after, head)
        return ShareRead(events, reached)
