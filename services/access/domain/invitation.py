"""An invitation by e-mail to use one or more chargers.

Its token is never stored: each send draws a salt, and the token is a keyed HMAC of the
invitation id and that salt (see `services.common.tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.errors import Rejected
from services.access.domain.windows import Window
from services.common.tokens import new_salt, token_matches


def _permanent(state: dict[str, Any]) -> None:
    """Upcast to v2: events before time-bound shares meant permanent ones."""
    state.update(valid_from=None, valid_until=None, schedule=None)


class Invitation(AccessAggregate):
    class UserInvited(AccessAggregate.Event, Aggregate.Created):
        """v2 carries the window of the shares it grants (None: permanent)."""

        class_version = 2
        invitation_id: UUID
        email: str
        chargers: list[dict[str, Any]]
        level: str
        locale: str
        inviter: dict[str, Any]
        expires_at: datetime
        token_salt: str
        valid_from: datetime | None
        valid_until: datetime | None
        schedule: dict[str, Any] | None

        upcast_v1_v2 = staticmethod(_permanent)

    class InvitationResent(AccessAggregate.Event):
        """v2 carries the window, as UserInvited."""

        class_version = 2
        invitation_id: UUID
        email: str
        chargers: list[dict[str, Any]]
        level: str
        locale: str
        inviter: dict[str, Any]
        expires_at: datetime
        token_salt: str
        valid_from: datetime | None
        valid_until: datetime | None
        schedule: dict[str, Any] | None

        upcast_v1_v2 = staticmethod(_permanent)

        def apply(self, aggregate: Any) -> None:
            aggregate.expires_at = self.expires_at
            aggregate.token_salt = self.token_salt

    class InvitationAccepted(AccessAggregate.Event):
        """v2 carries the window the shares were granted with."""

        class_version = 2
        invitation_id: UUID
        user_id: UUID
        charger_ids: list[UUID]
        level: str
        valid_from: datetime | None
        valid_until: datetime | None
        schedule: dict[str, Any] | None

        upcast_v1_v2 = staticmethod(_permanent)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "accepted"

    class InvitationDeclined(AccessAggregate.Event):
        invitation_id: UUID
        user_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "declined"

    class InvitationRevoked(AccessAggregate.Event):
        invitation_id: UUID
        email: str
        locale: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "revoked"

    def __init__(
        self, *, invitation_id: UUID, email: str, chargers: list[dict[str, Any]], level: str,
        locale: str, inviter: dict[str, Any], expires_at: datetime, token_salt: str,
        valid_from: datetime | None, valid_until: datetime | None,
        schedule: dict[str, Any] | None, actor: str, command_id: str,
    ) -> None:
        self.invitation_id = invitation_id
        self.email = email
        self.chargers = chargers
        self.level = level
        self.locale = locale
        self.inviter = inviter
        self.inviter_id = str(inviter["user_id"])
        self.expires_at = expires_at
        self.token_salt = token_salt
        self.window = Window.from_data(
            {"valid_from": valid_from, "valid_until": valid_until, "schedule": schedule})
        self.status = "pending"

    @classmethod
    def invite(
        cls, invitation_id: UUID, email: str, chargers: list[dict[str, Any]], level: str,
        window: Window, locale: str, inviter: dict[str, Any], ttl: timedelta, cause: Cause,
    ) -> Invitation:
        return cls._create(
            cls.UserInvited, id=invitation_id, invitation_id=invitation_id, email=email,
            chargers=chargers, level=level, locale=locale, inviter=inviter,
            expires_at=cause.at + ttl, token_salt=new_salt(), **window.event_fields(),
            **cause.stamp(),
        )

    @property
    def charger_ids(self) -> list[UUID]:
        return [UUID(str(c["charger_id"])) for c in self.chargers]

    def check_answerable(self, email: str, token: str, secrets: Sequence[bytes],
                         now: datetime) -> None:
        """The rules AcceptInvitation and DeclineInvitation share, in SPEC's order
        (`secrets`: the token secret and those it replaced, whose tokens still count)."""
        if email.strip().lower() != self.email.strip().lower():
            raise Rejected("email_mismatch", "the invitation was sent to another e-mail address")
        if self.status != "pending":
            raise Rejected("not_pending", f"the invitation is {self.status}")
        if now >= self.expires_at:
            raise Rejected("expired", "the invitation has expired; ask for it to be resent")
        if not token_matches(secrets, self.invitation_id, self.token_salt, token):
            raise Rejected("invalid_token", "the token does not match this invitation")

    def accept(self, user_id: UUID, cause: Cause) -> None:
        self.trigger_event(self.InvitationAccepted, invitation_id=self.invitation_id,
                           user_id=user_id, charger_ids=self.charger_ids, level=self.level,
                           **self.window.event_fields(), **cause.stamp())

    def decline(self, user_id: UUID, cause: Cause) -> None:
        self.trigger_event(self.InvitationDeclined, invitation_id=self.invitation_id,
                           user_id=user_id, **cause.stamp())

    def revoke(self, reason: str, cause: Cause) -> None:
        if self.status != "pending":
            raise Rejected("not_pending", f"the invitation is {self.status}")
        self.trigger_event(self.InvitationRevoked, invitation_id=self.invitation_id,
                           email=self.email, locale=self.locale, reason=reason, **cause.stamp())

    def resend(self, ttl: timedelta, cause: Cause) -> None:
        if self.status != "pending":
            raise Rejected("not_pending", f"the invitation is {self.status}")
        until = self.window.valid_until
        if until is not None and until <= cause.at:  # as InviteUser's window rule
            raise Rejected("invalid", f"valid_until: the invitation's window ended at "
                           f"{until.isoformat()}; invite again with a new window")
        self.trigger_event(
            self.InvitationResent, invitation_id=self.invitation_id, email=self.email,
            chargers=self.chargers, level=self.level, locale=self.locale, inviter=self.inviter,
            expires_at=cause.at + ttl, token_salt=new_salt(), **self.window.event_fields(),
            **cause.stamp(),
        )
