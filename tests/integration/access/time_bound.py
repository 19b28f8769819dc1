"""A real write side on PostgreSQL with time-bound shares, its boundaries appended as the
scheduler appends them (`Charger.mark_boundaries`), and the read side following its log:
what the read-side tests of issue 13 build on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from services.access.api import create_app
from services.access.config import AccessSettings
from services.access.domain.base import Cause
from services.access.eventlog.reader import pooled
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import create_schema
from services.access.store.application import open_store
from tests.unit.access.scenario import SECRET, Scenario

TOKEN = "time-bound-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Writes(Scenario):
    """The unit tests' scenario on the PostgreSQL store, its clock starting at the real now
    (a window's `valid_until` must be after the command's time)."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.store = open_store(database_url)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.executor = Executor(self.store, Rules(SECRET, timedelta(days=7)),
                                 clock=lambda: self.now)

    def share_in(self, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
                 **window: Any) -> UUID:
        """Invite `user` with a window and let them accept; the invitation's id."""
        invitation_id = uuid4()
        self.ok("InviteUser", actor, invitation_id=invitation_id, email=self.emails[user],
                charger_ids=chargers, level=level, **window)
        self.ok("AcceptInvitation", user, invitation_id=invitation_id,
                token=self.token(invitation_id))
        return invitation_id

    def mark(self, charger_id: UUID, user: UUID, at: datetime) -> list[str]:
        """What the scheduler does at `at`: the boundary event types appended."""
        before = self.head()
        charger = self.charger_state(charger_id)
        charger.mark_boundaries(user, at, Cause("scheduler", f"boundaries-{uuid4()}", at))
        self.store.save(charger)
        self.events = self.published_since(before)
        return self.types()


@dataclass
class ReadSide:
    """The projection following the store's log into `schema`, and the query API on it
    (`client` with the fast path, `reference` without)."""

    schema: str
    runner: ProjectionRunner
    client: httpx.AsyncClient
    reference: httpx.AsyncClient

    async def sync(self) -> int:
        return await self.runner.catch_up()

    async def get(self, path: str, *, fast: bool = True, **params: Any) -> dict[str, Any]:
        client = self.client if fast else self.reference
        response = await client.get(path, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def check(self, user: UUID, charger: UUID, **params: Any) -> dict[str, Any]:
        return await self.get("/v1/access/check", user_id=str(user), charger_id=str(charger),
                              **params)


@asynccontextmanager
async def read_side(pool: asyncpg.Pool, schema: str) -> AsyncIterator[ReadSide]:
    async with pool.acquire() as conn:
        await create_schema(conn, schema)
    runner = ProjectionRunner(pool, pooled(pool, ProjectionLog()), schema=schema,
                              poll_interval=0.05)

    async def readiness() -> dict[str, bool]:
        return {}

    settings = AccessSettings(api_tokens=frozenset({TOKEN}))
    apps = [create_app(pool, settings, runner, readiness, schema=schema, fast_check=fast)
            for fast in (True, False)]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://a") as b,
    ):
        try:
            yield ReadSide(schema, runner, a, b)
        finally:
            await runner.stop()


def iso(t: datetime) -> str:
    """An instant as the API writes it (UTC, `Z`)."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
