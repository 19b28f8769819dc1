"""Time-bound shares through the real access service (its own OS process, which the test
stops): the boundary events reach `access.events` within 1 s of their nominal time and
the check flips with them; a boundary passed while the service was down is appended once,
with its nominal time, when it starts again (resuming from the timetable it saved)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import System, access_alone
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e

BOUNDARIES = ("ShareCameIntoEffect", "ShareWentOutOfEffect")


@pytest.fixture(scope="module")
def system(new_database: Any, kafka_bootstrap: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = access_alone(new_database(), kafka_bootstrap, "sb",
                           tmp_path_factory.mktemp("boundaries"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def client(system: System) -> AsyncIterator[CommandClient]:
    commands = CommandClient(system.kafka, system.topics)
    await commands.start()
    yield commands
    await commands.stop()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def owner_guest_charger(client: CommandClient) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    owner, guest, charger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for user in (owner, guest):
        result = await client.run("RegisterUser", {"user_id": str(user),
                                                   "email": f"{user.hex[:10]}@example.no"}, user)
        assert result["status"] == "accepted", result
    result = await client.run("RegisterCharger", {"charger_id": str(charger),
                                                  "serial_number": f"SB-{charger.hex[:10]}"}, owner)
    assert result["status"] == "accepted", result
    return owner, guest, charger


async def share(client: CommandClient, owner: uuid.UUID, guest: uuid.UUID, charger: uuid.UUID,
                start: datetime, end: datetime) -> dict[str, Any]:
    result = await client.run("UpdateUserAccess", {
        "user_id": str(guest), "charger_ids": [str(charger)], "level": "charge",
        "valid_from": start.isoformat(), "valid_until": end.isoformat()}, owner)
    assert result["status"] == "accepted", result
    return result


def boundaries(client: CommandClient, guest: uuid.UUID) -> list[dict[str, Any]]:
    """The guest's boundary events on access.events, each once (the relay may re-send)."""
    seen: dict[str, dict[str, Any]] = {}
    for event in client.events:
        if event["type"] in BOUNDARIES and event["data"]["user_id"] == str(guest):
            seen.setdefault(event["id"], event)
    return sorted(seen.values(), key=lambda e: e["sequence"])


async def allowed(system: System, guest: uuid.UUID, charger: uuid.UUID, position: int) -> bool:
    async with system.http() as http:
        check = await http.get("/v1/access/check", params={
            "user_id": str(guest), "charger_id": str(charger), "min_position": position})
        assert check.status_code == 200, check.text
        return bool(check.json()["allowed"])


async def test_a_share_comes_into_and_goes_out_of_effect_on_time(
        system: System, client: CommandClient) -> None:
    owner, guest, charger = await owner_guest_charger(client)
    start = datetime.now(UTC) + timedelta(seconds=4)
    end = start + timedelta(seconds=3)
    granted = await share(client, owner, guest, charger, start, end)
    assert not await allowed(system, guest, charger, granted["position"])

    [came] = await client.wait_events(
        lambda e: e["type"] == "ShareCameIntoEffect" and e["data"]["user_id"] == str(guest),
        timeout=30)
    assert instant(came["data"]["at"]) == start
    assert timedelta(0) <= instant(came["time"]) - start <= timedelta(seconds=1)
    assert came["actor"] == "scheduler"
    assert await allowed(system, guest, charger, came["sequence"])

    [went] = await client.wait_events(
        lambda e: e["type"] == "ShareWentOutOfEffect" and e["data"]["user_id"] == str(guest),
        timeout=30)
    assert instant(went["data"]["at"]) == end
    assert went["data"]["ended"] is True
    assert timedelta(0) <= instant(went["time"]) - end <= timedelta(seconds=1)
    assert not await allowed(system, guest, charger, went["sequence"])
    assert [e["type"] for e in boundaries(client, guest)] == list(BOUNDARIES)


async def test_a_boundary_missed_while_stopped_is_appended_once_on_start(
        system: System, client: CommandClient) -> None:
    access = system.access
    assert access is not None
    owner, guest, charger = await owner_guest_charger(client)
    start = datetime.now(UTC) + timedelta(seconds=3)
    granted = await share(client, owner, guest, charger, start, start + timedelta(hours=1))
    assert not await allowed(system, guest, charger, granted["position"])
    await asyncio.to_thread(access.terminate)
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 2)
    await asyncio.to_thread(access.start)

    [came] = await client.wait_events(
        lambda e: e["type"] == "ShareCameIntoEffect" and e["data"]["user_id"] == str(guest),
        timeout=60)
    assert instant(came["data"]["at"]) == start  # nominal, not when appended
    assert instant(came["time"]) - start >= timedelta(seconds=2)
    assert await allowed(system, guest, charger, came["sequence"])
    await asyncio.sleep(2)  # anything appended twice would be on the topic by now
    assert [(e["type"], e["data"]["at"]) for e in boundaries(client, guest)] == [
        ("ShareCameIntoEffect", came["data"]["at"])]
    # The start resumed from the share book the last run wrote, not from the whole log.
    restarted = access.log.read_text(errors="replace").rsplit("=== start #", 1)[-1]
    assert "resuming from the share book at position" in restarted
