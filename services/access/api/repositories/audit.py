"""The auditors' reads: from the stored log, or from the projection's audit indexes
(access history, log positions) where they cover the moment asked."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.audit import service, store
from services.access.audit.timeline import Subject, TimelineEntry
from services.access.audit.verify import Verdict
from services.access.projection.sql import DEFAULT_SCHEMA


class AuditRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA) -> None:
        self._pool = pool
        self._schema = schema

    async def timeline(
        self, subject: Subject, after: int, limit: int
    ) -> tuple[int, Page[TimelineEntry]]:
        """The log's head and one page of the events about `subject` past position `after`.

        The log is read from its start every time (what an event is about can depend on
        earlier ones), and only as far as this page needs.
        """
        async with self._pool.acquire() as conn:
            head = await store.head(conn)
            entries: list[TimelineEntry] = []
            async for entry in service.timeline(conn, subject, after):
                entries.append(entry)
                if len(entries) > limit:
                    break
        return head, page_of(entries, limit, lambda e: e.position)

    async def access_at(
        self, kind: Literal["charger", "user"], id_: str, at: datetime
    ) -> service.AccessAt:
        async with self._pool.acquire() as conn:
            return await service.access_at(conn, kind, id_, at, self._schema)

    async def verify(self) -> Verdict:
        async with self._pool.acquire() as conn:
            return await service.verify(conn)
