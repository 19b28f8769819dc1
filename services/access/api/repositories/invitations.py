"""Reads of invitations. The token (and its salt) never reach the read model at all."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from services.access.projection.sql import render

_GET = """
    SELECT invitation_id,
           CASE WHEN status = 'pending' AND expires_at < now() THEN 'expired'
                ELSE status END AS status,
           email, level, locale, chargers, inviter_id, expires_at, invited_at, updated_at,
           valid_from, valid_until, schedule
    FROM {s}.invitations WHERE invitation_id = $1"""


class InvitationRepository:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._get = render(_GET, schema)

    async def get(self, invitation_id: UUID) -> dict[str, Any] | None:
        """The invitation as of now: a pending one past its expiry reads as `expired`."""
        row = await self._pool.fetchrow(self._get, invitation_id)
        if row is None:
            return None
        schedule = row["schedule"]
        return {**dict(row), "chargers": json.loads(row["chargers"]),
                "schedule": None if schedule is None else json.loads(schedule)}
