"""What the service layer needs from the outside world, as ports, and the values that
cross them: unit tests plug in fakes (`tests/unit/notifications/fakes.py`), `service` the
real SMTP pool, Kafka and PostgreSQL. The values live here, not in an adapter, so the
service layer and the fakes depend on the contract alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from services.notifications.mail.message import OutgoingEmail
from services.notifications.privacy import Forgetting


@dataclass(frozen=True)
class Claim:
    """One e-mail to account for: the sent-log's key plus what identifies it."""

    event_id: UUID
    recipient: str
    """The recipient's key (`privacy.RecipientKeys`), not the address."""
    kind: str
    event_type: str
    message_id: str
    envelope: str = "{}"
    """The event's envelope as JSON, to derive the e-mail again on a retry."""
    sequence: int = 0
    """The event's global position: e-mails to one person go out in this order."""
    user_id: UUID | None = None
    """The recipient's account, when the event names it."""


@dataclass(frozen=True)
class DueRow:
    """A leased row the retry loop is to send."""

    event_id: UUID
    recipient: str
    envelope: str
    attempts: int
    claimed_at: datetime


Outcome = Literal["sent", "failed", "retry"]


@dataclass(frozen=True)
class Finished:
    """What became of one leased row: `retry` puts it back with a delay."""

    event_id: UUID
    recipient: str
    outcome: Outcome
    error: str | None = None
    retry_in_seconds: float = 0.0
    attempted: bool = True
    """False when the row was not tried at all (SMTP known down): attempts stay."""


@dataclass(frozen=True)
class QueueDepth:
    pending: int
    due: int


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a person did to the sent-log."""

    closed: int
    """Rows addressed to them, emptied of envelope and error."""
    dropped: int
    """Of those, e-mails still to send: now `forgotten`, never sent."""
    rewritten: int
    """Envelopes of e-mails to others that named them, now with their pseudonyms."""


class Mailer(Protocol):
    async def send(self, message: OutgoingEmail, handed_over: Callable[[], None]) -> None:
        """Deliver; raise TransientSmtpError or PermanentSmtpError. Call `handed_over` the
        instant the whole message is on its way to the server, before its answer."""


class HandOverPort(Protocol):
    async def ready(self) -> None: ...
    def mark(self, event_id: UUID, recipient: str) -> Awaitable[object]: ...
    async def close(self) -> None: ...


class DeadLetters(Protocol):
    async def publish(self, record: dict[str, Any], key: str) -> None:
        """Record an e-mail that can never be delivered, for people to look at."""


class SentLogPort(Protocol):
    async def claim(
        self,
        claims: Sequence[Claim],
        lease_seconds: float,
        links: Collection[tuple[UUID, str]] = (),
    ) -> set[tuple[UUID, str]]: ...
    async def lease_due(self, limit: int, lease_seconds: float) -> list[DueRow]: ...
    async def release(self, keys: Collection[tuple[UUID, str]]) -> None: ...
    async def finish(self, results: Sequence[Finished]) -> None: ...
    async def settle_handed_over(self) -> int: ...
    def hand_over_marks(self) -> HandOverPort: ...
    async def depth(self) -> QueueDepth: ...
    async def forgotten_among(
        self, user_ids: Collection[UUID], recipients: Collection[str]
    ) -> list[Forgetting]: ...
    async def forget(self, forgetting: Forgetting) -> Forgotten: ...
