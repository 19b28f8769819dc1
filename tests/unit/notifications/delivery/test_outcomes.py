"""Outcomes are group-committed: senders waiting together share one write."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import uuid4

import pytest

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
