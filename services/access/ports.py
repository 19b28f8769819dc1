"""What the command path asks of the event store: one protocol and the values it takes.

The executor and the handlers code against this; `services/access/store` implements it,
so the rules never import an adapter and tests may pass any store that fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from services.access.domain.base import AccessAggregate


@dataclass(frozen=True)
class PendingResult:
    """A command's outcome waiting to be stored with the batch's events.

    `position_index` is the index, in the batch's event list, of the command's last
    published event: its notification id is the position a client waits for.
    """

    command_id: str
    outcome: dict[str, Any]
    position_index: int | None = None

    def position(self, notification_ids: Sequence[int]) -> int | None:
        return None if self.position_index is None else notification_ids[self.position_index]


@dataclass(frozen=True)
class Forgetting:
    """Personal-data keys to delete in the commit that stores `UserForgotten`
    (`subjects`), and the users no key is ever made for again (`users`)."""

    subjects: list[UUID] = field(default_factory=list)
    users: list[UUID] = field(default_factory=list)

    def forget(self, user: UUID, subjects: Iterable[UUID]) -> None:
        """Forget `user`: the keys of `subjects` (their own and their claims') go."""
        self.subjects.extend(subjects)
        self.users.append(user)

    def include(self, other: Forgetting) -> None:
        self.subjects.extend(other.subjects)
        self.users.extend(other.users)

    def __bool__(self) -> bool:
        return bool(self.subjects or self.users)


class EventStore(Protocol):
    """Aggregates in, events and command results out, each batch in one transaction."""

    def load_batch(
        self, command_ids: Sequence[str], aggregate_ids: Iterable[UUID]
    ) -> tuple[dict[str, dict[str, Any]], dict[UUID, AccessAggregate | None]]:
        """Start a batch: the stored results of those of `command_ids` seen before, and
        the aggregates of `aggregate_ids` (absent ones as None)."""
        ...

    def load(self, aggregate_id: UUID) -> AccessAggregate | None: ...

    def commit(
        self, events: Sequence[Any], results: Sequence[PendingResult], forgetting: Forgetting,
        aggregates: Iterable[AccessAggregate | None] = (),
    ) -> list[int]:
        """Store a batch's events, its commands' results and its forgetting atomically;
        the events' notification ids. Raises eventsourcing's `IntegrityError` on a
        conflict (an aggregate version or a command id already stored). `aggregates`: the
        batch's aggregates as the commit leaves them (a store may keep them)."""
        ...
