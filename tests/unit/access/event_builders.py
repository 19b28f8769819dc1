"""Scripted event logs for read-side tests: real contract models, increasing positions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Level, Role
from services.access.eventlog.values import LoggedEvent

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def person(user_id: UUID | None, email: str = "someone@example.com") -> ev.Person:
    return ev.Person(user_id=user_id, email=email)


def ref(charger_id: UUID) -> ev.ChargerRef:
    return ev.ChargerRef(charger_id=charger_id, serial_number=f"SN-{charger_id.hex[:8]}")


class ScriptedLog:
    """Builds LoggedEvents the way the store would publish them, one position each."""

    def __init__(self, start: int = 0) -> None:
        self.position = start
        self.events: list[LoggedEvent] = []

    def add(self, event: ev.AccessEvent, subject: UUID, actor: UUID | None = None) -> LoggedEvent:
        self.position += 1
        envelope = EventEnvelope(
            id=uuid.uuid4(),
            type=type(event).__name__,
            subject=str(subject),
            sequence=self.position,
            time=T0 + timedelta(seconds=self.position),
            actor=str(actor) if actor else None,
            commandid=str(uuid.uuid4()),
            data=json.loads(event.model_dump_json()),
        )
        logged = LoggedEvent(self.position, envelope)
        self.events.append(logged)
        return logged

    def take(self) -> list[LoggedEvent]:
        """The events added since the last take (one batch)."""
        batch, self.events = self.events, []
        return batch

    # --- the domain's usual shapes -------------------------------------------------

    def user(self, email: str | None = None) -> UUID:
        """A registered user with the personal group every user has."""
        user_id = uuid.uuid4()
        email = email or f"{user_id.hex[:10]}@example.com"
        self.add(ev.UserRegistered(user_id=user_id, email=email), user_id, user_id)
        self.add(
            ev.GroupCreated(group_id=user_id, name="Personal", owner_id=user_id, personal=True),
            user_id,
            user_id,
        )
        return user_id

    def group(self, owner: UUID, name: str = "Fleet") -> UUID:
        group_id = uuid.uuid4()
        self.add(
            ev.GroupCreated(group_id=group_id, name=name, owner_id=owner, personal=False),
            group_id,
            owner,
        )
        return group_id

    def member(self, group_id: UUID, user_id: UUID, role: Role = "member") -> None:
        event = ev.GroupMemberAdded(group_id=group_id, user_id=user_id, role=role)
        self.add(event, group_id)

    def charger(self, owner: UUID, group_id: UUID | None = None) -> UUID:
        charger_id = uuid.uuid4()
        event = ev.ChargerRegistered(
            charger_id=charger_id,
            serial_number=f"SN-{charger_id.hex[:8]}",
            name="Garage",
            group_id=group_id or owner,
            owner_id=owner,
        )
        self.add(event, charger_id, owner)
        return charger_id

    def grant(
        self,
        charger_id: UUID,
        user_id: UUID,
        level: Level = "charge",
        invitation_id: UUID | None = None,
    ) -> None:
        source: dict[str, str] = (
            {"kind": "invitation", "invitation_id": str(invitation_id)}
            if invitation_id
            else {"kind": "update", "command_id": "cmd-1"}
        )
        event = ev.AccessGranted(charger_id=charger_id, user_id=user_id, level=level, source=source)
        self.add(event, charger_id)

    def revoke(self, charger_id: UUID, user_id: UUID) -> None:
        self.add(ev.AccessRevoked(charger_id=charger_id, user_id=user_id), charger_id)

    def invite(
        self,
        inviter: UUID,
        chargers: list[UUID],
        email: str = "guest@example.com",
        expires_at: datetime | None = None,
    ) -> UUID:
        invitation_id = uuid.uuid4()
        event = ev.UserInvited(
            invitation_id=invitation_id,
            email=email,
            chargers=[ref(c) for c in chargers],
            level="charge",
            locale="nb",
            inviter=person(inviter),
            expires_at=expires_at or T0 + timedelta(days=7),
            token_salt="salt-never-shown",
        )
        self.add(event, invitation_id, inviter)
        return invitation_id
