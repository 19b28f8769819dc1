"""`kill-notifications` counts what each kill left in flight from the sent-log, and a run
passes only when five kills did: the count must follow the sent-log's real states (leased,
handed over, finished, another instance's, a lease run out), or the scenario would call a
kill that hit nothing a hit. Real PostgreSQL, rows made by the service's own `SentLog`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from faults.report import Figures
from faults.scenarios.kill_notifications import KILLS, InFlight, aim, in_flight, note_in_flight
from services.notifications.ports import Claim, Finished
from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log.queue import SentLog
from tests.integration.notifications.sent_log import rows
from tests.integration.notifications.sent_log.rows import sent_log_pool

pytestmark = pytest.mark.integration

KEYS = RecipientKeys(b"aim-test")


@pytest.fixture(scope="module")
def database_url(new_database: Any) -> str:
    url: str = new_database()
    return url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with sent_log_pool(database_url, KEYS) as pool:
        yield pool


def claim() -> Claim:
    return rows.claim(KEYS)


async def test_in_flight_counts_the_instances_live_leases_and_their_hand_overs(
    pool: asyncpg.Pool, database_url: str
) -> None:
    name = f"notifier-{uuid.uuid4().hex[:6]}"
    mine = SentLog(pool, KEYS, owner=name, database_url=database_url)
    handed, unsent, sent, retried = claim(), claim(), claim(), claim()
    await mine.claim([handed, unsent, sent, retried], lease_seconds=120.0)
    lapsed = claim()
    await mine.claim([lapsed], lease_seconds=0.0)  # due again: nobody holds it
    await SentLog(pool, KEYS, owner="someone-else").claim([claim()], lease_seconds=120.0)
    marks = mine.hand_over_marks()
    await marks.ready()
    await marks.mark(handed.event_id, handed.recipient)
    await marks.close()
    await mine.finish([Finished(sent.event_id, sent.recipient, "sent"),
                       Finished(retried.event_id, retried.recipient, "retry",
                                retry_in_seconds=60.0)])

    async with pool.acquire() as connection:
        # A row backing off after a failed try keeps its holder, as a lease does: the
        # successor takes both over at once, so both count.
        assert await in_flight(connection, name) == InFlight(leased=3, handed_over=1)
        assert await in_flight(connection, "nobody") == InFlight(leased=0, handed_over=0)
        holding, idle = Victim(), Victim()
        # Frozen at once, and left frozen for the kill: there are leases.
        assert await aim(connection, name, holding, within=30.0) == InFlight(3, 1)
        assert holding.calls == ["pause"]
        assert await aim(connection, "nobody", idle, within=0.05) is None  # gives up
        assert idle.calls == []


class Victim:
    """Stands for the process `aim` freezes: what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")


def test_a_run_passes_only_when_enough_kills_left_emails_in_flight() -> None:
    missed, hit = InFlight(0, 0), InFlight(3, 1)
    enough = Figures("kill-notifications")
    note_in_flight(enough, [missed, *[hit] * KILLS, missed])
    assert enough.ok
    assert enough.details["left_in_flight_by_each_kill"][1] == {"leased": 3, "handed_over": 1}
    short = Figures("kill-notifications")
    note_in_flight(short, [hit] * (KILLS - 1) + [missed] * 10)
    assert not short.ok
    assert short.failed_checks() == ["kills_left_emails_in_flight"]
