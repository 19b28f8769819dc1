"""A charger: where it belongs, who owns it, and who has a share on it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause


class Charger(AccessAggregate):
    class ChargerRegistered(AccessAggregate.Event, Aggregate.Created):
        """v2 added `connected` (transfers can drop the cloud connection); v1 chargers were
        all connected."""

        class_version = 2
        charger_id: UUID
        serial_number: str
        name: str | None
        group_id: UUID
        owner_id: UUID
        connected: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["connected"] = True

    class AccessGranted(AccessAggregate.Event):
        charger_id: UUID
        user_id: UUID
        level: str
        source: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.shares[str(self.user_id)] = self.level

    class AccessRevoked(AccessAggregate.Event):
        charger_id: UUID
        user_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.shares.pop(str(self.user_id), None)

    class PendingInvitationsChanged(AccessAggregate.Event):
        """Which invitations still wait on this charger (internal bookkeeping)."""

        PUBLISHED = False
        added: list[str]
        removed: list[str]

        def apply(self, aggregate: Any) -> None:
            for invitation_id in self.removed:
                aggregate.pending_invitations.pop(invitation_id, None)
            for invitation_id in self.added:
                aggregate.pending_invitations[invitation_id] = True

    class ChargerMovedToGroup(AccessAggregate.Event):
        charger_id: UUID
        from_group_id: UUID
        to_group_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.group_id = self.to_group_id

    class ChargerOwnershipTransferred(AccessAggregate.Event):
        """v2 names the previous owner (`from_owner`) so the e-mail can say who gave it."""

        class_version = 2
        charger_id: UUID
        charger: dict[str, Any]
        from_owner_id: UUID
        to_owner: dict[str, Any]
        from_owner: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["from_owner"] = None

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = self.to_owner["user_id"]

    class ChargerTransferredToUser(AccessAggregate.Event):
        charger_id: UUID
        charger: dict[str, Any]
        from_owner: dict[str, Any]
        to_user: dict[str, Any]
        from_group_id: UUID
        to_group_id: UUID
        connected: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = self.to_user["user_id"]
            aggregate.group_id = self.to_group_id
            aggregate.connected = self.connected

    def __init__(
        self, *, charger_id: UUID, serial_number: str, name: str | None, group_id: UUID,
        owner_id: UUID, connected: bool, actor: str, command_id: str,
    ) -> None:
        self.charger_id = charger_id
        self.serial_number = serial_number
        self.name = name
        self.group_id = group_id
        self.owner_id = owner_id
        self.connected = connected
        self.shares: dict[str, str] = {}
        self.pending_invitations: dict[str, bool] = {}

    @classmethod
    def register(
        cls, charger_id: UUID, serial_number: str, name: str | None, group_id: UUID,
        owner_id: UUID, cause: Cause,
    ) -> Charger:
        return cls._create(
            cls.ChargerRegistered, id=charger_id, charger_id=charger_id,
            serial_number=serial_number, name=name, group_id=group_id, owner_id=owner_id,
            connected=True, **cause.stamp(),
        )

    def ref(self) -> dict[str, Any]:
        """How e-mails and events name this charger."""
        return {"charger_id": self.charger_id, "name": self.name,
                "serial_number": self.serial_number}

    def grant(self, user_id: UUID, level: str, source: dict[str, Any], cause: Cause) -> bool:
        """Give `user_id` a share at `level`; False when they already had exactly that."""
        if self.shares.get(str(user_id)) == level:
            return False
        self.trigger_event(self.AccessGranted, charger_id=self.charger_id, user_id=user_id,
                           level=level, source=source, **cause.stamp())
        return True

    def revoke(self, user_id: UUID, reason: str, cause: Cause) -> bool:
        if str(user_id) not in self.shares:
            return False
        self.trigger_event(self.AccessRevoked, charger_id=self.charger_id, user_id=user_id,
                           reason=reason, **cause.stamp())
        return True

    def note_invitations(self, added: list[str], removed: list[str], cause: Cause) -> None:
        removed = [i for i in removed if i in self.pending_invitations]
        if added or removed:
            self.trigger_event(self.PendingInvitationsChanged, added=added, removed=removed,
                               **cause.stamp())
