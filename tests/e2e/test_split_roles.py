"""The access service split by `ACCESS_ROLE`: a `commands` process (consumer, relay, local
lists, scheduler) and a `queries` process (projection, query API) on one database and one
broker are the whole service. A command's write is read back from the queries process at
the result's position, its local-list change reaches Kafka though the projection that
made the new version runs in the other process, and each process's readiness names only
the parts it runs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from harness.database import Database
from harness.processes import http_text, metrics
from services.local.smtp_sink import SmtpSink
from tests.e2e.conftest import SECRET, TOKEN, System
from tests.kafka_helpers import CommandClient

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def split(new_database: Any, kafka_bootstrap: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(tmp_path_factory.mktemp("var"), SmtpSink(), name="split", token=TOKEN,
                     token_secret=SECRET, supervised=False, notifications=False,
                     kafka=kafka_bootstrap, database=Database(url=new_database()),
                     extra_env={"ACCESS_ROLE": "commands"})
    try:
        running.start()
        running.add_access(ACCESS_ROLE="queries")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def client(split: System) -> AsyncIterator[CommandClient]:
    commands = CommandClient(split.kafka, split.topics)
    await commands.start()
    try:
        yield commands
    finally:
        await commands.stop()


def queries_api(split: System) -> str:
    return split.api_of(split.more_access[0])


async def list_changes(split: System, charger_id: str, timeout: float = 20.0) -> list[Any]:
    """The `LocalListChanged` events of one charger on the topic, once one arrived."""
    consumer = AIOKafkaConsumer(split.topics.local_lists, bootstrap_servers=split.kafka,
                                group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while not found:
                batches = await consumer.getmany(timeout_ms=200)
                found += [event for records in batches.values() for r in records
                          if (event := json.loads(r.value))["subject"] == charger_id]
    finally:
        await consumer.stop()
    return found


async def test_a_write_is_read_back_from_the_queries_process_at_its_position(
        split: System, client: CommandClient) -> None:
    owner, charger = uuid.uuid4(), uuid.uuid4()
    await client.run("RegisterUser", {"user_id": str(owner), "email": f"o-{owner.hex}@x.example",
                                      "name": "Owner", "locale": "en"}, owner)
    result = await client.run("RegisterCharger", {
        "charger_id": str(charger), "name": "Split",
        "serial_number": f"SN-{charger.hex[:20]}"}, owner)
    assert result["status"] == "accepted"

    async with httpx.AsyncClient(headers=HEADERS, timeout=10) as http:
        answer = await http.get(f"{queries_api(split)}/v1/access/check", params={
            "user_id": str(owner), "charger_id": str(charger), "level": "manage",
            "min_position": result["position"]})
        # The commands process answers too, at the position the read models' table shows.
        tracked = await http.get(f"{split.api}/v1/access/check", params={
            "user_id": str(owner), "charger_id": str(charger), "level": "manage",
            "min_position": result["position"]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["allowed"] is True
    assert answer.json()["position"] >= result["position"]
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["allowed"] is True


async def test_a_local_list_change_is_published_though_the_projection_runs_elsewhere(
        split: System, client: CommandClient) -> None:
    owner, charger = uuid.uuid4(), uuid.uuid4()
    await client.run("RegisterUser", {"user_id": str(owner), "email": f"k-{owner.hex}@x.example",
                                      "name": "Owner", "locale": "en"}, owner)
    await client.run("RegisterCharger", {"charger_id": str(charger), "name": "Lists",
                                         "serial_number": f"SN-{charger.hex[:20]}"}, owner)
    key = await client.run("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(owner),
                                            "id_token": f"T{owner.hex[:12].upper()}"}, owner)
    assert key["status"] == "accepted", key

    changes = await list_changes(split, str(charger))

    assert changes[-1]["type"] == "LocalListChanged"
    # Published by the commands process, which leads; the queries process runs no publisher.
    seen = metrics(http_text(f"{split.api}/metrics", TOKEN))
    assert seen["access_local_lists_published_total"] >= 1
    assert "access_local_lists_published_total" not in metrics(
        http_text(f"{queries_api(split)}/metrics", TOKEN))
    # The aggregates kept between batches are the command side's: the owner was loaded
    # from them for the later commands, not decoded again.
    assert seen["access_aggregate_cache_states"] >= 2
    assert seen["access_aggregate_cache_hits_total"] >= 1
    assert seen["access_aggregate_cache_bytes"] > 0
    assert "access_aggregate_cache_states" not in metrics(
        http_text(f"{queries_api(split)}/metrics", TOKEN))


def test_each_process_is_ready_on_the_checks_of_the_parts_it_runs(split: System) -> None:
    commands = json.loads(http_text(f"{split.api}/readyz", TOKEN))
    queries = json.loads(http_text(f"{queries_api(split)}/readyz", TOKEN))

    assert commands["ready"] is True
    assert set(commands["checks"]) == {"commands_consumer_assigned", "relay_running",
                                       "database"}
    assert queries["ready"] is True
    assert set(queries["checks"]) == {"projection_running", "database"}
