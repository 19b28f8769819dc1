"""A crash between the SMTP server taking an e-mail and the sent-log saying so: the
hand-over mark keeps it from going out twice (the process itself is killed for real in
`tests/integration/notifications/sent_log/test_hand_over.py`)."""

from __future__ import annotations

import asyncio

import pytest

from services.notifications.smtp.pool import PermanentSmtpError, TransientSmtpError
from tests.unit.notifications.factories import invited
from tests.unit.notifications.fakes import SETTINGS, FakeMailer, handle, make, raw

SHORT_LEASE = SETTINGS.model_copy(update={"lease_seconds": 0.05, "smtp_timeout_seconds": 0.0})


async def test_emails_handed_over_before_a_crash_are_counted_sent_and_never_sent_again() -> None:
    stalled = asyncio.Event()
    first = FakeMailer()
    deliverer, log, _, _ = make(first, SHORT_LEASE)
    values: list[bytes | None] = [raw(invited(email=f"p{i}@example.no")) for i in range(40)]
    sends = first.send

    async def stall_from_the_eleventh(*args: object, **kwargs: object) -> None:
        if len(first.sent) >= 10:
            first.stall_after_hand_over = stalled  # the server has it; no answer yet
        await sends(*args, **kwargs)  # type: ignore[arg-type]

    first.send = stall_from_the_eleventh  # type: ignore[method-assign]
    await deliverer.handle_batch(values)
    for _ in range(200):
        if len(first.sent) >= 10 + SETTINGS.smtp_connections:
            break
        await asyncio.sleep(0.005)
    handed_over = {m.recipient for m in first.sent}
    assert len(handed_over) == 10 + SETTINGS.smtp_connections

    # The process is killed now (nothing of it runs again); another takes over after the lease.
    await asyncio.sleep(0.06)
    second = FakeMailer()
    successor, _, _, _ = make(second, SHORT_LEASE, sent_log=log)
    await successor.retry_once()
    # Every e-mail handed over is settled sent: those in flight, and the ten answered
    # whose "sent" was held for the round's end (`outcomes`: their marks keep them).
    assert successor.stats.settled_handed_over == len(handed_over)
    again = {m.recipient for m in second.sent}
    assert not again & handed_over
    assert len(again | handed_over) == 40
    assert log.statuses() == ["sent"] * 40
    stalled.set()
    await deliverer.drain()
    assert deliverer.stats.marks_unconfirmed == 0


async def test_a_4xx_after_the_hand_over_clears_the_mark_and_retries() -> None:
    mailer = FakeMailer(after_hand_over=[TransientSmtpError("451 try later", 451)])
    deliverer, log, _, _ = make(mailer)
    await handle(deliverer, [raw(invited())])
    [row] = log.rows.values()
    assert (row.status, row.handed_over) == ("pending", False)
    row.next_at = 0.0
    await deliverer.retry_once()
    assert (row.status, row.attempts, len(mailer.sent)) == ("sent", 2, 1)


@pytest.mark.parametrize("failure", ["marks_broken", "marks_unwritable"])
async def test_a_send_whose_mark_was_not_stored_is_counted_and_recorded_before_the_next_send(
    failure: str,
) -> None:
    """The mark failed to be stored, or could not even be written: either way the e-mail
    is counted unconfirmed and its "sent" written before the next send."""
    mailer = FakeMailer()
    deliverer, log, _, _ = make(mailer)
    setattr(log, failure, True)
    await deliverer.handle_batch([raw(invited(email=f"p{i}@example.no")) for i in range(5)])
    await deliverer.drain()
    assert log.statuses() == ["sent"] * 5
    assert not any(row.handed_over for row in log.rows.values())
    assert (len(mailer.sent), deliverer.stats.marks_unconfirmed) == (5, 5)


async def test_a_refusal_after_the_hand_over_is_never_counted_sent() -> None:
    # 554 at the end of DATA while the dead-letter topic is away: the failure cannot be
    # recorded yet, and the mark must not turn it into "sent" when the lease runs out.
    mailer = FakeMailer(after_hand_over=[PermanentSmtpError("554 rejected", 554)] * 2)
    deliverer, log, _, dlq = make(mailer, SHORT_LEASE)
    dlq.broken = True
    await handle(deliverer, [raw(invited())])
    [row] = log.rows.values()
    assert (row.status, row.handed_over) == ("pending", False)
    dlq.broken = False
    row.next_at = 0.0
    await deliverer.retry_once()
    assert (row.status, len(dlq.records), len(mailer.sent)) == ("failed", 1, 0)
