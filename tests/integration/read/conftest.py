"""Read-side fixtures: a fresh read schema per test, so positions and ids never collide."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.access.projection import create_schema


@pytest.fixture
async def schema(db: asyncpg.Connection) -> AsyncIterator[str]:
    name = f"read_t_{uuid.uuid4().hex[:12]}"
    await create_schema(db, name)
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool:
        yield pool
