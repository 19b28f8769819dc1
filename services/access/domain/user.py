"""A person who can be granted access, with the mirror of their shares.

The mirror (`shares`) lets RemoveUser find every charger a user has a share on from the
write model alone, without trusting a possibly stale read model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.pseudonyms import pseudonymous_email, pseudonymous_name


class User(AccessAggregate):
    class UserRegistered(AccessAggregate.Event, Aggregate.Created):
        user_id: UUID
        email: str
        phone: str | None
        name: str | None
        locale: str

    class SharesRecorded(AccessAggregate.Event):
        """Mirror of AccessGranted / AccessRevoked on the user's side (internal)."""

        PUBLISHED = False
        granted: dict[str, str]
        revoked: list[str]

        def apply(self, aggregate: Any) -> None:
            for charger_id in self.revoked:
                aggregate.shares.pop(charger_id, None)
            aggregate.shares.update(self.granted)

    class MembershipsRecorded(AccessAggregate.Event):
        """Mirror of the groups the user is a member of, and the role (internal), so the
        key rules find "an owner/admin of a group the user is a member of" from the write
        model. Memberships from before this mirror existed are not in it."""

        PUBLISHED = False
        joined: dict[str, str]
        left: list[str]

        def apply(self, aggregate: Any) -> None:
            for group_id in self.left:
                aggregate.groups.pop(group_id, None)
            aggregate.groups.update(self.joined)

    class KeysRecorded(AccessAggregate.Event):
        """Mirror of the user's live charge keys (internal), so ForgetUser removes them."""

        PUBLISHED = False
        added: list[str]
        removed: list[str]

        def apply(self, aggregate: Any) -> None:
            for key_id in self.removed:
                aggregate.keys.discard(key_id)
            aggregate.keys.update(self.added)

    class UserAccessChanged(AccessAggregate.Event):
        """v2 carries the window the shares were set with (None: permanent)."""

        class_version = 2
        user: dict[str, Any]
        changed_by: dict[str, Any]
        chargers: list[dict[str, Any]]
        level: str
        valid_from: datetime | None
        valid_until: datetime | None
        schedule: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(valid_from=None, valid_until=None, schedule=None)

    class UserForgotten(AccessAggregate.Event):
        user_id: UUID
        pseudonym_email: str
        pseudonym_name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.email = self.pseudonym_email
            aggregate.name = self.pseudonym_name
            aggregate.phone = None
            aggregate.forgotten = True

    class UserAccessRemoved(AccessAggregate.Event):
        user: dict[str, Any]
        removed_by: dict[str, Any]
        chargers: list[dict[str, Any]]

    def __init__(
        self,
        *,
        user_id: UUID,
        email: str,
        phone: str | None,
        name: str | None,
        locale: str,
        actor: str,
        command_id: str,
    ) -> None:
        self.user_id = user_id
        self.email = email
        self.phone = phone
        self.name = name
        self.locale = locale
        self.shares: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        self.keys: set[str] = set()
        self.forgotten = False

    @classmethod
    def register(
        cls, user_id: UUID, email: str, phone: str | None, name: str | None, locale: str,
        cause: Cause,
    ) -> User:
        return cls._create(
            cls.UserRegistered, id=user_id, user_id=user_id, email=email, phone=phone,
            name=name, locale=locale, **cause.stamp(),
        )

    def person(self) -> dict[str, Any]:
        """How e-mails and events name this user, as of now."""
        return {"user_id": self.user_id, "email": self.email, "name": self.name,
                "locale": self.locale}

    def forget(self, cause: Cause) -> None:
        self.trigger_event(
            self.UserForgotten, user_id=self.user_id,
            pseudonym_email=pseudonymous_email(self.user_id),
            pseudonym_name=pseudonymous_name(self.user_id), **cause.stamp(),
        )

    def record_shares(self, granted: dict[str, str], revoked: list[str], cause: Cause) -> None:
        if granted or revoked:
            self.trigger_event(self.SharesRecorded, granted=granted, revoked=revoked,
                               **cause.stamp())

    def record_membership(self, group_id: UUID, role: str | None, cause: Cause) -> None:
        """`role` None: the user left the group."""
        if role is None and str(group_id) in self.groups:
            self.trigger_event(self.MembershipsRecorded, joined={}, left=[str(group_id)],
                               **cause.stamp())
        elif role is not None and self.groups.get(str(group_id)) != role:
            self.trigger_event(self.MembershipsRecorded, joined={str(group_id): role},
                               left=[], **cause.stamp())

    def record_keys(self, added: list[str], removed: list[str], cause: Cause) -> None:
        if added or removed:
            self.trigger_event(self.KeysRecorded, added=added, removed=removed,
                               **cause.stamp())
