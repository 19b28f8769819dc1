"""The access service in this test's process on a database and topics of its own, with a
command client on Kafka and the query API over ASGI: commands go the real way in, and
answers come from the service's own pool."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator

import httpx

from charger_access_client.topics import Topics
from services.access.api import create_app
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from tests.kafka_helpers import CommandClient


@dataclasses.dataclass
class Running:
    service: AccessService
    client: CommandClient
    api: httpx.AsyncClient
    bootstrap: str


async def _ready() -> dict[str, bool]:
    return {}


@contextlib.asynccontextmanager
async def access_service(database_url: str, kafka_bootstrap: str, token: str
                         ) -> AsyncIterator[Running]:
    run = uuid.uuid4().hex[:8]
    settings = AccessSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"t{run}."), token_secret=b"test-secret",
        consumer_group_prefix=f"t{run}", api_tokens=frozenset({token}))
    service = AccessService(settings, serve_api=False)
    await service.start()
    client = CommandClient(kafka_bootstrap, settings.topics)
    await client.start()
    assert service.pool is not None
    assert service.projection is not None
    app = create_app(service.pool, settings, service.projection, _ready)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a",
                                     headers={"Authorization": f"Bearer {token}"}) as api:
            yield Running(service, client, api, kafka_bootstrap)
    finally:
        await client.stop()
        await service.stop()
