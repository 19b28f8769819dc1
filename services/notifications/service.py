"""The composition root: wires PostgreSQL, SMTP, Kafka and the service layer together.

`NotificationService` can be started and stopped in-process (the integration tests do)
or run by `main` until a signal arrives.
"""

from __future__ import annotations

import logging

import asyncpg
from faststream.kafka import KafkaBroker

from services.common.kafka import ensure_topics
from services.notifications.config import NotificationSettings
from services.notifications.consumer import KafkaDeadLetters, subscribe
from services.notifications.delivery import Deliverer
from services.notifications.render import LinkSettings, Renderer
from services.notifications.sent_log import SentLog
from services.notifications.smtp import SmtpPool

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 30.0


class NotificationService:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._smtp: SmtpPool | None = None
        self._broker: KafkaBroker | None = None
        self.deliverer: Deliverer | None = None

    async def start(self) -> None:
        common = self.settings.common
        await ensure_topics(
            common.kafka_bootstrap_servers, [common.topics.events, common.topics.notifications_dlq]
        )
        self._pool = await asyncpg.create_pool(common.database_url, min_size=1, max_size=10)
        sent_log = SentLog(self._pool)
        await sent_log.create_schema()
        host, port = common.smtp_host_port
        self._smtp = SmtpPool(
            host, port, self.settings.smtp_connections, self.settings.smtp_timeout_seconds
        )
        self._broker = KafkaBroker(
            common.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=False,  # Tansu has no idempotent producer
            graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
            allow_auto_create_topics=False,
        )
        self.deliverer = Deliverer(
            settings=self.settings,
            renderer=Renderer(LinkSettings(common.public_base_url, common.token_secret)),
            sent_log=sent_log,
            mailer=self._smtp,
            dead_letters=KafkaDeadLetters(self._broker, common.topics.notifications_dlq),
        )
        subscribe(self._broker, self.settings, self.deliverer)
        await self._broker.start()
        log.info(
            "notification service consuming %s as %s", common.topics.events, self.settings.group_id
        )

    async def stop(self) -> None:
        """Finish the batch in hand (up to the graceful timeout), then close everything."""
        if self._broker is not None:
            await self._broker.stop()
            self._broker = None
        if self._smtp is not None:
            await self._smtp.close()
            self._smtp = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
