"""What the time-bound share tests share: a window (the auditors' tests' own), granting
with it, and playing the scheduler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from services.access.domain.base import Cause
from services.access.domain.windows import Window
from tests.unit.access.scenario import Scenario

NOTICE = timedelta(hours=24)


def invite(s: Scenario, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
           **window: Any) -> tuple[UUID, str]:
    invitation_id = uuid4()
    s.ok("InviteUser", actor, invitation_id=invitation_id, email=s.emails[user],
         charger_ids=chargers, level=level, **window)
    return invitation_id, s.token(invitation_id)


def share(s: Scenario, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
          **window: Any) -> None:
    invitation_id, token = invite(s, actor, user, chargers, level, **window)
    s.ok("AcceptInvitation", user, invitation_id=invitation_id, token=token)


def window_of(s: Scenario, charger: UUID, user: UUID) -> Window:
    return s.charger_state(charger).window_of(user)


def scheduler(s: Scenario) -> Cause:
    return Cause("scheduler", f"boundaries-{uuid4()}", s.now)


def mark(s: Scenario, charger_id: UUID, user: UUID) -> list[str]:
    """What a scheduler does at `s.now`; the types appended."""
    before = s.head()
    charger = s.charger_state(charger_id)
    charger.mark_boundaries(user, s.now, scheduler(s))
    s.store.save(charger)
    s.events = s.published_since(before)
    return s.types()


def notice(s: Scenario, charger_id: UUID, user: UUID) -> bool:
    before = s.head()
    charger = s.charger_state(charger_id)
    noticed = charger.notice_ending(s.user_state(user).person(), s.now, NOTICE, scheduler(s))
    s.store.save(charger)
    s.events = s.published_since(before)
    return noticed
