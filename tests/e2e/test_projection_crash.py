"""kill -9 the access service while its projection is in the middle of large batches,
several times, and show afterwards that the read model is exactly a fresh rebuild of the
log (no event applied twice, none skipped) and that the projection's tracked position is
the store's last published position."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from harness.processes import BIN
from services.access.eventlog.reader import EventLog
from services.access.projection.apply import read_position
from tests.e2e.conftest import System, access_alone
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e

CHARGERS = 120
USERS = 24
KILLS = 3
BURST = 24  # commands per burst; each changes dozens of shares, so hundreds of events


@pytest.fixture(scope="module")
def system(new_database: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = access_alone(new_database(), kafka_bootstrap, "pc", tmp_path_factory.mktemp("projection-crash"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def positions(url: str) -> tuple[int, int]:
    """(projection's tracked position, store's last published position)."""
    conn = await asyncpg.connect(url)
    try:
        return await read_position(conn), await EventLog().last_published(conn)
    finally:
        await conn.close()


def metrics(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
            for line in text.splitlines() if line and not line.startswith("#")}


async def test_kill_9_mid_projection_leaves_a_read_model_equal_to_a_fresh_rebuild(system: System) -> None:
    access = system.access
    assert access is not None
    url = system.database_url
    client = CommandClient(system.kafka, system.topics)
    await client.start()
    rng = random.Random(11)
    try:
        owner = uuid.uuid4()
        users = [uuid.uuid4() for _ in range(USERS)]
        setup = [await client.send("RegisterUser", {"user_id": str(u), "email": f"{u}@example.no"}, u)
                 for u in [owner, *users]]
        fleet = uuid.uuid4()
        setup.append(await client.send("CreateGroup", {"group_id": str(fleet), "name": "Fleet"}, owner, key=str(fleet)))
        await client.wait_results(setup, timeout=90)
        chargers = [uuid.uuid4() for _ in range(CHARGERS)]
        sent = [await client.send("RegisterCharger", {"charger_id": str(c), "serial_number": f"PC-{c.hex[:10]}",
                                                      "group_id": str(fleet)}, owner, key=str(c))
                for c in chargers]
        assert {r["status"] for r in await client.wait_results(sent, timeout=90)} == {"accepted"}

        def burst() -> list[tuple[str, dict[str, Any], str]]:
            """Big share edits (dozens of AccessGranted/Revoked each), invitations, roles."""
            commands: list[tuple[str, dict[str, Any], str]] = []
            for _ in range(BURST):
                user = rng.choice(users)
                roll = rng.random()
                if roll < 0.75:
                    picked = rng.sample(chargers, rng.randint(20, 80))
                    commands.append(("UpdateUserAccess", {"user_id": str(user), "charger_ids": [str(c) for c in picked],
                                                          "level": rng.choice(["charge", "manage"])}, str(user)))
                elif roll < 0.9:
                    commands.append(("InviteUser", {"invitation_id": str(uuid.uuid4()), "email": f"guest-{rng.randrange(10**6)}@example.no",
                                                    "charger_ids": [str(c) for c in rng.sample(chargers, 5)]}, str(uuid.uuid4())))
                else:
                    commands.append(("AddGroupMember", {"group_id": str(fleet), "user_id": str(user),
                                                        "role": rng.choice(["member", "admin"])}, str(fleet)))
            return commands

        all_sent: list[str] = []
        caught_mid_stream = 0
        for _ in range(KILLS):
            ids = [await client.send(t, d, owner, key=k) for t, d, k in burst()]
            all_sent += ids
            await client.wait_results(ids[:1], timeout=90)  # the first batch is committed...
            await asyncio.to_thread(access.kill)  # ...and the projection is busy with it
            projected, published = await positions(url)
            caught_mid_stream += projected < published
            await asyncio.to_thread(access.start)
        # A last burst with no kill, then everything must be answered and projected.
        ids = [await client.send(t, d, owner, key=k) for t, d, k in burst()]
        all_sent += ids
        results = await client.wait_results(all_sent, timeout=180)
        assert {r["status"] for r in results} == {"accepted"}, [r for r in results if r["status"] != "accepted"][:3]
        assert caught_mid_stream >= 1, "no kill landed while the projection was behind the store"

        deadline = asyncio.get_running_loop().time() + 60
        while (found := await positions(url))[0] < found[1]:
            assert asyncio.get_running_loop().time() < deadline, f"projection stuck at {found}"
            await asyncio.sleep(0.1)
        projected, published = found
        assert projected == published  # tracked position = the store's last published event

        # The live read model equals a rebuild of the log, table by table (row digests).
        check = await asyncio.to_thread(
            subprocess.run, [str(BIN / "access-rebuild"), "--check", "--json"],
            env=system.env, capture_output=True, text=True, timeout=300, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        report = json.loads(check.stdout)
        assert report["ok"] is True
        assert report["position"] == published
        rows = {t["table"]: t["live_rows"] for t in report["tables"]}
        assert rows["shares"] > 0
        assert rows["charger_history"] > CHARGERS
        assert rows["invitations"] > 0

        # The restarted process reports the same through /metrics.
        async with httpx.AsyncClient(base_url=system.api, timeout=10) as http:
            response = await http.get("/metrics", headers={"Authorization": f"Bearer {system.token}"})
        assert response.status_code == 200
        found_metrics = metrics(response.text)
        assert found_metrics["access_projection_position"] == str(published)
        assert found_metrics["access_projection_lag_positions"] == "0"
        assert int(found_metrics['access_commands_total{status="accepted",reason=""}']) >= 1
    finally:
        await client.stop()
