"""The chargers connected to this instance: one session per charger (a charger that
connects again replaces its old connection), found by charger id when a list changes."""

from __future__ import annotations

from collections import Counter
from typing import Protocol
from uuid import UUID

from services.ocpp_gateway.changes import ListChange


class Held(Protocol):
    charger_id: UUID
    ocpp_version: str

    def changed(self, change: ListChange) -> None: ...

    async def replaced(self) -> None: ...


class Connected:
    def __init__(self) -> None:
        self._sessions: dict[UUID, Held] = {}

    async def hold(self, session: Held) -> None:
        old = self._sessions.get(session.charger_id)
        self._sessions[session.charger_id] = session
        if old is not None:
            await old.replaced()

    def release(self, session: Held) -> None:
        if self._sessions.get(session.charger_id) is session:
            del self._sessions[session.charger_id]

    def deliver(self, change: ListChange) -> bool:
        """Hand the change to the charger's session; False when it is not held here."""
        session = self._sessions.get(change.charger_id)
        if session is None:
            return False
        session.changed(change)
        return True

    def by_version(self) -> dict[str, int]:
        return dict(Counter(s.ocpp_version for s in self._sessions.values()))
