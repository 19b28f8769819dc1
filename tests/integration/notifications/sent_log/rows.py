"""Sent-log rows for tests that need them in a given state: a claim as the consumer
makes one, and a pool on a database whose sent-log tables exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.notifications.ports import Claim
from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log.queue import SentLog


def claim(keys: RecipientKeys) -> Claim:
    """A new invitation e-mail to a new address."""
    event_id, key = uuid.uuid4(), keys(f"{uuid.uuid4().hex}@example.no")
    return Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")


@asynccontextmanager
async def sent_log_pool(database_url: str, keys: RecipientKeys) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    try:
        await SentLog(pool, keys).create_schema()
        yield pool
    finally:
        await pool.close()
