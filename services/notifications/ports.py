"""What the service layer needs from the outside world, as ports: unit tests plug in
fakes (`tests/unit/notifications/fakes.py`), `service` the real SMTP pool, Kafka and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Protocol
from uuid import UUID

from services.notifications.mail.message import OutgoingEmail
from services.notifications.privacy import Forgetting
from services.notifications.sent_log.forgetting import Forgotten
from services.notifications.sent_log.queue import Claim, DueRow, Finished, QueueDepth


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
