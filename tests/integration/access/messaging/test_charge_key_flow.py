"""Charge keys through the real command path: Kafka in, the PostgreSQL store, results and
events out, the projection and the query API (OCPP authorize) on the service's own pool."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.access.messaging.in_process import access_service
from tests.kafka_helpers import CommandClient
from tests.ocpp_schemas import validate_id_tag_info, validate_id_token_info

pytestmark = pytest.mark.integration

TOKEN = "charge-key-flow"


@pytest.fixture
async def running(new_database: Any, kafka_bootstrap: str
                  ) -> AsyncIterator[tuple[CommandClient, httpx.AsyncClient]]:
    async with access_service(new_database(), kafka_bootstrap, TOKEN) as service:
        yield service.client, service.api


async def test_keys_through_kafka_to_ocpp_authorize(running: tuple[CommandClient, httpx.AsyncClient]
                                                    ) -> None:
    client, api = running
    owner, driver, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    charger, group, key = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for type_, data, actor in [
        ("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no"}, owner),
        ("RegisterUser", {"user_id": str(driver), "email": f"{driver}@example.no"}, driver),
        ("RegisterUser", {"user_id": str(stranger), "email": f"{stranger}@example.no"}, stranger),
        ("CreateGroup", {"group_id": str(group), "name": "Flåten"}, owner),
        ("AddGroupMember", {"group_id": str(group), "user_id": str(driver), "role": "member"}, owner),
        ("RegisterCharger", {"charger_id": str(charger), "serial_number": f"K-{charger.hex[:10]}",
                             "group_id": str(group)}, owner),
    ]:
        assert (await client.run(type_, data, actor))["status"] == "accepted"

    forbidden = await client.run("AddChargeKey", {"key_id": str(key), "user_id": str(driver),
                                                  "id_token": "04a2b3c4"}, stranger)
    assert (forbidden["status"], forbidden["reason"]) == ("rejected", "forbidden")
    invalid = await client.run("AddChargeKey", {"key_id": str(key), "user_id": str(driver),
                                                "id_token": "04 A2", "type": "RFID"}, owner)
    assert (invalid["status"], invalid["reason"]) == ("rejected", "invalid")
    assert {e["loc"][-1] for e in invalid["errors"]} == {"id_token", "type"}

    added = await client.run("AddChargeKey", {"key_id": str(key), "user_id": str(driver),
                                              "id_token": "04a2b3c4", "label": "Varebil"}, owner)
    assert added["status"] == "accepted"
    taken = await client.run("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(stranger),
                                              "id_token": "04A2B3C4"}, stranger)
    assert (taken["status"], taken["reason"]) == ("rejected", "key_taken")
    [published] = await client.wait_events(
        lambda e: e["type"] == "ChargeKeyAdded" and e["subject"] == str(key))
    assert published["data"] == {"key_id": str(key), "user_id": str(driver),
                                 "id_token": "04A2B3C4", "type": "ISO14443", "label": "Varebil"}
    assert published["sequence"] == added["position"]

    params = {"charger_id": str(charger), "id_tag": "04a2b3c4", "min_position": added["position"]}
    v16 = (await api.get("/v1/ocpp/1.6/authorize", params=params)).json()
    validate_id_tag_info(v16["idTagInfo"])
    assert (v16["idTagInfo"], v16["user_id"], v16["key_id"]) == (
        {"status": "Accepted"}, str(driver), str(key))

    blocked = await client.run("BlockChargeKey", {"key_id": str(key)}, driver)
    assert blocked["status"] == "accepted"
    v201 = (await api.get("/v1/ocpp/2.0.1/authorize", params={
        "charger_id": str(charger), "id_token": "04A2B3C4", "type": "ISO14443",
        "min_position": blocked["position"]})).json()
    validate_id_token_info(v201["idTokenInfo"])
    assert v201["idTokenInfo"] == {"status": "Blocked"}

    removed = await client.run("RemoveChargeKey", {"key_id": str(key)}, owner)
    assert removed["status"] == "accepted"
    keys = (await api.get(f"/v1/users/{driver}/charge-keys",
                          params={"min_position": removed["position"]})).json()
    assert keys["keys"] == []
    again = await client.run("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(stranger),
                                              "id_token": "04A2B3C4"}, stranger)
    assert again["status"] == "accepted"
