"""Two access-service instances in one consumer group, on one broker and one database,
under a few hundred commands: each command answered once, each event stored once, the
hash chain whole, the read models equal to a rebuild (`harness.books`). The speed of
the same setup is `python -m bench.two_instances`, not here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.books import Books, audit_tools, caught_up, count_answers, count_store
from harness.database import Database
from harness.processes import http_text, metrics
from services.local.smtp_sink import SmtpSink
from tests.e2e.conftest import SECRET, TOKEN, System, eventually
from tests.kafka_helpers import CommandClient

JOURNEYS = 100
IN_FLIGHT = 16


@pytest.fixture(scope="module")
def two(new_database: Any, kafka_bootstrap: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(tmp_path_factory.mktemp("var"), SmtpSink(), name="two", token=TOKEN,
                     token_secret=SECRET, supervised=False, notifications=False,
                     kafka=kafka_bootstrap, database=Database(url=new_database()))
    try:
        running.start()
        running.add_access()
        yield running
    finally:
        running.stop()


def commands_handled(api: str) -> float:
    return sum(v for k, v in metrics(http_text(f"{api}/metrics", TOKEN)).items()
               if k.startswith("access_commands_total"))


async def owner_journeys(client: CommandClient, count: int) -> dict[str, str]:
    """`count` RegisterUser → RegisterCharger → InviteUser journeys, IN_FLIGHT at once;
    {command id: status}. Every id is fresh, so SPEC accepts every one of them."""
    statuses: dict[str, str] = {}
    todo = iter(range(count))

    async def worker() -> None:
        for _ in todo:
            owner, charger = uuid.uuid4(), uuid.uuid4()
            steps: list[tuple[str, dict[str, Any]]] = [
                ("RegisterUser", {"user_id": str(owner), "email": f"o-{owner.hex}@two.example",
                                  "name": "Owner", "locale": "en"}),
                ("RegisterCharger", {"charger_id": str(charger), "name": "Two",
                                     "serial_number": f"SN-{charger.hex[:20]}"}),
                ("InviteUser", {"invitation_id": str(uuid.uuid4()), "level": "charge",
                                "email": f"g-{charger.hex}@two.example",
                                "charger_ids": [str(charger)]}),
            ]
            for type_, data in steps:
                result = await client.run(type_, data, owner)
                statuses[result["command_id"]] = result["status"]

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return statuses


async def test_two_instances_answer_every_command_once_and_keep_the_log_whole(
        two: System) -> None:
    apis = [two.api, *(two.api_of(a) for a in two.more_access)]
    before = [commands_handled(api) for api in apis]
    client = CommandClient(two.kafka, two.topics)
    await client.start()
    try:
        statuses = await owner_journeys(client, JOURNEYS)
        conn = await two.connect()
        try:
            await eventually(lambda: caught_up(conn), timeout=60)
            await asyncio.sleep(1)  # a second copy of a result would arrive by now
            books = Books()
            copies = {i: len(client.results.get(f"{i}#all", [])) for i in statuses}
            count_answers(books, statuses, copies)
            await count_store(books, conn)
        finally:
            await conn.close()
    finally:
        await client.stop()
    await audit_tools(books, two.env)
    handled = [commands_handled(api) - b for api, b in zip(apis, before, strict=True)]

    assert len(statuses) == 3 * JOURNEYS
    assert set(statuses.values()) == {"accepted"}
    assert all(n > 0 for n in handled), f"one instance did all the work: {handled}"
    assert sum(handled) == len(statuses)
    assert books.unanswered == 0
    assert books.answered_twice == 0
    assert books.duplicate_event_ids == 0
    assert books.applied_twice == 0
    assert books.details["commands_with_events"] == len(statuses)
    assert books.chain_ok, books.details["verify"]
    assert books.rebuild_equal, books.details["rebuild"]
    # The followers run once: one instance leads, the other publishes nothing.
    seen = [metrics(http_text(f"{api}/metrics", TOKEN)) for api in apis]
    assert sorted(m["access_leading"] for m in seen) == [0, 1]
    assert [("access_relay_published_total" in m) for m in seen] == [
        m["access_leading"] == 1 for m in seen]
