"""Reads of the materialised access table: per user, per charger, and the check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.projection.sql import render

_BY_USER = """
    SELECT charger_id, level, why FROM {s}.access
    WHERE user_id = $1 AND ($2::uuid IS NULL OR charger_id > $2)
    ORDER BY charger_id LIMIT $3"""
_BY_CHARGER = """
    SELECT user_id, level, why FROM {s}.access
    WHERE charger_id = $1 AND ($2::uuid IS NULL OR user_id > $2)
    ORDER BY user_id LIMIT $3"""
_CHECK = "SELECT level, why, timebound FROM {s}.access WHERE user_id = $1 AND charger_id = $2"
_USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM {s}.users WHERE user_id = $1)"
_CHARGER_EXISTS = "SELECT EXISTS (SELECT 1 FROM {s}.chargers WHERE charger_id = $1)"


@dataclass(frozen=True)
class Effective:
    """The stored row: `level` and `why` of every reason; with `timebound`, some hold only
    inside their window (`api/moment.py` evaluates them)."""

    level: str | None
    why: list[dict[str, Any]]
    timebound: bool = False


def _entry(row: asyncpg.Record, key: str) -> dict[str, Any]:
    return {key: row[key], "level": row["level"], "why": json.loads(row["why"])}


class AccessRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._by_user = render(_BY_USER, schema)
        self._by_charger = render(_BY_CHARGER, schema)
        self._check = render(_CHECK, schema)
        self._user_exists = render(_USER_EXISTS, schema)
        self._charger_exists = render(_CHARGER_EXISTS, schema)

    async def chargers_of_user(
        self, user_id: UUID, after: UUID | None, limit: int
    ) -> Page[dict[str, Any]] | None:
        """One page of the user's chargers; None when the user is unknown."""
        rows = await self._pool.fetch(self._by_user, user_id, after, limit + 1)
        if not rows and not await self._pool.fetchval(self._user_exists, user_id):
            return None
        entries = [_entry(r, "charger_id") for r in rows]
        return page_of(entries, limit, lambda e: str(e["charger_id"]))

    async def users_of_charger(
        self, charger_id: UUID, after: UUID | None, limit: int
    ) -> Page[dict[str, Any]] | None:
        """One page of the users with access to the charger; None when it is unknown."""
        rows = await self._pool.fetch(self._by_charger, charger_id, after, limit + 1)
        if not rows and not await self._pool.fetchval(self._charger_exists, charger_id):
            return None
        entries = [_entry(r, "user_id") for r in rows]
        return page_of(entries, limit, lambda e: str(e["user_id"]))

    async def effective_json(
        self, user_id: UUID | str, charger_id: UUID | str
    ) -> tuple[str | None, str, bool]:
        """The stored level, its `why` as stored JSON text and whether a reason is
        time-bound (None, "[]", False without a row)."""
        row = await self._pool.fetchrow(self._check, user_id, charger_id)
        if row is None:
            return None, "[]", False
        return row["level"], row["why"], row["timebound"]

    async def effective(self, user_id: UUID, charger_id: UUID) -> Effective:
        """The user's stored access row on the charger: one primary-key lookup."""
        row = await self._pool.fetchrow(self._check, user_id, charger_id)
        if row is None:
            return Effective(None, [])
        return Effective(row["level"], json.loads(row["why"]), row["timebound"])
