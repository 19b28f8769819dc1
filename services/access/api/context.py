"""What the routes need at run time, held on `app.state` by `create_app`.

The API depends on the projection only through `ReadPosition`: how far the read models
are, and a way to wait until they reach a position. `ProjectionRunner` is one; a
process without its own runner could poll the tracking table instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

import asyncpg
from fastapi import Depends, Request

from services.access.api.repositories import (
    AccessRepository,
    ChargeKeyRepository,
    ChargerRepository,
    GroupRepository,
    InvitationRepository,
    LocalListRepository,
)
from services.access.api.repositories.audit import AuditRepository
from services.access.config import AccessSettings
from services.access.projection.sql import DEFAULT_SCHEMA

Readiness = Callable[[], Awaitable[dict[str, bool]]]
Metrics = Callable[[], Awaitable[str]]
"""Renders `GET /metrics` (Prometheus text format)."""


class ReadPosition(Protocol):
    @property
    def position(self) -> int:
        """The last event position the read models reflect (at least)."""
        ...

    async def wait_for(self, position: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until `position` is reflected; False if `timeout` seconds pass first."""
        ...


@dataclass(frozen=True)
class ReadContext:
    pool: asyncpg.Pool
    settings: AccessSettings
    projection: ReadPosition
    readiness: Readiness
    metrics: Metrics
    wait_timeout: float
    access: AccessRepository
    chargers: ChargerRepository
    groups: GroupRepository
    invitations: InvitationRepository
    keys: ChargeKeyRepository
    local_lists: LocalListRepository
    audit: AuditRepository
    """One per app: it remembers what it learnt of the audit indexes' coverage."""
    schema: str = DEFAULT_SCHEMA
    """The read models' schema (the auditors' indexes live there too)."""

    @classmethod
    def build(
        cls,
        pool: asyncpg.Pool,
        settings: AccessSettings,
        projection: ReadPosition,
        readiness: Readiness,
        *,
        schema: str,
        wait_timeout: float,
        metrics: Metrics,
    ) -> ReadContext:
        return cls(
            pool,
            settings,
            projection,
            readiness,
            metrics,
            wait_timeout,
            AccessRepository(pool, schema),
            ChargerRepository(pool, schema),
            GroupRepository(pool, schema),
            InvitationRepository(pool, schema),
            ChargeKeyRepository(pool, schema),
            LocalListRepository(pool, schema),
            AuditRepository(pool, schema),
            schema,
        )


def read_context(request: Request) -> ReadContext:
    context = request.app.state.read
    assert isinstance(context, ReadContext)
    return context


async def _read_context(request: Request) -> ReadContext:
    """The dependency form: async, so FastAPI does not hop to a thread pool per request."""
    return read_context(request)


Context = Annotated[ReadContext, Depends(_read_context)]
