"""A broker with memory storage that restarts comes back without topics: the access
service recreates them and carries on from the store, as one process or as its command
side and its read side apart (`ACCESS_ROLE`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessRole, AccessSettings
from services.common.kafka import ensure_topics
from services.local.tansu import free_port, start_tansu
from tests.kafka_helpers import CommandClient
from tests.polling import until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("roles", [("all",), ("commands", "queries")])
async def test_commands_flow_again_after_the_broker_restarts_empty(
        new_database: Any, roles: tuple[AccessRole, ...]) -> None:
    port = free_port()
    broker = start_tansu(port)
    settings = AccessSettings(
        database_url=new_database(), kafka_bootstrap_servers=f"127.0.0.1:{port}",
        topics=Topics("restart."), consumer_group_prefix="broker-restart",
        broker_check_seconds=0.5,
    )
    services = [AccessService(settings.model_copy(update={"access_role": role}),
                              serve_api=False) for role in roles]
    for service in services:
        await service.start()
    try:
        client = CommandClient(settings.kafka_bootstrap_servers, settings.topics)
        await client.start()
        before = uuid.uuid4()
        assert (await client.run("RegisterUser", {"user_id": str(before), "email": f"{before}@x.no"}, before))["status"] == "accepted"
        await client.stop()
        await asyncio.sleep(1.5)  # the service notes its committed offsets (every 0.5 s here)

        broker.kill()
        broker.wait()
        broker = start_tansu(port)  # same address, no topics, no offsets

        client = CommandClient(settings.kafka_bootstrap_servers, settings.topics)
        await client.start()
        after = uuid.uuid4()
        result = await client.run("RegisterUser", {"user_id": str(after), "email": f"{after}@x.no"}, after)
        assert result["status"] == "accepted"
        published = await client.wait_events(lambda e: e["subject"] == str(after))
        assert published[0]["type"] == "UserRegistered"
        # What the dead broker held is published again from the store, for consumers that
        # had not read it yet (they dedupe on the event id).
        again = await client.wait_events(lambda e: e["subject"] == str(before))
        assert again[0]["type"] == "UserRegistered"
        await client.stop()
    finally:
        for service in services:
            await service.stop()
        broker.kill()
        broker.wait()


async def test_a_new_broker_gets_the_whole_log_whoever_made_its_topics(
        new_database: Any) -> None:
    """The relay's position is the database's, the topics are the broker's: on a new
    broker whose `access.events` another service made first (the notification service
    makes it too), the log is published there again. Before, only a topic the access
    service had made itself was rewound, so which service started first decided whether
    the new broker ever saw the log (`make bench-growth` met it: 0 events republished)."""
    url, topics = new_database(), Topics("newbroker.")
    first_port = free_port()
    first = start_tansu(first_port)
    settings = AccessSettings(database_url=url, kafka_bootstrap_servers=f"127.0.0.1:{first_port}",
                              topics=topics, consumer_group_prefix="new-broker")
    service = AccessService(settings, serve_api=False)
    await service.start()
    try:
        client = CommandClient(settings.kafka_bootstrap_servers, topics)
        await client.start()
        before = uuid.uuid4()
        assert (await client.run("RegisterUser", {"user_id": str(before), "email": f"{before}@x.no"}, before))["status"] == "accepted"
        await client.wait_events(lambda e: e["subject"] == str(before))  # published there
        await client.stop()
    finally:
        await service.stop()
        first.kill()
        first.wait()

    second_port = free_port()
    second = start_tansu(second_port)
    moved = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{second_port}"})
    # Made first by someone else, as the notification service's start does.
    assert await ensure_topics(moved.kafka_bootstrap_servers, [topics.events]) == [topics.events]
    service = AccessService(moved, serve_api=False)
    await service.start()
    try:
        client = CommandClient(moved.kafka_bootstrap_servers, topics)
        await client.start()
        again = await client.wait_events(lambda e: e["subject"] == str(before))
        assert again[0]["type"] == "UserRegistered"
        await client.stop()
        await service.stop()

        # The same broker again: its topics hold the log, so nothing is published again.
        service = AccessService(moved, serve_api=False)
        await service.start()
        assert service.relay is not None
        await until(lambda: service.leadership is not None and service.leadership.leading)
        await asyncio.sleep(1.0)  # a rewind would have begun publishing by now
        assert service.relay.published == 0
    finally:
        await service.stop()
        second.kill()
        second.wait()
