"""The composition root: wires PostgreSQL, SMTP, Kafka and the service layer together.

`NotificationService` can be started and stopped in-process (the integration tests do)
or run by `main` until a signal arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from faststream.kafka import KafkaBroker

from services.common.batch_consumer import STOP_STEP_SECONDS, BatchConsumer
from services.common.incarnation import Incarnation
from services.common.kafka import broker_options, ensure_settings_topics
from services.common.pools import keep_session
from services.common.timeouts import wait_for
from services.notifications.config import NotificationSettings
from services.notifications.consumer import KafkaDeadLetters, events_consumer
from services.notifications.delivery.deliverer import Deliverer
from services.notifications.delivery.sender import Sender
from services.notifications.http import MetricsServer
from services.notifications.mail.render import LinkSettings, Renderer
from services.notifications.sent_log.queue import SentLog
from services.notifications.smtp.pool import SmtpPool

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 30.0
DRAIN_SECONDS = 3 * GRACEFUL_TIMEOUT_SECONDS + 2 * STOP_STEP_SECONDS
"""The longest a SIGTERM's drain waits: the batch in hand, the retry loop, then the sends
under way, each up to the graceful timeout, and the consumer's last commit and leaving the
group; compose's `stop_grace_period` must cover it."""


class NotificationService:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._smtp: SmtpPool | None = None
        self._broker: KafkaBroker | None = None
        self._consumer: BatchConsumer | None = None
        self.deliverer: Deliverer | None = None
        self.sent_log: SentLog | None = None
        self.metrics: MetricsServer | None = None
        self._stopping = asyncio.Event()
        self._retries: asyncio.Task[None] | None = None
        self._incarnation: Incarnation | None = None

    async def start(self) -> None:
        common = self.settings.common
        await ensure_settings_topics(
            common, [common.topics.events, common.topics.notifications_dlq]
        )
        # Claims, outcomes and the retry loop; each SMTP sender keeps a connection of
        # its own, outside the pool, for its hand-over marks (`sent_log.hand_over`).
        self._pool = await asyncpg.create_pool(
            common.database_url, min_size=1, max_size=6, reset=keep_session,
        )
        keys = self.settings.recipient_keys()
        sent_log = self.sent_log = SentLog(self._pool, keys, database_url=common.database_url)
        await sent_log.create_schema()
        self._incarnation = Incarnation(
            common.database_url, "notifications", self.settings.instance
        )
        if await self._incarnation.begin(on_lost=self._stop_consuming):
            taken = await sent_log.take_over(self._incarnation.name)
            if taken:
                log.info("took over %d e-mails a previous incarnation had leased", taken)
        sent_log.owner = self._incarnation.name
        host, port = common.smtp_host_port
        self._smtp = SmtpPool(
            host, port, self.settings.smtp_connections, self.settings.smtp_timeout_seconds,
            self.settings.smtp_security,
        )
        self._broker = KafkaBroker(
            **broker_options(common),
            acks="all",
            enable_idempotence=False,  # Tansu has no idempotent producer
            graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
            allow_auto_create_topics=False,
        )
        sender = Sender(
            settings=self.settings,
            renderer=Renderer(LinkSettings(common.public_base_url,
                                                common.token_secret.get_secret_value())),
            sent_log=sent_log,
            mailer=self._smtp,
            dead_letters=KafkaDeadLetters(self._broker, common.topics.notifications_dlq),
        )
        self.deliverer = Deliverer(self.settings, sent_log, sender)
        self._consumer = events_consumer(self.settings, self.deliverer,
                                         self._incarnation.group_instance_id,
                                         GRACEFUL_TIMEOUT_SECONDS)
        if self.settings.http_port:
            self.metrics = MetricsServer(self.deliverer, sent_log.depth, self.settings.http_port,
                                         self.settings.common.api_tokens,
                                         assigned=self._assigned)
            try:
                await self.metrics.start()
            except OSError as error:
                # E-mail matters more than its metrics: run on, loudly (healthcheck fails).
                log.error("no /metrics: port %d: %s", self.settings.http_port, error)
                self.metrics = None
        self._stopping = asyncio.Event()
        self._retries = asyncio.create_task(self.deliverer.run_retries(self._stopping))
        await self._broker.start()
        await self._consumer.start()
        log.info(
            "notification service consuming %s as %s", common.topics.events, self.settings.group_id
        )

    def _assigned(self) -> int:
        kafka = None if self._consumer is None else self._consumer.kafka
        return 0 if kafka is None else len(kafka.assignment())

    async def _stop_consuming(self) -> None:
        """Another instance took this one's name while the database was away: it takes
        over this one's leases and member id, so this one stops consuming and retrying
        (the sends under way finish)."""
        if self._consumer is not None:
            await self._consumer.stop()
        self._stopping.set()

    async def stop(self) -> None:
        """Finish the batch in hand (up to the graceful timeout) and the sends under way,
        then close everything."""
        if self._consumer is not None:
            await self._consumer.stop()
        self._stopping.set()
        if self._retries is not None:
            try:
                await wait_for(self._retries, GRACEFUL_TIMEOUT_SECONDS)
            except TimeoutError:
                log.warning("retry loop still busy at stop; its leases will run out")
            self._retries = None
        if self.deliverer is not None:
            with contextlib.suppress(TimeoutError):
                await wait_for(self.deliverer.drain(), GRACEFUL_TIMEOUT_SECONDS)
            await self.deliverer.close()
        if self._broker is not None:  # after the sends: a failed one's dead letter needs it
            await self._broker.stop()
            self._broker = None
        if self.metrics is not None:
            await self.metrics.stop()
            self.metrics = None
        if self._smtp is not None:
            await self._smtp.close()
            self._smtp = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._incarnation is not None:
            await self._incarnation.end()
            self._incarnation = None
