"""Killing the access service (kill -9) under a steady command load loses nothing and
applies nothing twice: every command has one stored result, every event is stored once,
the relay and the projection resume where they were."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.e2e.conftest import System, access_alone
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e

COMMANDS = 400


@pytest.fixture(scope="module")
def system(new_database: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = access_alone(new_database(), kafka_bootstrap, "rs", tmp_path_factory.mktemp("restart"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def test_kill_9_under_load_loses_nothing_and_applies_nothing_twice(system: System) -> None:
    access = system.access
    assert access is not None
    client = CommandClient(system.kafka, system.topics)
    await client.start()
    users = [uuid.uuid4() for _ in range(COMMANDS)]
    sent: list[str] = []

    async def load() -> None:
        for user in users:
            sent.append(await client.send("RegisterUser", {"user_id": str(user), "email": f"{user}@example.no"}, user))
            await asyncio.sleep(0.005)

    sender = asyncio.create_task(load())
    # Kill the service while commands keep coming, then start it again.
    while len(sent) < COMMANDS // 4:  # noqa: ASYNC110 - polls the sender task's progress
        await asyncio.sleep(0.01)
    await client.wait_results(sent[: COMMANDS // 4], timeout=60)
    await asyncio.to_thread(access.kill)
    await asyncio.to_thread(access.start)
    await sender
    results = await client.wait_results(sent, timeout=60)

    # Every command accepted: a command applied twice would have been answered already_exists.
    assert [r["status"] for r in results] == ["accepted"] * COMMANDS
    # Redelivering every command again changes nothing and gives the same answers.
    for user, command_id in zip(users, sent, strict=True):
        await client.send("RegisterUser", {"user_id": str(user), "email": f"{user}@example.no"}, user, command_id)
    for _ in range(600):
        if all(len(client.results[f"{c}#all"]) >= 2 for c in sent):  # type: ignore[arg-type]
            break
        await asyncio.sleep(0.05)

    conn = await asyncpg.connect(system.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM chargeraccess_events WHERE topic LIKE '%User.UserRegistered'")
        assert stored == COMMANDS
        assert await conn.fetchval("SELECT count(*) FROM command_results") == COMMANDS
        # The relay published every stored event; duplicates only as exact re-sends.
        published = await client.wait_events(lambda e: e["type"] == "UserRegistered", count=COMMANDS)
        by_id: dict[str, dict[str, Any]] = {}
        for event in published:
            assert by_id.setdefault(event["id"], event) == event
        assert len(by_id) == COMMANDS
        # The projection applied each event exactly once and caught up.
        for _ in range(300):
            users_in_read_model = await conn.fetchval("SELECT count(*) FROM read.users")
            if users_in_read_model >= COMMANDS:
                break
            await asyncio.sleep(0.1)
        assert users_in_read_model == COMMANDS
        answers = [r for c in sent for r in client.results[f"{c}#all"]]  # type: ignore[union-attr]
        assert len(answers) >= 2 * COMMANDS
        assert all(r == client.results[r["command_id"]] for r in answers)
    finally:
        await conn.close()
        await client.stop()
