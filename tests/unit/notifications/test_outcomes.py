"""A crash after the SMTP server accepted e-mails must find them recorded as sent, so at
most the e-mails in flight (one per connection) can go out twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import uuid4

import pytest

from services.notifications.outcomes import OutcomeWriter
from services.notifications.sent_log import Finished
from services.notifications.smtp import OutgoingEmail
from tests.unit.notifications.factories import invited
from tests.unit.notifications.test_delivery import FakeMailer, make, raw


class StallingMailer(FakeMailer):
    """Accepts `accept` e-mails, then hangs like a process about to be killed."""

    def __init__(self, accept: int) -> None:
        super().__init__()
        self.accept = accept
        self.stalled = asyncio.Event()

    async def send(self, message: OutgoingEmail) -> None:
        if len(self.sent) >= self.accept:
            self.stalled.set()
            await asyncio.Event().wait()
        await super().send(message)


async def test_every_accepted_email_is_recorded_before_the_next_send() -> None:
    mailer = StallingMailer(accept=10)
    deliverer, log, _, _ = make(mailer)
    values: list[bytes | None] = [raw(invited(email=f"p{i}@example.no")) for i in range(40)]
    await deliverer.handle_batch(values)
    await asyncio.wait_for(mailer.stalled.wait(), 5)
    await asyncio.sleep(0.05)
    # Killed now: everything the server accepted is already marked sent; only the sends
    # still hanging (at most one per connection) are not.
    assert len(mailer.sent) >= 10
    assert log.statuses().count("sent") == len(mailer.sent)
    assert log.statuses().count("pending") == 40 - len(mailer.sent)


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
    monkeypatch.setattr("services.notifications.outcomes.RETRY_PAUSES", (0.0,))

    async def write(batch: Sequence[Finished]) -> None:
        raise ConnectionError("database away")

    writer = OutcomeWriter(write)
    with pytest.raises(ConnectionError):
        await writer.record(Finished(uuid4(), "r", "sent"))
