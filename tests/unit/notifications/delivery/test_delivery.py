"""The service layer with fakes: once per (event, recipient), the retry queue, the breaker,
failures and the dead-letter topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from charger_access_client.access_events import InvitationRevoked
from services.common.timeouts import wait_for
from services.notifications.mail.message import OutgoingEmail
from services.notifications.smtp.pool import PermanentSmtpError, TransientSmtpError
from tests.unit.notifications.factories import envelope, invited, person
from tests.unit.notifications.fakes import SETTINGS, FakeMailer, handle, make, raw, retry_until_idle


async def test_an_event_delivered_three_times_sends_one_email() -> None:
    deliverer, log, mailer, _ = make()
    record = raw(invited(email="ola@example.no"))
    for _ in range(3):
        await handle(deliverer, [record])
    await handle(deliverer, [record, record])
    assert len(mailer.sent) == 1
    assert mailer.parsed()[0]["To"] == "ola@example.no"
    assert log.statuses() == ["sent"]
    assert deliverer.stats.duplicates == 3  # redeliveries found in the sent-log


async def test_an_event_repeated_within_one_batch_sends_one_email() -> None:
    deliverer, _, mailer, _ = make()
    record = raw(invited())
    await handle(deliverer, [record, record, record])
    assert len(mailer.sent) == 1


async def test_handle_batch_returns_once_claimed_without_waiting_for_smtp() -> None:
    gate = asyncio.Event()

    class SlowMailer(FakeMailer):
        async def send(
            self, message: OutgoingEmail, handed_over: Callable[[], None] = lambda: None
        ) -> None:
            await gate.wait()
            await super().send(message, handed_over)

    deliverer, log, mailer, _ = make(SlowMailer())
    await wait_for(deliverer.handle_batch([raw(invited())]), 1)
    assert log.statuses() == ["pending"]  # durable: the offset may be committed now
    gate.set()
    await deliverer.drain()
    assert log.statuses() == ["sent"]
    assert len(mailer.sent) == 1


async def test_a_row_left_leased_by_a_crash_before_hand_over_is_sent_after_the_lease_with_the_same_message_id() -> None:
    settings = SETTINGS.model_copy(update={"lease_seconds": 0.05, "smtp_timeout_seconds": 0.0})
    deliverer, log, mailer, _ = make(settings=settings)
    record = raw(invited())
    await handle(deliverer, [record])
    row = next(iter(log.rows.values()))
    # Died before the e-mail was handed over (no mark): still pending, envelope kept.
    row.status, row.next_at, row.handed_over = "pending", time.monotonic() + 0.05, False
    row.claim = replace(row.claim, envelope=record.decode())
    assert await deliverer.retry_once() == 0  # still leased: nobody else takes it
    await asyncio.sleep(0.06)
    assert await deliverer.retry_once() == 1
    assert len(mailer.sent) == 2
    assert mailer.sent[0].message_id == mailer.sent[1].message_id


async def test_unparseable_and_unknown_records_are_skipped_and_the_rest_sent() -> None:
    deliverer, _, mailer, _ = make()
    unknown = envelope(invited(), type_name="FutureEvent").model_dump_json().encode()
    await handle(deliverer, [b"not json", None, b'{"id": 1}', unknown, raw(invited())])
    assert len(mailer.sent) == 1
    assert deliverer.stats.skipped_records == 4


async def test_a_4xx_is_retried_from_the_queue_with_the_email_derived_again() -> None:
    mailer = FakeMailer(
        failures=[TransientSmtpError("451 try later", 451), TransientSmtpError("451 again", 451)]
    )
    deliverer, log, _, dlq = make(mailer)
    event = invited(email="kari@example.no")
    await handle(deliverer, [raw(event)])
    assert log.statuses() == ["pending"]
    await retry_until_idle(deliverer)
    [message] = mailer.parsed()
    assert message["To"] == "kari@example.no"
    assert str(event.invitation_id) in message.as_string()  # the link, from the envelope
    assert log.statuses() == ["sent"]
    assert next(iter(log.rows.values())).attempts == 3
    assert deliverer.stats.retried == 2
    assert dlq.records == []


async def test_while_smtp_is_down_later_events_are_claimed_and_all_sent_once_when_it_returns() -> (
    None
):
    mailer = FakeMailer(down=True)
    deliverer, log, _, _ = make(mailer)
    first = [raw(invited(email=f"a{i}@example.com")) for i in range(20)]
    await handle(deliverer, first)
    assert not deliverer.health.up
    calls_when_tripped = mailer.calls
    later = [raw(invited(email=f"b{i}@example.com")) for i in range(50)]
    for value in later:
        await wait_for(handle(deliverer, [value]), 1)  # keeps flowing
    assert mailer.calls == calls_when_tripped  # nothing hammers a down server
    assert (await log.depth()).pending == 70
    for _ in range(5):  # probes: one e-mail at a time
        await asyncio.sleep(0.005)
        await deliverer.retry_once()
    assert mailer.calls <= calls_when_tripped + 5
    mailer.down = False
    await retry_until_idle(deliverer)
    assert deliverer.health.up
    recipients = sorted(m["To"] for m in mailer.parsed())
    assert len(recipients) == 70
    assert len(set(recipients)) == 70
    assert log.statuses() == ["sent"] * 70


async def test_permanent_refusal_is_recorded_and_dead_lettered_once() -> None:
    mailer = FakeMailer(failures=[PermanentSmtpError("550 no such user", 550)])
    deliverer, log, _, dlq = make(mailer)
    record = raw(invited(email="gone@example.no"))
    await handle(deliverer, [record])
    await handle(deliverer, [record])
    assert mailer.sent == []
    assert log.statuses() == ["failed"]
    [dead] = dlq.records
    assert (dead["code"], dead["recipient"], dead["kind"]) == (550, "gone@example.no", "invitation")
    assert "token" not in str(dead)
    assert deliverer.stats.failed == 1
    assert deliverer.stats.dead_lettered == 1


async def test_transient_failures_past_the_give_up_age_are_failed_and_dead_lettered() -> None:
    mailer = FakeMailer(failures=[TransientSmtpError("452 mailbox full", 452)] * 3)
    deliverer, log, _, dlq = make(mailer, SETTINGS.model_copy(update={"retry_give_up_seconds": 3600}))
    await handle(deliverer, [raw(invited())])
    assert log.statuses() == ["pending"]
    deliverer.sender.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    await retry_until_idle(deliverer)
    assert log.statuses() == ["failed"]
    assert [r["code"] for r in dlq.records] == [452]


async def test_a_failure_is_not_recorded_until_its_dead_letter_is_published() -> None:
    settings = SETTINGS.model_copy(update={"lease_seconds": 0.02, "smtp_timeout_seconds": 0.0})
    mailer = FakeMailer(failures=[PermanentSmtpError("554 no", 554)] * 2)
    deliverer, log, _, dlq = make(mailer, settings)
    dlq.broken = True
    await handle(deliverer, [raw(invited())])
    assert log.statuses() == ["pending"]  # leased, untouched
    dlq.broken = False
    await asyncio.sleep(0.03)
    await retry_until_idle(deliverer)
    assert log.statuses() == ["failed"]
    assert len(dlq.records) == 1


async def test_an_email_with_a_header_hazard_is_never_sent_but_the_others_are() -> None:
    deliverer, log, mailer, dlq = make()
    hostile = raw(invited(inviter=person(name="Eve\nBcc: evil@attacker.example")))
    await handle(deliverer, [hostile, raw(invited())])
    assert len(mailer.sent) == 1
    assert log.statuses() == ["failed", "sent"]
    assert len(dlq.records) == 1


async def test_the_retry_loop_runs_until_stopped() -> None:
    mailer = FakeMailer(failures=[TransientSmtpError("421 closing", 421)])
    deliverer, log, _, _ = make(mailer)
    stopping = asyncio.Event()
    loop = asyncio.create_task(deliverer.run_retries(stopping))
    await handle(deliverer, [raw(invited())])
    for _ in range(500):
        if log.statuses() == ["sent"]:
            break
        await asyncio.sleep(0.005)
    stopping.set()
    await wait_for(loop, 1)
    assert log.statuses() == ["sent"]


async def test_emails_to_one_person_go_out_in_event_order_within_and_across_batches() -> None:
    class SlowFirst(FakeMailer):
        async def send(
            self, message: OutgoingEmail, handed_over: Callable[[], None] = lambda: None
        ) -> None:
            if not self.calls:
                await asyncio.sleep(0.05)  # the first e-mail is slow to send
            await super().send(message, handed_over)

    deliverer, _, mailer, _ = make(SlowFirst(), SETTINGS.model_copy(update={"smtp_connections": 4}))
    first = invited(email="kari@example.no")
    revoked = InvitationRevoked(invitation_id=first.invitation_id, email="kari@example.no")
    later = invited(email="kari@example.no")
    await deliverer.handle_batch([raw_at(first, 1), raw(invited()), raw_at(revoked, 2)])
    await deliverer.handle_batch([raw_at(later, 3)])
    await deliverer.drain()
    to_kari = [m for m in mailer.parsed() if m["To"] == "kari@example.no"]
    assert len(to_kari) == 3
    assert str(first.invitation_id) in to_kari[0].as_string()
    assert "withdrawn" in to_kari[1]["Subject"]
    assert str(later.invitation_id) in to_kari[2].as_string()


def raw_at(event: Any, sequence: int) -> bytes:
    return envelope(event).model_copy(update={"sequence": sequence}).model_dump_json().encode()
