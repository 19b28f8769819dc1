"""Time-bound shares for the auditors' tests: granted through the real commands, with the
boundary events a scheduler appends (on the in-memory store or PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from charger_access_client.envelope import EventEnvelope
from services.access.domain.base import Cause
from tests.unit.access.scenario import Scenario

LAG = timedelta(milliseconds=500)
"""How late the simulated scheduler appends a boundary (SPEC: within 1 s)."""


def iso(t: datetime) -> str:
    """As the published events write an instant (pydantic's JSON: UTC as Z)."""
    return t.isoformat().replace("+00:00", "Z")


def share(s: Scenario, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
          **window: Any) -> UUID:
    """Invite `user` (registered in `s`) with the window, and accept; the invitation id."""
    invitation_id = uuid4()
    s.ok("InviteUser", actor, invitation_id=invitation_id, email=s.emails[user],
         charger_ids=chargers, level=level, **window)
    s.ok("AcceptInvitation", user, invitation_id=invitation_id, token=s.token(invitation_id))
    return invitation_id


def mark(s: Scenario, charger_id: UUID, user: UUID) -> int:
    """What the scheduler does at `s.now` for one share: append its due boundaries."""
    charger = s.charger_state(charger_id)
    count = charger.mark_boundaries(user, s.now, Cause("scheduler", f"b-{uuid4()}", s.now))
    s.store.save(charger)
    return count


def run_scheduler(s: Scenario, charger_id: UUID, user: UUID, until: datetime) -> list[datetime]:
    """Append every boundary up to `until`, each `LAG` after it (as the scheduler would);
    the boundaries' nominal instants."""
    boundaries = []
    while (due := s.charger_state(charger_id).next_boundary(user)) is not None and due <= until:
        s.now = max(s.now, due + LAG)
        assert mark(s, charger_id, user) >= 1
        boundaries.append(due)
    return boundaries


async def each(envelopes: Iterable[EventEnvelope]) -> AsyncIterator[EventEnvelope]:
    for envelope in envelopes:
        yield envelope
