"""The trace context of the commands behind a batch of events, for the relay's headers.

A command's `traceparent` is stored in its outcome row (`command_results`, the same
transaction as its events; `executor.TRACEPARENT_KEY`), so an event published later, by
any instance, after any restart, still names its command's trace. One indexed lookup per
relay batch, and only while spans are made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

import asyncpg

from services.access.executor import TRACEPARENT_KEY
from services.access.store.application import EVENTS_TABLE
from services.access.store.recorder import RESULTS_TABLE

TraceLookup = Callable[[Collection[str]], Awaitable[dict[str, str]]]
"""Command ids → their stored traceparent (those without one are left out)."""
PositionTraces = Callable[[Collection[int]], Awaitable[dict[int, str]]]
"""Log positions → the traceparent of the command whose event is there (a local-list
version names the position of the event that made it, not the command)."""

_SQL = (
    f"SELECT command_id, outcome->>'{TRACEPARENT_KEY}' FROM {RESULTS_TABLE} "  # noqa: S608 - constants
    f"WHERE command_id = ANY($1::text[]) AND outcome ? '{TRACEPARENT_KEY}'"
)


_AT_SQL = (
    f"SELECT e.notification_id, r.outcome->>'{TRACEPARENT_KEY}' FROM {EVENTS_TABLE} e "  # noqa: S608 - constants
    f"JOIN {RESULTS_TABLE} r ON r.command_id = convert_from(e.state, 'UTF8')::jsonb->>'command_id' "
    f"WHERE e.notification_id = ANY($1::bigint[]) AND r.outcome ? '{TRACEPARENT_KEY}'"
)


def traces_at(pool: asyncpg.Pool) -> PositionTraces:
    async def lookup(positions: Collection[int]) -> dict[int, str]:
        rows = await pool.fetch(_AT_SQL, list(positions))
        return {row[0]: row[1] for row in rows}

    return lookup


def stored_traces(pool: asyncpg.Pool) -> TraceLookup:
    async def lookup(command_ids: Collection[str]) -> dict[str, str]:
        rows = await pool.fetch(_SQL, list(command_ids))
        return {row[0]: row[1] for row in rows}

    return lookup
