"""Commands through the real broker into the real PostgreSQL store, results back out."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from events.topics import Topics
from services.access.bootstrap import AccessService
from services.common.config import Settings
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def settings(database_url: str, kafka_bootstrap: str) -> Settings:
    return dataclasses.replace(
        Settings(), database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"t{uuid.uuid4().hex[:8]}."), token_secret=b"test-secret",
        consumer_group_prefix=f"g{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="module")
async def service(settings: Settings) -> AsyncIterator[AccessService]:
    service = AccessService(settings, serve_api=False)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
async def client(settings: Settings, service: AccessService) -> AsyncIterator[CommandClient]:
    client = CommandClient(settings.kafka_bootstrap_servers, settings.topics)
    await client.start()
    yield client
    await client.stop()


async def test_register_users_and_charger_get_accepted_with_positions(client: CommandClient) -> None:
    owner, guest, charger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = await client.run("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no"}, owner)
    second = await client.run("RegisterUser", {"user_id": str(guest), "email": f"{guest}@example.no", "locale": "nb"}, guest)
    third = await client.run("RegisterCharger", {"charger_id": str(charger), "serial_number": f"SN-{charger.hex[:10]}", "name": "Garasje"}, owner)
    assert [r["status"] for r in (first, second, third)] == ["accepted"] * 3
    assert first["position"] < second["position"] < third["position"]
    registered = await client.wait_events(lambda e: e["type"] == "ChargerRegistered" and e["subject"] == str(charger))
    assert registered[0]["data"]["owner_id"] == str(owner)
    assert registered[0]["sequence"] == third["position"]


async def test_same_command_twice_has_one_effect_and_equal_results(client: CommandClient) -> None:
    user = uuid.uuid4()
    command_id = str(uuid.uuid4())
    data = {"user_id": str(user), "email": f"{user}@example.no"}
    await client.send("RegisterUser", data, user, command_id)
    await client.send("RegisterUser", data, user, command_id)
    first = await client.wait_results([command_id])
    registered = await client.wait_events(lambda e: e["type"] == "UserRegistered" and e["subject"] == str(user))
    # Both deliveries answered, identically; one event.
    import asyncio
    for _ in range(200):
        if len(client.results.get(f"{command_id}#all", [])) >= 2:  # type: ignore[arg-type]
            break
        await asyncio.sleep(0.05)
    answers = client.results[f"{command_id}#all"]
    assert len(answers) == 2
    assert answers[0] == answers[1] == first[0]
    assert len(registered) == 1


async def test_malformed_message_goes_to_dlq_and_invalid_command_gets_result(client: CommandClient) -> None:
    await client.send_raw(b"{not json", key="x")
    bad_id = str(uuid.uuid4())
    await client.send_raw(json.dumps({"specversion": "1.0", "id": bad_id, "source": "t", "type": "NoSuchThing", "actor": str(uuid.uuid4()), "data": {}}).encode())
    invalid = await client.run("RegisterUser", {"user_id": "nope", "email": "x"}, uuid.uuid4())
    assert invalid["status"] == "rejected"
    assert invalid["reason"] == "invalid"
    assert {tuple(e["loc"]) for e in invalid["errors"]} == {("user_id",), ("email",)}
    unknown = (await client.wait_results([bad_id]))[0]
    assert unknown["reason"] == "invalid"
    assert "NoSuchThing" in unknown["detail"]
    import asyncio
    for _ in range(200):
        if len(client.dead_letters) >= 2:
            break
        await asyncio.sleep(0.05)
    assert {d.value for d in client.dead_letters} >= {b"{not json"}
    assert len(client.dead_letters) == 2


async def test_binary_binding_is_accepted(client: CommandClient) -> None:
    user = uuid.uuid4()
    command_id = str(uuid.uuid4())
    headers = [("ce_specversion", b"1.0"), ("ce_id", command_id.encode()), ("ce_source", b"tests"),
               ("ce_type", b"RegisterUser"), ("ce_actor", str(user).encode())]
    await client.send_raw(json.dumps({"user_id": str(user), "email": f"{user}@example.no"}).encode(),
                          key=str(user), headers=headers)
    result = (await client.wait_results([command_id]))[0]
    assert result["status"] == "accepted"
