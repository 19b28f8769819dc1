"""The composition root: the read model (PostgreSQL), the list-change follower (Kafka) and
the WebSocket server wired together. `OcppGateway` can run in-process (tests) or from
`main` until a signal."""

from __future__ import annotations

import logging

import asyncpg

from services.access.projection.sql import DEFAULT_SCHEMA
from services.common.config import DEV_ENV
from services.common.kafka import ensure_settings_topics
from services.ocpp_gateway.authorize import Authorizer
from services.ocpp_gateway.chargers import ChargerDirectory
from services.ocpp_gateway.config import GatewaySettings
from services.ocpp_gateway.follower import ListChangeFollower
from services.ocpp_gateway.lists import ReadModelLists
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.registry import Connected
from services.ocpp_gateway.server import OcppServer
from services.ocpp_gateway.session import Backing
from services.ocpp_gateway.tls import server_context
from services.ocpp_gateway.versions import DIALECTS

log = logging.getLogger(__name__)


class OcppGateway:
    def __init__(self, settings: GatewaySettings, schema: str = DEFAULT_SCHEMA) -> None:
        self.settings = settings
        self._schema = schema
        self.connected = Connected()
        self.metrics = GatewayMetrics(self._connected_by_version)
        self._pool: asyncpg.Pool | None = None
        self._follower: ListChangeFollower | None = None
        self.server: OcppServer | None = None

    def _connected_by_version(self) -> dict[str, int]:
        zero = {d.ocpp_version: 0 for d in DIALECTS.values()}
        return zero | self.connected.by_version()

    async def start(self) -> None:
        common, settings = self.settings.common, self.settings
        tls = (server_context(settings.tls_cert_file, settings.tls_key_file)
               if settings.security_profile == 2 else None)
        if settings.security_profile == 0 and common.app_env != DEV_ENV:
            log.warning("OCPP_SECURITY_PROFILE=0: any caller who knows a serial number is let "
                        "in as that charger and is sent its local list (its users' tokens); "
                        "set 1 or 2 (README, docs/security.md)")
        await ensure_settings_topics(common, [common.topics.local_lists])
        self._pool = await asyncpg.create_pool(common.database_url, min_size=1, max_size=10)
        self._follower = ListChangeFollower(
            common,
            common.topics.local_lists,
            self.connected,
            self.metrics,
        )
        await self._follower.start()
        backing = Backing(
            Authorizer(self._pool, self._schema),
            ReadModelLists(self._pool, self._schema),
            self.metrics,
            settings.heartbeat_seconds,
            settings.call_timeout_seconds,
            settings.recheck_seconds,
        )
        directory = ChargerDirectory(self._pool, self._schema)
        self.server = OcppServer(
            backing, self.connected, directory.charger_id, settings.max_frame_bytes,
            settings.passwords(), tls, renew_passwords=settings.renews_passwords(),
            metrics_tokens=common.api_tokens,
        )
        await self.server.start(settings.host, settings.port)
        log.info("following %s (every partition)", common.topics.local_lists)

    async def stop(self) -> None:
        """Close the chargers' connections (they reconnect, to any instance), then the rest."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
