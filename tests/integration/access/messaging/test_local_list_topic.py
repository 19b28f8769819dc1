"""`access.local-lists` through the real processes: commands in over Kafka (Tansu), the
store, the projection, and the publisher following the versions table out to the topic.
Every version arrives once per charger in version order, keyed by the charger, as a
CloudEvent whose payloads pass the OCPP schemas and, applied in order, give the Full list
the query API answers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from tests.integration.access.messaging.in_process import Running, access_service
from tests.ocpp_schemas import validate

pytestmark = pytest.mark.integration

TOKEN = "local-list-topic"


@pytest.fixture
async def running(new_database: Any, kafka_bootstrap: str) -> AsyncIterator[Running]:
    async with access_service(new_database(), kafka_bootstrap, TOKEN) as service:
        yield service


async def consume(bootstrap: str, topic: str, count: int,
                  timeout: float = 30.0) -> list[Any]:
    """The first `count` records of `topic`, in the order its one consumer reads them."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            async for record in consumer:
                records.append(record)
                if len(records) >= count:
                    break
    finally:
        await consumer.stop()
    return records


def applied(held: dict[tuple[str, str], Any], request: dict[str, Any]) -> dict[tuple[str, str], Any]:
    result = dict(held)
    for entry in request.get("localAuthorizationList", []):
        key = entry["idToken"]["idToken"], entry["idToken"]["type"]
        if "idTokenInfo" in entry:
            result[key] = entry["idTokenInfo"]
        else:
            result.pop(key, None)
    return result


def applied_16(held: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    result = dict(held)
    for entry in request["localAuthorizationList"]:
        if "idTagInfo" in entry:
            result[entry["idTag"]] = entry["idTagInfo"]
        else:
            result.pop(entry["idTag"], None)
    return result


async def test_every_version_is_published_in_order_with_both_payloads(running: Running) -> None:
    client, api = running.client, running.api
    owner, driver, guest = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    charger1, charger2, group = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    driver_card, guest_card = uuid.uuid4(), uuid.uuid4()
    steps: list[tuple[str, dict[str, Any], uuid.UUID]] = [
        ("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no"}, owner),
        ("RegisterUser", {"user_id": str(driver), "email": f"{driver}@example.no"}, driver),
        ("RegisterUser", {"user_id": str(guest), "email": f"{guest}@example.no"}, guest),
        ("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(owner),
                          "id_token": "own1"}, owner),
        ("CreateGroup", {"group_id": str(group), "name": "Flåten"}, owner),
        ("RegisterCharger", {"charger_id": str(charger1), "serial_number": f"L-{charger1.hex[:10]}",
                             "group_id": str(group)}, owner),
        ("RegisterCharger", {"charger_id": str(charger2),
                             "serial_number": f"L-{charger2.hex[:10]}"}, owner),
        ("AddGroupMember", {"group_id": str(group), "user_id": str(driver), "role": "member"},
         owner),
        ("AddChargeKey", {"key_id": str(driver_card), "user_id": str(driver),
                          "id_token": "drv1"}, driver),
        ("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(driver),
                          "id_token": "drv1", "type": "KeyCode"}, driver),
        ("AddChargeKey", {"key_id": str(guest_card), "user_id": str(guest),
                          "id_token": "gst1"}, guest),
        ("BlockChargeKey", {"key_id": str(driver_card)}, driver),
        ("RemoveChargeKey", {"key_id": str(driver_card)}, driver),
        ("MoveChargerToGroup", {"charger_id": str(charger2), "group_id": str(group)}, owner),
        ("RemoveGroupMember", {"group_id": str(group), "user_id": str(driver)}, owner),
    ]
    for type_, data, actor in steps:
        result = await client.run(type_, data, actor)
        assert result["status"] == "accepted", result

    position = max(r["position"] for r in client.results.values()
                   if isinstance(r, dict) and "position" in r)
    latest: dict[str, int] = {}
    fulls: dict[str, tuple[dict[tuple[str, str], Any], dict[str, Any]]] = {}
    for charger in (charger1, charger2):
        full = (await api.get(f"/v1/chargers/{charger}/local-list/2.0.1",
                              params={"min_position": position})).json()
        full16 = (await api.get(f"/v1/chargers/{charger}/local-list/1.6",
                                params={"min_position": position})).json()
        latest[str(charger)] = full["version"]
        fulls[str(charger)] = (applied({}, full["request"]),
                               {e["idTag"]: e["idTagInfo"]
                                for e in full16["request"]["localAuthorizationList"]})
    assert latest[str(charger1)] >= 5
    assert latest[str(charger2)] >= 2

    records = await consume(running.bootstrap, running.service.settings.topics.local_lists,
                            sum(latest.values()))
    seen: dict[str, list[int]] = {}
    held: dict[str, dict[tuple[str, str], Any]] = {}
    held16: dict[str, dict[str, Any]] = {}
    for record in records:
        event = json.loads(record.value)
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
        assert record.key.decode() == event["subject"] == event["data"]["charger_id"]
        assert event["specversion"] == "1.0"
        assert event["type"] == "LocalListChanged"
        assert {"id", "time", "source"} <= set(event)
        data = event["data"]
        charger = data["charger_id"]
        assert data["previous_version"] == data["version"] - 1
        validate("1.6", "SendLocalList", data["ocpp16"])
        validate("2.0.1", "SendLocalListRequest", data["ocpp201"])
        assert data["ocpp16"]["updateType"] == data["ocpp201"]["updateType"] == "Differential"
        assert data["ocpp16"]["listVersion"] == data["ocpp201"]["versionNumber"] == data["version"]
        seen.setdefault(charger, []).append(data["version"])
        held[charger] = applied(held.get(charger, {}), data["ocpp201"])
        held16[charger] = applied_16(held16.get(charger, {}), data["ocpp16"])
    assert seen == {c: list(range(1, v + 1)) for c, v in latest.items()}
    for charger, (full, full16) in fulls.items():
        assert held[charger] == full
        assert held16[charger] == full16
    assert ("DRV1", "KeyCode") not in held[str(charger1)], "the driver left the group"
    assert held[str(charger2)] == {("OWN1", "ISO14443"): {"status": "Accepted"}}
