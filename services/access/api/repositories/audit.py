"""The auditors' reads: from the projection's audit indexes (access history, log and id
positions) where they cover what is asked, else from the stored log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.audit import service, store
from services.access.audit.coverage import IndexCoverage
from services.access.audit.timeline import Subject, TimelineEntry
from services.access.audit.verify import Verdict
from services.access.projection.sql import DEFAULT_SCHEMA


class AuditRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA,
                 coverage: IndexCoverage | None = None) -> None:
        self._pool = pool
        self._schema = schema
        self._coverage = coverage or IndexCoverage()
        """Kept by the app across requests: what it learnt of the indexes' coverage."""

    async def timeline(
        self, subject: Subject, after: int, limit: int
    ) -> tuple[int, Page[TimelineEntry]]:
        """The log's head and one page of the events about `subject` past position `after`.

        From the projection's indexes where they hold the log (the events naming the id,
        not the whole log), else replayed from the log's start, only as far as the page.
        """
        async with self._pool.acquire() as conn:
            head = await store.head(conn)
            entries = await service.timeline(conn, subject, after, self._schema,
                                             limit=limit + 1, coverage=self._coverage)
        return head, page_of(entries, limit, lambda e: e.position)

    async def access_at(
        self, kind: Literal["charger", "user"], id_: str, at: datetime
    ) -> service.AccessAt:
        async with self._pool.acquire() as conn:
            return await service.access_at(conn, kind, id_, at, self._schema,
                                           coverage=self._coverage)

    async def verify(self) -> Verdict:
        async with self._pool.acquire() as conn:
            return await service.verify(conn)
