"""Reads of a charger's local list for the query API: the version and its entries taken in
one snapshot, so an answer never pairs a version with another version's entries."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.access.local_lists.reads import ListAt, LocalListReads


class LocalListRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._reads = LocalListReads(schema)

    async def list_for(self, charger_id: UUID, since_version: int | None) -> ListAt | None:
        """The current list: Differential since `since_version` when the charger can have
        it (1 <= N <= current), else Full; None for an unknown charger."""
        async with (self._pool.acquire() as conn,
                    conn.transaction(isolation="repeatable_read", readonly=True)):
            version = await self._reads.latest(conn, charger_id)
            if version is None:
                return None
            if since_version is None or not 1 <= since_version <= version:
                return await self._reads.full(conn, charger_id, version, current=True)
            return await self._reads.differential(conn, charger_id, since_version, version)
