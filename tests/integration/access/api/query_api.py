"""The query API as the tests drive it: an app over a scripted log and a real projection
runner, a token, and a small world to ask about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from charger_access_client import access_events as ev
from services.access.eventlog.values import LoggedEvent
from services.access.projection.runner import ProjectionRunner
from tests.unit.access.event_builders import ScriptedLog

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class InMemoryLog(ScriptedLog):
    """A scripted log the runner reads from, like the store's notification log."""

    async def read(self, after: int, limit: int) -> Sequence[LoggedEvent]:
        return [e for e in self.all if e.position > after][:limit]

    def add(self, event: ev.AccessEvent, subject: UUID, actor: UUID | None = None) -> LoggedEvent:
        logged = super().add(event, subject, actor)
        self.all.append(logged)
        return logged

    def __init__(self) -> None:
        super().__init__()
        self.all: list[LoggedEvent] = []


@dataclass
class Api:
    client: httpx.AsyncClient
    log: InMemoryLog
    runner: ProjectionRunner
    ready: dict[str, bool]

    async def sync(self) -> int:
        return await self.runner.catch_up()

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=AUTH)


@dataclass
class World:
    owner: UUID
    guest: UUID
    stranger: UUID
    fleet: UUID
    charger: UUID
    invitation: UUID


async def world(api: Api) -> World:
    log = api.log
    owner, guest, stranger = log.user(), log.user(), log.user()
    fleet = log.group(owner)
    charger = log.charger(owner, fleet)
    invitation = log.invite(owner, [charger], expires_at=datetime.now(UTC) + timedelta(days=7))
    log.grant(charger, guest, "charge", invitation_id=invitation)
    await api.sync()
    return World(owner, guest, stranger, fleet, charger, invitation)
