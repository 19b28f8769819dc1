"""The service layer with fakes: once per (event, recipient), retries, failures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest

from services.notifications.config import NotificationSettings
from services.notifications.delivery import Deliverer, RetryDeadlineExceededError
from services.notifications.render import LinkSettings, Renderer
from services.notifications.sent_log import Claim
from services.notifications.smtp import PermanentSmtpError, TransientSmtpError

from .factories import envelope, invited, person


@dataclass
class FakeSentLog:
    rows: dict[tuple[UUID, str], str] = field(default_factory=dict)

    async def claim(self, claims: Sequence[Claim]) -> set[tuple[UUID, str]]:
        result = set()
        for c in claims:
            key = (c.event_id, c.recipient)
            if self.rows.setdefault(key, "pending") == "pending":
                result.add(key)
        return result

    async def mark_sent(self, event_id: UUID, recipient: str, attempts: int) -> None:
        self.rows[(event_id, recipient)] = "sent"

    async def mark_failed(self, event_id: UUID, recipient: str, attempts: int, error: str) -> None:
        self.rows[(event_id, recipient)] = "failed"


@dataclass
class FakeMailer:
    failures: list[Exception] = field(default_factory=list)
    sent: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


@dataclass
class FakeDeadLetters:
    records: list[dict[str, Any]] = field(default_factory=list)

    async def publish(self, record: dict[str, Any], key: str) -> None:
        self.records.append(record)


SETTINGS = NotificationSettings(
    retry_initial_seconds=0.001, retry_max_seconds=0.004, retry_deadline_seconds=0.5
)


def make(
    mailer: FakeMailer | None = None, settings: NotificationSettings = SETTINGS
) -> tuple[Deliverer, FakeSentLog, FakeMailer, FakeDeadLetters]:
    log, mail, dlq = FakeSentLog(), mailer or FakeMailer(), FakeDeadLetters()
    renderer = Renderer(LinkSettings("https://app.example", b"k"))
    return Deliverer(settings, renderer, log, mail, dlq), log, mail, dlq


def raw(event: Any) -> bytes:
    return envelope(event).model_dump_json().encode()


async def test_an_event_delivered_three_times_sends_one_email() -> None:
    deliverer, log, mailer, _ = make()
    record = raw(invited(email="ola@example.no"))
    for _ in range(3):
        await deliverer.handle_batch([record])
    await deliverer.handle_batch([record, record])
    assert len(mailer.sent) == 1
    assert mailer.sent[0]["To"] == "ola@example.no"
    assert list(log.rows.values()) == ["sent"]


async def test_an_event_repeated_within_one_batch_sends_one_email() -> None:
    deliverer, _, mailer, _ = make()
    record = raw(invited())
    await deliverer.handle_batch([record, record, record])
    assert len(mailer.sent) == 1


async def test_a_claim_left_pending_by_a_crash_is_sent_again_with_the_same_message_id() -> None:
    deliverer, log, mailer, _ = make()
    record = raw(invited())
    await deliverer.handle_batch([record])
    key = next(iter(log.rows))
    log.rows[key] = "pending"  # as if the process died between send and mark
    await deliverer.handle_batch([record])
    assert len(mailer.sent) == 2
    assert mailer.sent[0]["Message-ID"] == mailer.sent[1]["Message-ID"]


async def test_unparseable_and_unknown_records_are_skipped_and_the_rest_sent() -> None:
    deliverer, _, mailer, _ = make()
    unknown = envelope(invited(), type_name="FutureEvent").model_dump_json().encode()
    await deliverer.handle_batch([b"not json", None, b'{"id": 1}', unknown, raw(invited())])
    assert len(mailer.sent) == 1
    assert deliverer.stats.skipped_records == 4


async def test_transient_failures_are_retried_until_sent() -> None:
    mailer = FakeMailer(
        failures=[TransientSmtpError("421 busy", 421), TransientSmtpError("connection refused")]
    )
    deliverer, log, _, dlq = make(mailer)
    await deliverer.handle_batch([raw(invited())])
    assert len(mailer.sent) == 1
    assert list(log.rows.values()) == ["sent"]
    assert deliverer.stats.retries == 2
    assert dlq.records == []


async def test_smtp_down_past_the_deadline_fails_the_batch_without_marking_anything() -> None:
    mailer = FakeMailer(failures=[TransientSmtpError("down")] * 10_000)
    deliverer, log, _, _ = make(mailer)
    record = raw(invited())
    with pytest.raises(RetryDeadlineExceededError):
        await deliverer.handle_batch([record])
    assert list(log.rows.values()) == ["pending"]
    assert mailer.sent == []
    mailer.failures.clear()  # the server is back, and Kafka hands the batch over again
    await deliverer.handle_batch([record])
    assert len(mailer.sent) == 1
    assert list(log.rows.values()) == ["sent"]


async def test_permanent_refusal_is_recorded_and_dead_lettered_once() -> None:
    mailer = FakeMailer(failures=[PermanentSmtpError("550 no such user", 550)])
    deliverer, log, _, dlq = make(mailer)
    record = raw(invited(email="gone@example.no"))
    await deliverer.handle_batch([record])
    await deliverer.handle_batch([record])
    assert mailer.sent == []
    assert list(log.rows.values()) == ["failed"]
    [dead] = dlq.records
    assert (dead["code"], dead["recipient"], dead["kind"]) == (550, "gone@example.no", "invitation")
    assert "token" not in str(dead)


async def test_an_email_with_a_header_hazard_is_never_sent_but_the_others_are() -> None:
    deliverer, log, mailer, dlq = make()
    hostile = raw(invited(inviter=person(name="Eve\nBcc: evil@attacker.example")))
    await deliverer.handle_batch([hostile, raw(invited())])
    assert len(mailer.sent) == 1
    assert sorted(log.rows.values()) == ["failed", "sent"]
    assert len(dlq.records) == 1
