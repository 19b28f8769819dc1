"""Outcomes are group-committed: senders waiting together share one write, and outcomes a
crash cannot lose (marked handed over) are held for a round's end, within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import uuid4

import pytest

from services.common.timeouts import wait_for
from services.notifications.delivery.outcomes import OutcomeWriter
from services.notifications.ports import Finished


async def test_outcomes_arriving_together_share_one_write() -> None:
    writes: list[int] = []

    async def write(batch: Sequence[Finished]) -> None:
        writes.append(len(batch))
        await asyncio.sleep(0.01)

    writer = OutcomeWriter(write)
    outcomes = [Finished(uuid4(), f"r{i}", "sent") for i in range(20)]
    await asyncio.gather(*(writer.record(o) for o in outcomes))
    assert sum(writes) == 20
    assert len(writes) <= 3  # the first alone, then the rest grouped


async def test_a_write_that_keeps_failing_reaches_every_waiting_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.notifications.delivery.outcomes.RETRY_PAUSES", (0.0,))

    async def write(batch: Sequence[Finished]) -> None:
        raise ConnectionError("database away")

    writer = OutcomeWriter(write)
    with pytest.raises(ConnectionError):
        await writer.record(Finished(uuid4(), "r", "sent"))


def _recorder(writes: list[list[str]]) -> Callable[[Sequence[Finished]], Awaitable[None]]:
    async def write(batch: Sequence[Finished]) -> None:
        writes.append([f.recipient for f in batch])

    return write


async def test_held_outcomes_wait_for_the_rounds_end_and_go_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("services.notifications.delivery.outcomes.HOLD_SECONDS", 60.0)
    writes: list[list[str]] = []
    writer = OutcomeWriter(_recorder(writes))
    stored = [writer.submit(Finished(uuid4(), f"r{i}", "sent"), hold=True) for i in range(10)]
    await asyncio.sleep(0.05)
    assert writes == []  # held: nothing written yet
    writer.flush()
    await asyncio.gather(*stored)
    assert writes == [[f"r{i}" for i in range(10)]]


async def test_an_outcome_a_sender_waits_for_takes_the_held_ones_along() -> None:
    writes: list[list[str]] = []
    writer = OutcomeWriter(_recorder(writes))
    held = writer.submit(Finished(uuid4(), "held", "sent"), hold=True)
    await writer.record(Finished(uuid4(), "waited", "retry"))
    assert writes == [["held", "waited"]]
    assert held.done()


async def test_held_outcomes_are_written_after_at_most_the_hold_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("services.notifications.delivery.outcomes.HOLD_SECONDS", 0.05)
    writes: list[list[str]] = []
    writer = OutcomeWriter(_recorder(writes))
    await wait_for(writer.submit(Finished(uuid4(), "alone", "sent"), hold=True), 5)
    assert writes == [["alone"]]


async def test_held_outcomes_are_written_once_enough_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.notifications.delivery.outcomes.HOLD_ROWS", 3)
    monkeypatch.setattr("services.notifications.delivery.outcomes.HOLD_SECONDS", 60.0)
    writes: list[list[str]] = []
    writer = OutcomeWriter(_recorder(writes))
    stored = [writer.submit(Finished(uuid4(), f"r{i}", "sent"), hold=True) for i in range(3)]
    await wait_for(asyncio.gather(*stored), 5)
    assert writes == [["r0", "r1", "r2"]]
