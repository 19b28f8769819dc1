"""A group of users with roles; chargers belong to a group."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.errors import Rejected
from services.access.domain.ids import group_aggregate_id


class Group(AccessAggregate):
    class GroupCreated(AccessAggregate.Event, Aggregate.Created):
        group_id: UUID
        name: str
        owner_id: UUID
        personal: bool

    class GroupMemberAdded(AccessAggregate.Event):
        group_id: UUID
        user_id: UUID
        role: str

        def apply(self, aggregate: Any) -> None:
            aggregate.members[str(self.user_id)] = self.role

    class GroupMemberRemoved(AccessAggregate.Event):
        group_id: UUID
        user_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.members.pop(str(self.user_id), None)

    def __init__(
        self, *, group_id: UUID, name: str, owner_id: UUID, personal: bool, actor: str,
        command_id: str,
    ) -> None:
        self.group_id = group_id
        self.name = name
        self.owner_id = owner_id
        self.personal = personal
        self.members: dict[str, str] = {str(owner_id): "owner"}

    @classmethod
    def create(
        cls, group_id: UUID, name: str, owner_id: UUID, personal: bool, cause: Cause
    ) -> Group:
        return cls._create(
            cls.GroupCreated, id=group_aggregate_id(group_id), group_id=group_id, name=name,
            owner_id=owner_id, personal=personal, **cause.stamp(),
        )

    def role_of(self, user_id: UUID | str) -> str | None:
        return self.members.get(str(user_id))

    def is_admin(self, user_id: UUID | str) -> bool:
        """Owner or admin: may manage the group's chargers and members."""
        return self.role_of(user_id) in ("owner", "admin")

    def add_member(self, user_id: UUID, role: str, cause: Cause) -> None:
        if str(user_id) == str(self.owner_id):
            raise Rejected("forbidden", "the group's owner keeps the owner role")
        if self.members.get(str(user_id)) != role:
            self.trigger_event(self.GroupMemberAdded, group_id=self.group_id, user_id=user_id,
                               role=role, **cause.stamp())

    def remove_member(self, user_id: UUID, cause: Cause) -> None:
        if str(user_id) == str(self.owner_id):
            raise Rejected("forbidden", "the group's owner can't be removed")
        if str(user_id) not in self.members:
            raise Rejected("not_found", f"user {user_id} is not a member of the group")
        self.trigger_event(self.GroupMemberRemoved, group_id=self.group_id, user_id=user_id,
                           **cause.stamp())
