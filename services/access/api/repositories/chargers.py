"""Reads of chargers and their audit timeline."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.projection.sql import render

_GET = """
    SELECT charger_id, serial_number, name, group_id, owner_id, connected
    FROM {s}.chargers WHERE charger_id = $1"""
_HISTORY = """
    SELECT position, event_id, type, time, actor, command_id, details
    FROM {s}.charger_history WHERE charger_id = $1 AND position > $2
    ORDER BY position LIMIT $3"""


class ChargerRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._get = render(_GET, schema)
        self._history = render(_HISTORY, schema)

    async def get(self, charger_id: UUID) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(self._get, charger_id)
        return None if row is None else dict(row)

    async def history(
        self, charger_id: UUID, after: int, limit: int
    ) -> Page[dict[str, Any]] | None:
        """One page of the charger's timeline, oldest first; None when it is unknown."""
        rows = await self._pool.fetch(self._history, charger_id, after, limit + 1)
        if not rows and await self.get(charger_id) is None:
            return None
        events = [{**dict(r), "details": json.loads(r["details"])} for r in rows]
        return page_of(events, limit, lambda e: int(e["position"]))
