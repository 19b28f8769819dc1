"""Reads of the charge_keys table: a user's keys, and the key a charger was shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from services.access.api.pagination import Page, page_of
from services.access.projection.sql import render

_BY_USER = """
    SELECT key_id, id_token, type, label, blocked FROM {s}.charge_keys
    WHERE user_id = $1 AND ($2::uuid IS NULL OR key_id > $2)
    ORDER BY key_id LIMIT $3"""
_USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM {s}.users WHERE user_id = $1)"
# OCPP 1.6 has no type: a token of any type matches, an RFID card's first.
_KEY_SHOWN = """
    SELECT key_id, user_id, type, blocked FROM {s}.charge_keys
    WHERE id_token = $1 AND ($2::text IS NULL OR type = $2)
    ORDER BY type <> 'ISO14443', type, key_id LIMIT 1"""


@dataclass(frozen=True)
class ShownKey:
    """The live key with the token a charger was shown."""

    key_id: UUID
    user_id: UUID
    type: str
    blocked: bool


class ChargeKeyRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._by_user = render(_BY_USER, schema)
        self._user_exists = render(_USER_EXISTS, schema)
        self._by_token = render(_KEY_SHOWN, schema)

    async def keys_of_user(
        self, user_id: UUID, after: UUID | None, limit: int
    ) -> Page[dict[str, Any]] | None:
        """One page of the user's keys, by key id; None when the user is unknown."""
        rows = await self._pool.fetch(self._by_user, user_id, after, limit + 1)
        if not rows and not await self._pool.fetchval(self._user_exists, user_id):
            return None
        keys = [{"key_id": r["key_id"], "id_token": r["id_token"], "type": r["type"],
                 "label": r["label"], "status": "blocked" if r["blocked"] else "active"}
                for r in rows]
        return page_of(keys, limit, lambda k: str(k["key_id"]))

    async def shown(self, id_token: str, key_type: str | None) -> ShownKey | None:
        """The key with this token (upper case) and type (None: any type)."""
        row = await self._pool.fetchrow(self._by_token, id_token, key_type)
        if row is None:
            return None
        return ShownKey(row["key_id"], row["user_id"], row["type"], row["blocked"])
