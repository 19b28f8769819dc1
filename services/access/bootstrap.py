"""Composition root of the access service: one process runs the command consumer, the
relay, the projection, the boundary scheduler and the query API, all on one event loop;
or, by `ACCESS_ROLE`, the command side (`commands`) or the read side (`queries`) of them.

Tests build the same object with their own settings, so what they exercise is what
`make run` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker

from services.access.api.serving import POOL_CLOSE_SECONDS, QueryApi
from services.access.config import AccessSettings
from services.access.eventlog.reader import EventLog, pooled
from services.access.eventlog.watch import LogWatch
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.local_lists.publisher import LocalListPublisher
from services.access.messaging.commands import CommandConsumer
from services.access.messaging.relay import Relay
from services.access.messaging.traces import stored_traces, traces_at
from services.access.metrics import service_metrics
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import READ_MODELS_CHANNEL, create_schema
from services.access.schedule.book_table import ShareBook
from services.access.schedule.log import ShareLog
from services.access.schedule.runner import BoundaryScheduler
from services.access.store.application import AccessStore, open_store
from services.common import tracing
from services.common.batch_consumer import STOP_STEP_SECONDS
from services.common.incarnation import Incarnation
from services.common.kafka import broker_options, empty_topics, ensure_settings_topics, keep_topics
from services.common.leadership import Leadership
from services.common.pools import keep_session
from services.common.stopping import QUICK_STEP_SECONDS, stop_step, within
from services.common.timeouts import wait_for

if TYPE_CHECKING:
    from services.access.api.context import Metrics, ReadPosition

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 15.0
"""How long a stop waits for the command batch in hand before cutting it (redelivered)."""
DRAIN_SECONDS = (GRACEFUL_TIMEOUT_SECONDS + 2 * STOP_STEP_SECONDS + 2 * POOL_CLOSE_SECONDS
                 + 4 * QUICK_STEP_SECONDS)
"""The longest a SIGTERM's drain waits: the batch in hand, the consumer's last commit and
leaving the group, the API's pool and the service's, and the four steps that should take
no time (the projection, the API's server and position poller, the log watch; each
bounded, `within`).
Compose's `stop_grace_period` must cover it."""
LOST_TOPICS_SECONDS = 30.0
"""The longest a term's start asks the broker which of its topics were made anew."""


class AccessService:
    def __init__(self, settings: AccessSettings, *, serve_api: bool = True) -> None:
        self.settings = settings
        self._serve_api = serve_api
        self._tasks: list[asyncio.Task[Any]] = []
        self.store: AccessStore | None = None
        self.pool: asyncpg.Pool | None = None
        self.broker: KafkaBroker | None = None
        self.consumer: CommandConsumer | None = None
        self.relay: Relay | None = None
        self.local_lists: LocalListPublisher | None = None
        self.projection: ProjectionRunner | None = None
        self.scheduler: BoundaryScheduler | None = None
        self._scheduler_store: AccessStore | None = None
        self._watch: LogWatch | None = None
        self.api: QueryApi | None = None
        self._incarnation: Incarnation | None = None
        self.leadership: Leadership | None = None

    @property
    def runs_commands(self) -> bool:
        """The command consumer and the followers that publish run here (`ACCESS_ROLE`)."""
        return self.settings.access_role != "queries"

    @property
    def runs_projection(self) -> bool:
        return self.settings.access_role != "commands"

    async def start(self) -> None:
        s = self.settings
        self.pool = await asyncpg.create_pool(s.database_url, min_size=2, max_size=8,
                                              reset=keep_session)
        async with self.pool.acquire() as conn:
            await create_schema(conn)
        self._watch = LogWatch(s.database_url)
        if self.runs_commands:
            await self._start_commands()
        if self.runs_projection:
            self.projection = ProjectionRunner(self.pool,
                                               pooled(self.pool, ProjectionLog(EventLog())))
            self._watch.wake(self.projection.notify)
            if self.local_lists is not None:
                self.projection.on_advance(self.local_lists.notify)
        await self._watch.start()
        if self.runs_commands:
            await self._start_consuming()
        if self.projection is not None:
            self.projection.start()
        if self._serve_api:
            await self._start_api()
        log.info("access service started (%s)", s.access_role)

    async def _start_commands(self) -> None:
        """The command side: the store, the consumer and the log's publishing followers,
        woken by the store's commits (and the local lists by the read models')."""
        s = self.settings
        assert self.pool is not None
        assert self._watch is not None
        self.store = await asyncio.to_thread(open_store, s.database_url,
                                             cache=s.aggregate_cache,
                                             cache_bytes=int(s.aggregate_cache_mb * 2**20))
        await ensure_settings_topics(s, s.topics.all())
        # No linger: a batch's results are all queued before the producer's next send, so
        # they share requests anyway, and a lone command's result went 2 ms later.
        self.broker = KafkaBroker(
            **broker_options(s), acks="all", enable_idempotence=False, linger_ms=0,
            client_id="charger-access", logger=None, graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
        )
        rules = Rules(s.token_secret.get_secret_value(),
                      timedelta(seconds=s.invitation_ttl_seconds), operators=s.operator_ids,
                      previous_token_secrets=tuple(
                          p.get_secret_value() for p in s.previous_token_secrets))
        self.consumer = CommandConsumer(self.broker, Executor(self.store, rules), s.topics)
        self._incarnation = Incarnation(s.database_url, "access", s.access_instance)
        await self._incarnation.begin(on_lost=self._stop_consuming)
        self.relay = Relay(self.pool, pooled(self.pool, EventLog()), self.broker,
                           s.topics.events,
                           traces=stored_traces(self.pool) if tracing.enabled() else None)
        self.local_lists = LocalListPublisher(
            self.pool, self.broker, s.topics.local_lists,
            traces=traces_at(self.pool) if tracing.enabled() else None)
        # A store of its own: the store's key ring is per batch, not shared across threads.
        self._scheduler_store = await asyncio.to_thread(open_store, s.database_url,
                                                        pool_size=1)
        book = ShareBook(self.pool)
        await book.setup()
        self.scheduler = BoundaryScheduler(self._scheduler_store, pooled(self.pool, ShareLog()),
                                           s.share_ending_notice,
                                           horizon=s.schedule_horizon, book=book,
                                           capacity=s.schedule_capacity)
        self._watch.wake(self.relay.notify)
        self._watch.wake(self.scheduler.notify)
        # The projection may run in another process (or instance): its commits wake the
        # lists wherever it runs; beside it, `on_advance` wakes them without a round trip.
        self._watch.wake(self.local_lists.notify, READ_MODELS_CHANNEL)

    async def _start_consuming(self) -> None:
        s = self.settings
        assert self.broker is not None
        assert self.consumer is not None
        assert self._incarnation is not None
        await self.broker.start()
        await self.consumer.start(s, f"{s.consumer_group_prefix}-access",
                                  self._incarnation.group_instance_id,
                                  graceful_seconds=GRACEFUL_TIMEOUT_SECONDS)
        self.leadership = Leadership(s.database_url, f"{s.consumer_group_prefix}-followers",
                                     self._lead)
        self._tasks.append(asyncio.create_task(self.leadership.run(), name="leadership"))
        self._tasks.append(asyncio.create_task(keep_topics(
            s, s.topics.all(), on_created=self._topics_created),
            name="topics"))

    async def _lead(self) -> None:
        """The followers run once per deployment, by the instance that leads
        (`services.common.leadership`): the relay, the local-list publisher, the broker's
        state watch and the boundary scheduler. Positions are read afresh at each term:
        another instance may have led meanwhile."""
        assert self.relay is not None
        assert self.local_lists is not None
        assert self.scheduler is not None
        await self.relay.setup()
        await self.local_lists.setup()
        await self._topics_created(await self._lost_topics(), leading=True)
        self.scheduler.start()
        try:
            await asyncio.gather(
                self.relay.run(), self.local_lists.run(),
                self.relay.watch_broker_state(self._commands_consumer,
                                              self.settings.broker_check_seconds,
                                              also=[self.local_lists.rewind]))
        finally:
            await self.scheduler.stop()

    async def _lost_topics(self) -> list[str]:
        """The publishers' topics found empty although their positions say they published
        there: made anew (a new broker, or a memory broker restarted while no instance
        led), whichever service made them. Asked at each term's start, not only of the
        topics this process made: the notification service makes `access.events` too,
        and when it came first the log was never published on the new broker."""
        assert self.relay is not None
        assert self.local_lists is not None
        topics = self.settings.topics
        published = {topics.events: self.relay.position,
                     topics.local_lists: self.local_lists.position}
        # Bounded: a term that hangs here would never publish; one that fails is retried.
        return await wait_for(empty_topics(
            self.settings, [t for t, at in published.items() if at > 0]), LOST_TOPICS_SECONDS)

    async def _topics_created(self, created: list[str], *, leading: bool = False) -> None:
        """Rewind the publishers of topics created empty, on the leader only (a standby's
        positions are not the ones in use)."""
        if not (leading or (self.leadership is not None and self.leadership.leading)):
            return
        if self.relay is not None and self.settings.topics.events in created:
            await self.relay.rewind()
        if self.local_lists is not None and self.settings.topics.local_lists in created:
            await self.local_lists.rewind()

    async def _stop_consuming(self) -> None:
        """Another instance took this one's name (static group membership) while the
        database was away: consuming on would share a member id with it. The API, relay
        and projection go on (they need no name); readiness turns false."""
        if self.consumer is not None:
            await self.consumer.stop()

    def _commands_consumer(self) -> AIOKafkaConsumer | None:
        """The command consumer's Kafka consumer, while it consumes."""
        return None if self.consumer is None else self.consumer.kafka

    async def _start_api(self) -> None:
        assert self.pool is not None
        self.api = QueryApi(self.settings)
        leadership = self.leadership
        pool = self.pool

        def metrics(position: ReadPosition) -> Metrics:
            return service_metrics(pool, EventLog(), self.projection or position,
                                   self.consumer, self.relay, self.scheduler,
                                   self.local_lists, leading=None if leadership is None
                                   else lambda: leadership.leading,
                                   cache=None if self.store is None else self.store.cache)

        await self.api.start(self.projection, self.readiness, metrics)

    async def readiness(self) -> dict[str, bool]:
        """The checks of the parts this process runs (`ACCESS_ROLE`)."""
        checks: dict[str, bool] = {}
        if self.runs_commands:
            consumer = self._commands_consumer()
            checks["commands_consumer_assigned"] = bool(consumer is not None
                                                        and consumer.assignment())
            seeking = any(t.get_name() == "leadership" and not t.done() for t in self._tasks)
            leadership = self.leadership
            # Leading with the relay running, or standing by for the instance that leads.
            checks["relay_running"] = (seeking and leadership is not None
                                       and leadership.state != "starting")
        if self.runs_projection:
            checks["projection_running"] = (self.projection is not None
                                            and not self.projection.stalled())
        return checks

    async def _stop_senders(self) -> None:
        """The followers and the command consumer, while the broker still takes what
        they send (the batch in hand finishes: its results need the broker)."""
        for task in self._tasks:
            if task.get_name() == "leadership":
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.consumer is not None:
            await self.consumer.stop()

    async def stop(self) -> None:
        if self.api is not None:
            self.api.stop_serving()
        async with stop_step("the followers and the command consumer"):
            await self._stop_senders()
        if self.broker is not None:
            async with stop_step("the Kafka producer"):
                await self.broker.stop()
        async with stop_step("the background tasks"):
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.projection is not None:
            await within("the projection", self.projection.stop(), QUICK_STEP_SECONDS)
        if self.api is not None:
            async with stop_step("the query API"):
                await self.api.stop()
        if self._watch is not None:
            await within("the log watch", self._watch.stop(), QUICK_STEP_SECONDS)
        if self.pool is not None and not await within(
                "the service's pool", self.pool.close(), POOL_CLOSE_SECONDS):
            self.pool.terminate()  # close waits for every connection back: cut them
        async with stop_step("the stores"):
            if self.store is not None:
                await asyncio.to_thread(self.store.close)
            if self._scheduler_store is not None:
                await asyncio.to_thread(self._scheduler_store.close)
        if self._incarnation is not None:
            async with stop_step("the instance's name"):
                await self._incarnation.end()
        log.info("access service stopped")
