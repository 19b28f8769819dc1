"""The read model's local lists as the list sync asks for them: the current version (one
index lookup per connecting charger) and the Full list, both through the access
service's own reads (`local_lists/reads.py`, the query API's repository)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.access.api.repositories.local_lists import LocalListRepository
from services.access.local_lists.reads import ListAt, LocalListReads


class ReadModelLists:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._reads = LocalListReads(schema)
        self._lists = LocalListRepository(pool, schema)

    async def current_version(self, charger_id: UUID) -> int | None:
        return await self._reads.latest(self._pool, charger_id)

    async def full(self, charger_id: UUID) -> ListAt | None:
        return await self._lists.list_for(charger_id, None)
