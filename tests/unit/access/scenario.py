"""Given events (by running setup commands) → when a command → then published events or a
rejection: a whole write side on in-memory persistence, with a clock the test moves."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.envelope import CommandResult, EventEnvelope
from services.access.domain.access import effective_level
from services.access.domain.charger import Charger
from services.access.domain.group import Group
from services.access.domain.ids import group_aggregate_id
from services.access.domain.invitation import Invitation
from services.access.domain.user import User
from services.access.eventlog.translation import published
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import memory_store
from services.access.store.cache import AggregateCache
from services.common.tokens import invitation_token

SECRET = b"unit-test-token-secret-32-bytes!"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_serials = itertools.count(1)


@dataclass
class Cmd:
    """One command of a batch."""

    type: str
    actor: UUID
    data: dict[str, Any]
    command_id: str = field(default_factory=lambda: str(uuid4()))


class Scenario:
    def __init__(self, invitation_ttl: timedelta = timedelta(days=7)) -> None:
        self.store = memory_store()
        self.store.cache = AggregateCache()
        self.now = START
        self.executor = Executor(self.store, Rules(SECRET, invitation_ttl), clock=lambda: self.now)
        self.emails: dict[UUID, str] = {}
        self.events: list[EventEnvelope] = []  # published by the last `run` / `batch`
        self._users = itertools.count(1)

    # -- time ---------------------------------------------------------------------------

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    # -- when ---------------------------------------------------------------------------

    def run(self, type_: str, actor: UUID, command_id: str | None = None,
            **data: Any) -> CommandResult:
        """Run one command; its published events are in `self.events` afterwards."""
        return self.batch([Cmd(type_, actor, data, command_id or str(uuid4()))])[0]

    def batch(self, commands: Sequence[Cmd]) -> list[CommandResult]:
        before = self.head()
        items = [Valid(c.command_id, c.actor, c.type, COMMAND_TYPES[c.type].model_validate(c.data))
                 for c in commands]
        results = self.executor.execute(items)
        self.events = self.published_since(before)
        self.check_kept()
        return results

    def check_kept(self) -> None:
        """Every aggregate the store keeps between batches (`store/cache.py`) is what
        decoding its history up to the version kept gives (a load brings it up to date
        from there): so every scenario runs the executor on kept states and proves them
        right."""
        cache = self.store.cache
        if cache is None:
            return
        for aggregate_id, kept in cache.kept().items():
            decoded = self.store.repository.get(aggregate_id, version=kept.version)
            assert vars(kept) == vars(decoded), f"kept {type(kept).__name__} differs from its log"

    def ok(self, type_: str, actor: UUID, **data: Any) -> CommandResult:
        """Run a setup command that must be accepted."""
        result = self.run(type_, actor, **data)
        assert result.status == "accepted", result
        return result

    # -- then ---------------------------------------------------------------------------

    def head(self) -> int:
        notifications = self.store.recorder.select_notifications(1, 1_000_000)
        return notifications[-1].id if notifications else 0

    def published_since(self, position: int) -> list[EventEnvelope]:
        envelopes = []
        for notification in self.store.recorder.select_notifications(position + 1, 1_000_000):
            event = self.store.mapper.to_domain_event(notification)
            if getattr(type(event), "PUBLISHED", False):
                envelopes.append(published(notification.id, event).envelope)
        return envelopes

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == type_]

    def charger_state(self, charger_id: UUID) -> Charger:
        found = self.store.load(charger_id)
        assert isinstance(found, Charger)
        return found

    def group_state(self, group_id: UUID) -> Group:
        found = self.store.load(group_aggregate_id(group_id))
        assert isinstance(found, Group)
        return found

    def invitation_state(self, invitation_id: UUID) -> Invitation:
        found = self.store.load(invitation_id)
        assert isinstance(found, Invitation)
        return found

    def user_state(self, user_id: UUID) -> User:
        found = self.store.load(user_id)
        assert isinstance(found, User)
        return found

    def shares(self, charger_id: UUID) -> dict[str, str]:
        return dict(self.charger_state(charger_id).shares)

    def level(self, user_id: UUID, charger_id: UUID) -> str | None:
        charger = self.charger_state(charger_id)
        group = self.store.load(group_aggregate_id(charger.group_id))
        return effective_level(user_id, charger, group if isinstance(group, Group) else None)

    def token(self, invitation_id: UUID) -> str:
        """The token of the invitation's latest send, as its e-mail link carries it."""
        salt = None
        # The last command's events are the newest: look there before reading the whole log.
        recent = [e for e in self.events if e.subject == str(invitation_id)
                  and e.type in ("UserInvited", "InvitationResent")]
        for envelope in recent or self.published_since(0):
            if (envelope.subject == str(invitation_id)
                    and envelope.type in ("UserInvited", "InvitationResent")):
                salt = envelope.data["token_salt"]
        assert salt is not None, f"invitation {invitation_id} was never sent"
        return invitation_token(SECRET, invitation_id, salt)

    # -- given --------------------------------------------------------------------------

    def user(self, locale: str = "en", phone: str | None = None, email: str | None = None,
             name: str | None = None) -> UUID:
        user_id = uuid4()
        email = email or f"user{next(self._users)}-{user_id.hex[:6]}@example.com"
        data: dict[str, Any] = {"user_id": user_id, "email": email, "locale": locale}
        if phone is not None:
            data["phone"] = phone
        if name is not None:
            data["name"] = name
        self.ok("RegisterUser", user_id, **data)
        self.emails[user_id] = email
        return user_id

    def group(self, owner: UUID, admins: Sequence[UUID] = (),
              members: Sequence[UUID] = ()) -> UUID:
        group_id = uuid4()
        self.ok("CreateGroup", owner, group_id=group_id, name="Fleet")
        for role, users in (("admin", admins), ("member", members)):
            for user_id in users:
                self.ok("AddGroupMember", owner, group_id=group_id, user_id=user_id, role=role)
        return group_id

    def charger(self, owner: UUID, group: UUID | None = None, name: str = "Garage") -> UUID:
        charger_id = uuid4()
        data: dict[str, Any] = {"charger_id": charger_id, "name": name,
                                "serial_number": f"WB-{next(_serials):06d}"}
        if group is not None:
            data["group_id"] = group
        self.ok("RegisterCharger", owner, **data)
        return charger_id

    def invite(self, actor: UUID, email: str, chargers: Sequence[UUID],
               level: str = "charge", locale: str | None = None) -> tuple[UUID, str]:
        invitation_id = uuid4()
        data: dict[str, Any] = {"invitation_id": invitation_id, "email": email,
                                "charger_ids": list(chargers), "level": level}
        if locale is not None:
            data["locale"] = locale
        self.ok("InviteUser", actor, **data)
        return invitation_id, self.token(invitation_id)

    def share(self, actor: UUID, user_id: UUID, chargers: Sequence[UUID],
              level: str = "charge") -> None:
        """Give `user_id` shares through an invitation they accept."""
        invitation_id, token = self.invite(actor, self.emails[user_id], chargers, level)
        self.ok("AcceptInvitation", user_id, invitation_id=invitation_id, token=token)
