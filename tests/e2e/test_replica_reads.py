"""A query API reading a hot-standby streaming replica (`QUERY_DATABASE_URL`), the access
service writing to the primary: both clusters started here from the local PostgreSQL
binaries. `min_position` must hold on the replica: an answer that claims a position
shows every row of it, and a position the replica has not replayed is waited for (then
answered) or refused as `stale`, as SPEC says. Replay is paused to make the replica lag
on purpose. Lag under load is `python -m bench.replica_lag`, not here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from harness.database import Database
from harness.replica import ReplicatedDatabase
from services.local.smtp_sink import SmtpSink
from tests.e2e.conftest import SECRET, TOKEN, System
from tests.kafka_helpers import CommandClient


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedDatabase]:
    pair = ReplicatedDatabase(tmp_path_factory.mktemp("replica-log"))
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="module")
def system(replicated: ReplicatedDatabase, kafka_bootstrap: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(tmp_path_factory.mktemp("var"), SmtpSink(), name="replica", token=TOKEN,
                     token_secret=SECRET, supervised=False, notifications=False,
                     kafka=kafka_bootstrap, database=Database(url=replicated.url),
                     extra_env={"QUERY_DATABASE_URL": replicated.replica_url})
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def api(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with system.http() as client:
        client.timeout = httpx.Timeout(30)
        yield client


async def owner(commands: CommandClient) -> uuid.UUID:
    user = uuid.uuid4()
    result = await commands.run("RegisterUser", {"user_id": str(user), "name": "Owner",
                                                 "email": f"o-{user.hex}@replica.example",
                                                 "locale": "en"}, user)
    assert result["status"] == "accepted", result
    return user


async def new_charger(commands: CommandClient, user: uuid.UUID) -> tuple[uuid.UUID, int]:
    """A charger `user` owns (so may use), and the position of its registration."""
    charger = uuid.uuid4()
    result = await commands.run("RegisterCharger", {"charger_id": str(charger), "name": "R",
                                                    "serial_number": f"SN-{charger.hex[:20]}"},
                                user)
    assert result["status"] == "accepted", result
    return charger, int(result["position"])


def check(user: uuid.UUID, charger: uuid.UUID, **more: Any) -> dict[str, Any]:
    return {"user_id": str(user), "charger_id": str(charger), "level": "charge", **more}


async def on_replica(replicated: ReplicatedDatabase, sql: str) -> Any:
    conn = await replicated.connect_replica()
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_the_api_reads_the_replica(replicated: ReplicatedDatabase) -> None:
    """What the other tests rely on: the API's database is a standby, not the primary."""
    assert await on_replica(replicated, "SELECT pg_is_in_recovery()") is True
    assert replicated.replica_url != replicated.url


async def test_each_write_is_read_back_from_the_replica_at_its_position(
        commands: CommandClient, api: httpx.AsyncClient) -> None:
    user = await owner(commands)
    for _ in range(10):
        charger, position = await new_charger(commands, user)
        response = await api.get("/v1/access/check",
                                 params=check(user, charger, min_position=position))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["allowed"] is True, body
        assert body["position"] >= position


async def test_a_lagging_replica_holds_the_answer_until_it_replayed_the_position(
        commands: CommandClient, api: httpx.AsyncClient,
        replicated: ReplicatedDatabase) -> None:
    user = await owner(commands)
    await replicated.pause_replay()
    try:
        charger, position = await new_charger(commands, user)
        plain = (await api.get("/v1/access/check", params=check(user, charger))).json()
        assert plain["allowed"] is False, "replay is paused: the replica cannot know it"
        assert plain["position"] < position
        waiting = asyncio.create_task(
            api.get("/v1/access/check", params=check(user, charger, min_position=position)))
        await asyncio.sleep(1.0)
        assert not waiting.done(), "answered a position the replica has not replayed"
    finally:
        await replicated.resume_replay()
    response = await waiting
    assert response.status_code == 200, response.text
    assert response.json()["allowed"] is True
    assert response.json()["position"] >= position


async def test_a_replica_that_does_not_catch_up_in_time_answers_stale(
        commands: CommandClient, api: httpx.AsyncClient,
        replicated: ReplicatedDatabase) -> None:
    user = await owner(commands)
    await replicated.pause_replay()
    try:
        charger, position = await new_charger(commands, user)
        response = await api.get("/v1/access/check",
                                 params=check(user, charger, min_position=position))
    finally:
        await replicated.resume_replay()
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "stale"
    assert response.json()["position"] < position
    assert "Retry-After" in response.headers
