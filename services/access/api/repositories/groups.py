"""Reads of groups: the group, a page of its members, a page of its chargers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.projection.sql import render

_GET = """
    SELECT g.group_id, g.name, g.owner_id, g.personal,
           (SELECT count(*) FROM {s}.chargers c WHERE c.group_id = g.group_id) AS charger_count
    FROM {s}.groups g WHERE g.group_id = $1"""
_MEMBERS = """
    SELECT user_id, role FROM {s}.group_members
    WHERE group_id = $1 AND ($2::uuid IS NULL OR user_id > $2)
    ORDER BY user_id LIMIT $3"""
_CHARGERS = """
    SELECT charger_id, serial_number, name, owner_id, connected FROM {s}.chargers
    WHERE group_id = $1 AND ($2::uuid IS NULL OR charger_id > $2)
    ORDER BY charger_id LIMIT $3"""
_EXISTS = "SELECT EXISTS (SELECT 1 FROM {s}.groups WHERE group_id = $1)"


class GroupRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._get = render(_GET, schema)
        self._members = render(_MEMBERS, schema)
        self._chargers = render(_CHARGERS, schema)
        self._exists = render(_EXISTS, schema)

    async def get(
        self, group_id: UUID, after: UUID | None, limit: int
    ) -> tuple[dict[str, Any], Page[dict[str, Any]]] | None:
        """The group and one page of its members; None when it is unknown."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            group = await conn.fetchrow(self._get, group_id)
            if group is None:
                return None
            rows = await conn.fetch(self._members, group_id, after, limit + 1)
        members = [dict(r) for r in rows]
        return dict(group), page_of(members, limit, lambda m: str(m["user_id"]))

    async def chargers(
        self, group_id: UUID, after: UUID | None, limit: int
    ) -> Page[dict[str, Any]] | None:
        rows = await self._pool.fetch(self._chargers, group_id, after, limit + 1)
        if not rows and not await self._pool.fetchval(self._exists, group_id):
            return None
        chargers = [dict(r) for r in rows]
        return page_of(chargers, limit, lambda c: str(c["charger_id"]))
