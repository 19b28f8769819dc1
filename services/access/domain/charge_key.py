"""A key a charger can be shown (RFID card, key code, car...), belonging to one user.

Its token is unique per type through a `Claim` (as e-mails and serial numbers are), so
the charger's answer never depends on which of two users a card was read as.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.errors import Rejected


class ChargeKey(AccessAggregate):
    class ChargeKeyAdded(AccessAggregate.Event, Aggregate.Created):
        key_id: UUID
        user_id: UUID
        id_token: str
        type: str
        label: str | None

    class ChargeKeyBlocked(AccessAggregate.Event):
        key_id: UUID
        user_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.blocked = True

    class ChargeKeyUnblocked(AccessAggregate.Event):
        key_id: UUID
        user_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.blocked = False

    class ChargeKeyRemoved(AccessAggregate.Event):
        key_id: UUID
        user_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.removed = True

    def __init__(
        self, *, key_id: UUID, user_id: UUID, id_token: str, type: str, label: str | None,
        actor: str, command_id: str,
    ) -> None:
        self.key_id = key_id
        self.user_id = user_id
        self.id_token = id_token
        self.type = type
        self.label = label
        self.blocked = False
        self.removed = False

    @classmethod
    def add(cls, key_id: UUID, user_id: UUID, id_token: str, type: str, label: str | None,
            cause: Cause) -> ChargeKey:
        return cls._create(cls.ChargeKeyAdded, id=key_id, key_id=key_id, user_id=user_id,
                           id_token=id_token, type=type, label=label, **cause.stamp())

    def _live(self) -> None:
        if self.removed:
            raise Rejected("not_found", f"charge key {self.key_id} was removed")

    def block(self, cause: Cause) -> None:
        """Blocking a blocked key changes nothing (accepted, no event)."""
        self._live()
        if not self.blocked:
            self.trigger_event(self.ChargeKeyBlocked, key_id=self.key_id,
                               user_id=self.user_id, **cause.stamp())

    def unblock(self, cause: Cause) -> None:
        self._live()
        if self.blocked:
            self.trigger_event(self.ChargeKeyUnblocked, key_id=self.key_id,
                               user_id=self.user_id, **cause.stamp())

    def remove(self, reason: str, cause: Cause) -> None:
        self._live()
        self.trigger_event(self.ChargeKeyRemoved, key_id=self.key_id, user_id=self.user_id,
                           reason=reason, **cause.stamp())
