"""Unique keys (e-mail, phone, serial number) as tiny aggregates of their own.

Each key has an aggregate with a deterministic id. Two commands claiming the same key
concurrently both write the same aggregate version, and the store lets only one commit,
so uniqueness never depends on a read model that could be stale.

An e-mail's aggregate also remembers the invitations pending to that address, which
may exist before anyone has registered with it (then `owner_id` is None).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause


class Claim(AccessAggregate):
    class Opened(AccessAggregate.Event, Aggregate.Created):
        PUBLISHED = False
        kind: str
        key: str
        owner_id: UUID | None

    class Taken(AccessAggregate.Event):
        PUBLISHED = False
        owner_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = self.owner_id

    class Released(AccessAggregate.Event):
        """The owner was forgotten: the key may be claimed again."""

        PUBLISHED = False

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = None

    class PendingInvitationsChanged(AccessAggregate.Event):
        PUBLISHED = False
        added: dict[str, str]
        removed: list[str]

        def apply(self, aggregate: Any) -> None:
            for invitation_id in self.removed:
                aggregate.pending_invitations.pop(invitation_id, None)
            aggregate.pending_invitations.update(self.added)

    def __init__(
        self, *, kind: str, key: str, owner_id: UUID | None, actor: str, command_id: str
    ) -> None:
        self.kind = kind
        self.key = key
        self.owner_id = owner_id
        self.pending_invitations: dict[str, str] = {}

    @classmethod
    def open(cls, claim_id: UUID, kind: str, key: str, owner_id: UUID | None,
             cause: Cause) -> Claim:
        return cls._create(cls.Opened, id=claim_id, kind=kind, key=key, owner_id=owner_id,
                           **cause.stamp())

    def take(self, owner_id: UUID, cause: Cause) -> None:
        self.trigger_event(self.Taken, owner_id=owner_id, **cause.stamp())

    def release(self, cause: Cause) -> None:
        if self.owner_id is not None:
            self.trigger_event(self.Released, **cause.stamp())

    def note_invitations(self, added: dict[str, str], removed: list[str], cause: Cause) -> None:
        """`added` maps invitation id → inviter id; `removed` lists ids no longer pending."""
        removed = [i for i in removed if i in self.pending_invitations]
        if added or removed:
            self.trigger_event(self.PendingInvitationsChanged, added=added, removed=removed,
                               **cause.stamp())
