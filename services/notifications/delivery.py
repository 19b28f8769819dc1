"""The service layer: one batch of `access.events` records in, e-mails out, exactly once.

For each batch: parse the envelopes (skipping what is not ours), work out the e-mails,
claim them all in the sent-log in one round trip, then send the claimed ones
concurrently. A transient SMTP failure is retried with capped exponential backoff; if
the batch's retry deadline passes, `handle_batch` raises so the consumer does not
commit the offsets and Kafka hands the batch over again (the sent-log keeps what was
already sent from going out twice). A permanent refusal is recorded as `failed` and
published on the notifications dead-letter topic.

The collaborators are ports (`Mailer`, `DeadLetters`, `SentLogPort`) so unit tests use
fakes and `main` wires the real SMTP pool, Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Protocol
from uuid import UUID

from pydantic import ValidationError

from events.envelope import EventEnvelope
from services.notifications.config import NotificationSettings
from services.notifications.message import (
    HeaderHazardError,
    address,
    build_message,
    message_id,
    sender_address,
)
from services.notifications.recipients import Notification, UnknownEventError, notifications_for
from services.notifications.render import Renderer
from services.notifications.sent_log import Claim
from services.notifications.smtp import PermanentSmtpError, TransientSmtpError

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver; raise TransientSmtpError or PermanentSmtpError."""


class DeadLetters(Protocol):
    async def publish(self, record: dict[str, Any], key: str) -> None:
        """Record an e-mail that can never be delivered, for people to look at."""


class SentLogPort(Protocol):
    async def claim(self, claims: Sequence[Claim]) -> set[tuple[UUID, str]]: ...
    async def mark_sent(self, event_id: UUID, recipient: str, attempts: int) -> None: ...
    async def mark_failed(
        self, event_id: UUID, recipient: str, attempts: int, error: str
    ) -> None: ...


class RetryDeadlineExceededError(Exception):
    """SMTP stayed unavailable for the whole batch deadline; Kafka must redeliver."""


@dataclass
class Stats:
    """Counters for metrics and tests; cumulative over the process's life."""

    sent: int = 0
    failed: int = 0
    skipped_records: int = 0
    duplicates: int = 0
    retries: int = 0


@dataclass
class Outgoing:
    notification: Notification
    claim: Claim
    event_type: str


@dataclass
class Deliverer:
    settings: NotificationSettings
    renderer: Renderer
    sent_log: SentLogPort
    mailer: Mailer
    dead_letters: DeadLetters
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._sender: Address = sender_address(self.settings.mail_from)

    async def handle_batch(self, values: Sequence[bytes | None]) -> None:
        """Send every e-mail the records cause that has not been sent before."""
        # A record delivered twice in one batch is claimed once and must be sent once.
        unique = {
            (o.claim.event_id, o.claim.recipient): o for v in values for o in self._outgoing(v)
        }
        outgoing = list(unique.values())
        to_send = await self.sent_log.claim([o.claim for o in outgoing])
        self.stats.duplicates += len(outgoing) - len(to_send)
        deadline = time.monotonic() + self.settings.retry_deadline_seconds
        results = await asyncio.gather(
            *(
                self._deliver(o, deadline)
                for o in outgoing
                if (o.claim.event_id, o.claim.recipient) in to_send
            ),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    def _outgoing(self, value: bytes | None) -> list[Outgoing]:
        try:
            envelope = EventEnvelope.model_validate_json(value or b"")
            notifications = notifications_for(envelope)
        except (ValidationError, UnknownEventError, ValueError) as error:
            self.stats.skipped_records += 1
            log.warning("skipping a record on access.events: %s", _brief(error))
            return []
        return [Outgoing(n, self._claim(n, envelope.type), envelope.type) for n in notifications]

    @staticmethod
    def _claim(notification: Notification, event_type: str) -> Claim:
        return Claim(
            event_id=notification.event_id,
            recipient=notification.recipient,
            kind=notification.kind,
            event_type=event_type,
            message_id=message_id(notification.event_id, notification.recipient),
        )

    async def _deliver(self, outgoing: Outgoing, deadline: float) -> None:
        try:
            message = self._message(outgoing)
        except HeaderHazardError as error:
            await self._fail(outgoing, 0, f"refused to build the message: {error}", None)
            return
        attempts, delay = 0, self.settings.retry_initial_seconds
        while True:
            attempts += 1
            try:
                await self.mailer.send(message)
            except TransientSmtpError as error:
                if time.monotonic() + delay > deadline:
                    raise RetryDeadlineExceededError(str(error)) from error
                self.stats.retries += 1
                log.warning(
                    "transient SMTP failure for %s (attempt %d), retrying in %.1fs: %s",
                    outgoing.claim.message_id,
                    attempts,
                    delay,
                    error,
                )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.settings.retry_max_seconds)
            except PermanentSmtpError as error:
                await self._fail(outgoing, attempts, str(error), error.code)
                return
            else:
                await self.sent_log.mark_sent(
                    outgoing.claim.event_id, outgoing.claim.recipient, attempts
                )
                self.stats.sent += 1
                return

    def _message(self, outgoing: Outgoing) -> EmailMessage:
        notification = outgoing.notification
        rendered = self.renderer.render(notification)
        return build_message(
            rendered,
            sender=self._sender,
            to=address(notification.to.email, notification.to.name),
            msg_id=outgoing.claim.message_id,
            date=self.clock(),
            locale=notification.to.locale,
        )

    async def _fail(self, outgoing: Outgoing, attempts: int, error: str, code: int | None) -> None:
        claim = outgoing.claim
        log.error("e-mail %s (%s) failed for good: %s", claim.message_id, claim.kind, error)
        await self.sent_log.mark_failed(claim.event_id, claim.recipient, attempts, error)
        record = {
            "event_id": str(claim.event_id),
            "event_type": claim.event_type,
            "kind": claim.kind,
            "recipient": claim.recipient,
            "message_id": claim.message_id,
            "code": code,
            "error": error,
            "failed_at": self.clock().isoformat(),
        }
        await self.dead_letters.publish(record, key=str(claim.event_id))
        self.stats.failed += 1


def _brief(error: Exception) -> str:
    """A short reason for the log, without echoing the record (it may hold personal data)."""
    if isinstance(error, ValidationError):
        return json.dumps([{"loc": e["loc"], "type": e["type"]} for e in error.errors()])
    if isinstance(error, UnknownEventError):
        return f"unknown event type {str(error)[:100]!r}"
    return type(error).__name__
