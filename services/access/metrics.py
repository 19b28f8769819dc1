"""The access service's `GET /metrics`, in Prometheus' text exposition format (0.0.4).

Read from what the parts already count: the command consumer's outcomes, batches and dead
letters, the relay's position, the projection's position, and the store's head. Lags are
in positions of the log: the last *published* position minus how far the projection or
the relay got (unpublished bookkeeping events in between are never read by either, so a
caught-up follower reads 0). The local-lists publisher follows list versions, not the
log, so its lag is the newest version's position minus the one it recorded as published
(positions without a version are skipped the same way). Cumulative over the process's
life, like any counter.

Written with `services.common.prometheus`, as the notification service's are; the latency
histograms and process metrics follow, from the service's prometheus_client registry
(`services.access.latency`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
from prometheus_client import CollectorRegistry

from services.access.eventlog.reader import EventLog
from services.access.latency import REGISTRY
from services.access.projection.sql import DEFAULT_SCHEMA, render
from services.access.store.personal.sealing import CORRUPT
from services.common.connection_lost import CONNECTION_LOST
from services.common.prometheus import MetricsText, Sample

log = logging.getLogger(__name__)

MetricsRenderer = Callable[[], Awaitable[str]]
StoreHeads = Callable[[], Awaitable[tuple[int, int]]]
"""(head, last published position) of the event store."""
ListsHead = Callable[[], Awaitable[int]]
"""Position of the newest local-list version in the read model (0: none yet)."""


class CommandStats(Protocol):
    """What `CommandConsumer` counts."""

    outcomes: Counter[str]
    """Results by reason code, or by status when there is none (`accepted`)."""
    dead_letters: int
    batches: int


class RelayStats(Protocol):
    position: int
    published: int


class LocalListStats(Protocol):
    """What the local-lists publisher counts."""

    @property
    def position(self) -> int:
        """Position of the last list version it recorded as published."""
        ...

    @property
    def published(self) -> int: ...


class ScheduleStats(Protocol):
    """What the boundary scheduler counts."""

    boundaries: int
    notices: int

    @property
    def refills(self) -> int: ...

    @property
    def due_shares(self) -> int: ...


class CorruptStats(Protocol):
    """Sealed personal values that did not authenticate (`sealing.CORRUPT`)."""

    count: int


class CacheStats(Protocol):
    """What the aggregates kept between batches count (`store.cache.AggregateCache`)."""

    weight: int
    bytes: int
    hits: int
    misses: int

    def __len__(self) -> int: ...


class ProjectionStats(Protocol):
    @property
    def position(self) -> int: ...


STATUSES = ("accepted", "rejected")
_LISTS_HEAD = "SELECT coalesce(max(position), 0) FROM {s}.local_list_versions"


class AccessMetrics:
    """Renders the metrics of whichever parts it was given; the rest are left out."""

    def __init__(
        self,
        projection: ProjectionStats,
        *,
        store: StoreHeads | None = None,
        commands: CommandStats | None = None,
        relay: RelayStats | None = None,
        schedule: ScheduleStats | None = None,
        local_lists: LocalListStats | None = None,
        lists_head: ListsHead | None = None,
        corrupt: CorruptStats | None = None,
        cache: CacheStats | None = None,
        registry: CollectorRegistry | None = None,
        leading: Callable[[], bool] | None = None,
    ) -> None:
        """`leading`: whether this instance leads the followers (relay, local-list
        publisher, scheduler); a standby reports none of their figures, which are the
        leader's to report."""
        self._leading = leading
        self._projection = projection
        self._registry = registry
        self._corrupt = corrupt
        self._cache = cache
        self._local_lists = local_lists
        self._lists_head = lists_head
        self._schedule = schedule
        self._store = store
        self._commands = commands
        self._relay = relay

    async def render(self) -> str:
        out = MetricsText()
        if self._commands is not None:
            _command_metrics(out, self._commands)
        projection = self._projection.position
        out.metric("access_projection_position", "gauge",
                   "Position of the last event applied to the read models.", projection)
        leading = self._leading is None or self._leading()
        if self._leading is not None:
            out.metric("access_leading", "gauge", "1 when this instance leads the followers "
                       "(relay, local-list publisher, scheduler); 0 on a standby.", int(leading))
        relay = self._relay if leading else None
        local_lists = self._local_lists if leading else None
        schedule = self._schedule if leading else None
        if relay is not None:
            out.metric("access_relay_position", "gauge",
                       "Position of the last event published on access.events.", relay.position)
            out.metric("access_relay_published_total", "counter",
                       "Events published on access.events by this process (re-sends too).",
                       relay.published)
        if local_lists is not None:
            out.metric("access_local_lists_published_total", "counter",
                       "LocalListChanged events published on access.local-lists by this "
                       "process (re-sends too).", local_lists.published)
        if schedule is not None:
            _schedule_metrics(out, schedule)
        self._in_process(out)
        if self._store is not None:
            try:
                head, published = await self._store()
            except CONNECTION_LOST as exc:
                log.warning("metrics: store head unavailable: %s", exc)
                out.metric("access_store_up", "gauge", "1 when the store answered.", 0)
            else:
                out.metric("access_store_up", "gauge", "1 when the store answered.", 1)
                out.metric("access_store_head_position", "gauge",
                           "Highest position in the event store (published or not).", head)
                out.metric("access_store_published_position", "gauge",
                           "Highest position of a published event in the store.", published)
                out.metric("access_projection_lag_positions", "gauge",
                           "Last published position minus the projection's position.",
                           max(0, published - projection))
                if relay is not None:
                    out.metric("access_relay_lag_positions", "gauge",
                               "Last published position minus the relay's position.",
                               max(0, published - relay.position))
        if local_lists is not None and self._lists_head is not None:
            await self._lists_lag(out, local_lists, self._lists_head)
        if self._registry is not None:
            out.collected(self._registry)
        return out.text()

    def _in_process(self, out: MetricsText) -> None:
        """What this process counts in memory, leader or not."""
        if self._cache is not None:
            _cache_metrics(out, self._cache)
        if self._corrupt is not None:
            out.metric("access_personal_data_corrupt_total", "counter",
                       "Sealed personal values that did not authenticate under their key "
                       "(corrupt or tampered with; each read that met one).",
                       self._corrupt.count)

    @staticmethod
    async def _lists_lag(out: MetricsText, publisher: LocalListStats, head: ListsHead) -> None:
        try:
            newest = await head()
        except CONNECTION_LOST as exc:
            log.warning("metrics: local-list head unavailable: %s", exc)
            return
        out.metric("access_local_lists_lag_positions", "gauge",
                   "Position of the newest local-list version minus the publisher's "
                   "recorded position.", max(0, newest - publisher.position))


def _command_metrics(out: MetricsText, commands: CommandStats) -> None:
    samples: list[Sample] = []
    for key, count in sorted(commands.outcomes.items()):
        if key in STATUSES:
            samples.append(({"status": key, "reason": ""}, count))
        else:  # a reason code: only rejections carry one
            samples.append(({"status": "rejected", "reason": key}, count))
    out.family("access_commands_total", "counter",
               "Commands answered on access.command-results, by status and reason.", samples)
    out.metric("access_command_batches_total", "counter",
               "Batches of commands consumed and committed.", commands.batches)
    out.metric("access_commands_dead_lettered_total", "counter",
               "Messages sent to access.commands.dlq (unreadable envelopes).",
               commands.dead_letters)


def _cache_metrics(out: MetricsText, cache: CacheStats) -> None:
    """Whether the cache's bounds are reached and whether it pays: what sizing
    `AGGREGATE_CACHE` / `AGGREGATE_CACHE_MB` needs (a full cache that is rarely hit costs
    memory for nothing; a bound reached with many misses asks for more)."""
    out.metric("access_aggregate_cache_states", "gauge",
               "Aggregates kept between batches of commands.", len(cache))
    out.metric("access_aggregate_cache_events", "gauge",
               "Events the kept aggregates have folded (bounded by AGGREGATE_CACHE).",
               cache.weight)
    out.metric("access_aggregate_cache_bytes", "gauge",
               "Bytes of the kept aggregates' pickled states (bounded by "
               "AGGREGATE_CACHE_MB).", cache.bytes)
    out.metric("access_aggregate_cache_hits_total", "counter",
               "Aggregates a batch loaded from the cache (then only later events read).",
               cache.hits)
    out.metric("access_aggregate_cache_misses_total", "counter",
               "Aggregates a batch looked for in the cache and decoded from the log.",
               cache.misses)


def _schedule_metrics(out: MetricsText, schedule: ScheduleStats) -> None:
    out.metric("access_schedule_boundaries_total", "counter",
               "ShareCameIntoEffect / ShareWentOutOfEffect events this process appended.",
               schedule.boundaries)
    out.metric("access_schedule_notices_total", "counter",
               "ShareEnding notices this process appended.", schedule.notices)
    out.metric("access_schedule_due_shares", "gauge",
               "Time-bound shares with a boundary or an ending notice due within the "
               "scheduler's horizon.", schedule.due_shares)
    out.metric("access_schedule_refills_total", "counter",
               "Timetables the scheduler took from its share book for its next horizon.",
               schedule.refills)


def service_metrics(
    pool: asyncpg.Pool,
    event_log: EventLog,
    projection: ProjectionStats,
    commands: CommandStats | None,
    relay: RelayStats | None,
    schedule: ScheduleStats | None = None,
    local_lists: LocalListStats | None = None,
    schema: str = DEFAULT_SCHEMA,
    *,
    leading: Callable[[], bool] | None = None,
    cache: CacheStats | None = None,
) -> MetricsRenderer:
    """The whole service's metrics, for `create_app(..., metrics=...)`."""

    async def heads() -> tuple[int, int]:
        async with pool.acquire() as conn:
            return await event_log.head(conn), await event_log.last_published(conn)

    newest_version = render(_LISTS_HEAD, schema)

    async def lists_head() -> int:
        return int(await pool.fetchval(newest_version))

    return AccessMetrics(projection, store=heads, commands=commands, relay=relay,
                         schedule=schedule, local_lists=local_lists,
                         lists_head=lists_head, corrupt=CORRUPT, cache=cache,
                         registry=REGISTRY, leading=leading).render
