"""The query API reads through a pool of its own: readers holding every connection it has
(many GETs waking at once when the projection advances) do not hold up the projection,
which the same GETs are waiting on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx

from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.local.tansu import free_port
from tests.kafka_helpers import CommandClient

TOKEN = "pool-token"


async def test_readers_holding_every_api_connection_do_not_stall_the_projection(
    database_url: str, kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    settings = AccessSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"t{run}."), token_secret=b"test-secret", consumer_group_prefix=f"g{run}",
        api_port=free_port(), api_tokens=frozenset({TOKEN}))
    service = AccessService(settings)
    await service.start()
    client = CommandClient(kafka_bootstrap, settings.topics)
    await client.start()
    try:
        assert service.api is not None
        pool = service.api.pool
        assert pool is not None
        assert pool is not service.pool
        async with contextlib.AsyncExitStack() as held:
            for _ in range(pool.get_max_size()):
                await held.enter_async_context(pool.acquire())
            user = uuid.uuid4()
            result = await client.run("RegisterUser", {"user_id": str(user),
                                                       "email": f"{user}@example.no"}, user)
            assert result["status"] == "accepted"
            assert service.projection is not None
            assert await service.projection.wait_for(result["position"], 15.0)
        # Released, the API answers from the projected row.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.api_port}",
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            for _ in range(100):
                try:
                    response = await api.get(f"/v1/users/{user}/chargers",
                                             params={"min_position": result["position"]})
                    break
                except httpx.TransportError:  # the server is still binding its port
                    await asyncio.sleep(0.1)
            assert response.status_code == 200
    finally:
        await client.stop()
        await service.stop()
