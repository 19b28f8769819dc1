"""After a database restart an instance takes its name again, or stops consuming.

A real restart of a throwaway cluster ends the lock's session. The race with a rival
(another instance given the same name, started while the database was away) is made
deterministic by holding the first instance's reconnection until the rival has begun.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.common.incarnation import Incarnation
from services.common.timeouts import wait_for
from services.local.postgres import LocalPostgres, ensure_database
from services.local.tansu import free_port
from tests.local_clusters import cluster_folder
from tests.polling import until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalPostgres]:
    """A cluster of this module's own (the machine's shared server is never restarted)."""
    with cluster_folder("ca-relock-") as base:
        server = LocalPostgres(base / "pg", free_port(), base / "pg.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()


async def restart(server: LocalPostgres) -> None:
    await asyncio.to_thread(server.restart)


def gate(incarnation: Incarnation) -> asyncio.Event:
    """Hold `incarnation`'s reconnections until the returned event is set."""
    opened = asyncio.Event()
    connect: Callable[[], Awaitable[asyncpg.Connection]] = incarnation._connect

    async def gated() -> asyncpg.Connection:
        await opened.wait()
        return await connect()

    incarnation._connect = gated  # type: ignore[method-assign]
    return opened


async def rival_holds(url: str, name: str) -> bool:
    """Whether a newcomer with this name gets it (it does only when nobody holds it)."""
    rival = Incarnation(url, "access", name, wait_seconds=0.3)
    try:
        return await rival.begin()
    finally:
        await rival.end()


async def test_after_a_restart_the_instance_takes_its_name_again(
        cluster: LocalPostgres) -> None:
    url, name = cluster.url(), f"relock-{uuid.uuid4().hex[:6]}"
    first = Incarnation(url, "access", name, retry_seconds=0.1)
    assert await first.begin()
    try:
        await restart(cluster)
        await until(lambda: first.relocks == 1)
        assert not first.lost
        assert not await rival_holds(url, name), "the name is held again after the restart"
        assert first.relocks == 1, "taken again once, not dropped and retaken"
    finally:
        await first.end()
    assert await rival_holds(url, name), "and freed when the instance ends"


async def test_a_relock_that_finds_the_name_taken_stops_consuming(
        cluster: LocalPostgres) -> None:
    url, name = cluster.url(), f"relock-{uuid.uuid4().hex[:6]}"
    told = asyncio.Event()

    async def on_lost() -> None:
        told.set()

    first = Incarnation(url, "access", name, retry_seconds=0.1)
    assert await first.begin(on_lost=on_lost)
    opened = gate(first)
    rival = Incarnation(url, "access", name, wait_seconds=0.5)
    try:
        await restart(cluster)
        assert await rival.begin(), "the rival takes the name while the first is away"
        opened.set()
        await wait_for(told.wait(), 30)
        assert first.lost
        assert first.relocks == 0
    finally:
        await rival.end()
        await first.end()


@pytest.fixture
async def access_service(cluster: LocalPostgres,
                         kafka_bootstrap: str) -> AsyncIterator[AccessService]:
    url = cluster.url(f"relock_{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(ensure_database, url)
    suffix = uuid.uuid4().hex[:6]
    settings = AccessSettings(
        database_url=url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"relock{suffix}."), consumer_group_prefix=f"relock-{suffix}",
        access_instance=f"access-{suffix}")
    service = AccessService(settings, serve_api=False)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def test_the_access_service_stops_consuming_commands_when_its_name_is_taken(
        cluster: LocalPostgres, access_service: AccessService) -> None:
    settings = access_service.settings
    incarnation: Any = access_service._incarnation
    await until(lambda: bool(access_service._commands_consumer()
                             and access_service._commands_consumer().assignment()))
    opened = gate(incarnation)
    rival = Incarnation(settings.database_url, "access", settings.access_instance,
                        wait_seconds=0.5)
    try:
        await restart(cluster)
        assert await rival.begin()
        opened.set()
        await until(lambda: incarnation.lost)
        await until(lambda: access_service._commands_consumer() is None)
        assert (await access_service.readiness())["commands_consumer_assigned"] is False
    finally:
        await rival.end()
