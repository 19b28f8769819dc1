"""The `api` fixture: the query API in process (ASGI), over the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from services.access.api import create_app
from services.access.config import AccessSettings
from services.access.projection.runner import ProjectionRunner
from tests.integration.access.api.query_api import TOKEN, Api, InMemoryLog


@pytest.fixture
async def api(pool: asyncpg.Pool, schema: str) -> AsyncIterator[Api]:
    log = InMemoryLog()
    runner = ProjectionRunner(pool, log.read, schema=schema, batch_size=50, poll_interval=0.05)
    ready = {"consumer": True}

    async def readiness() -> dict[str, bool]:
        return dict(ready)

    settings = AccessSettings(api_tokens=frozenset({TOKEN, "another-token"}))
    app = create_app(pool, settings, runner, readiness, schema=schema, wait_timeout=0.3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield Api(client, log, runner, ready)
    await runner.stop()
