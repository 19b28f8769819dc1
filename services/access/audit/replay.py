"""Effective access at a moment, replayed from the log alone (pure: envelopes in, answers out).

The same rules as the live read model (`projection/tables/access.py`), in the same shape: one
entry per user and charger with the level, `in_effect` and every reason, highest first —
owner, then group role, then share — each naming what it gives. An auditor's answer for
time T is therefore comparable, entry for entry, with what the query API said at T.

Time-bound shares: whether a share is in effect at T is the window's arithmetic
(`domain.windows.in_effect`) on the window it was last granted with up to T, not the
boundary events (`ShareCameIntoEffect` / `ShareWentOutOfEffect`) appended up to T. The
arithmetic is exact to the instant and is the rule the write side, the scheduler and the
check all apply; the boundary events record the same flips but are appended up to a
second late (or, after downtime, much later, with their nominal time), so folding them by
their envelope time would answer "not yet" for the moments in between. Tests check both
agree away from the boundaries. A share not in effect at T gives no access: its holder
is listed, as the query API lists them, with `in_effect: false` and the share's level only
when they have nothing else then.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from services.access.audit.window_words import window_of
from services.access.domain.access import LEVELS
from services.access.domain.windows import Window, in_effect
from services.access.projection.changes import share_why


@dataclass
class _Charger:
    owner_id: str
    group_id: str


@dataclass(frozen=True)
class _Share:
    level: str
    window: Window
    why: dict[str, Any]
    """The reason, with the window's three fields (as the event carries them) when it has one."""

    def reason(self) -> dict[str, Any]:
        return {**self.why, "level": self.level}




@dataclass
class AccessState:
    """Who may use what, folded from events in store order; answers are for `at`."""

    at: datetime | None = None
    """The moment the answers are for (whether each time-bound share is in effect); None:
    the time of the last event folded in."""
    chargers: dict[str, _Charger] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    """group_id → user_id → role."""
    shares: dict[str, dict[str, _Share]] = field(default_factory=dict)
    """charger_id → user_id → share."""
    users: set[str] = field(default_factory=set)
    """Every user id registered."""
    position: int = 0
    """The last position folded in."""
    last_time: datetime | None = None
    """The time of the last event folded in."""

    def apply(self, envelope: EventEnvelope) -> None:
        model = ev.EVENT_TYPES.get(envelope.type)
        if model is not None:
            _apply(self, model.model_validate(envelope.data))
        self.position = max(self.position, envelope.sequence)
        self.last_time = as_utc(envelope.time)

    def knows_user(self, user_id: str) -> bool:
        return user_id in self.users

    def knows_charger(self, charger_id: str) -> bool:
        return charger_id in self.chargers

    def users_of(self, charger_id: str) -> list[dict[str, Any]]:
        """Users with access to the charger, ordered by id: `{user_id, level, why}`."""
        charger = self.chargers.get(charger_id)
        if charger is None:
            return []
        candidates = {charger.owner_id, *self.members.get(charger.group_id, {}),
                      *self.shares.get(charger_id, {})}
        found = []
        for user_id in sorted(candidates):
            entry = self._entry(charger_id, user_id)
            if entry:
                found.append({"user_id": user_id, **entry})
        return found

    def chargers_of(self, user_id: str) -> list[dict[str, Any]]:
        """Chargers the user may use, ordered by id: `{charger_id, level, why}`."""
        found = []
        for charger_id in sorted(self.chargers):
            entry = self._entry(charger_id, user_id)
            if entry:
                found.append({"charger_id": charger_id, **entry})
        return found

    def _entry(self, charger_id: str, user_id: str) -> dict[str, Any]:
        charger = self.chargers[charger_id]
        reasons: list[tuple[int, dict[str, Any]]] = []
        if charger.owner_id == user_id:
            reasons.append((LEVELS["manage"], {"source": "owner", "level": "manage"}))
        role = self.members.get(charger.group_id, {}).get(user_id)
        if role is not None:
            level = "charge" if role == "member" else "manage"
            reasons.append((LEVELS[level], {"source": f"group:{role}",
                                            "group_id": charger.group_id, "level": level}))
        share = self.shares.get(charger_id, {}).get(user_id)
        if share is not None and self._in_effect(share.window):
            reasons.append((LEVELS[share.level], share.reason()))
        if not reasons:
            if share is None:
                return {}
            return {"level": share.level, "in_effect": False, "why": [share.reason()]}
        # Highest level first; within a level (a stable sort) owner, group role, share.
        ordered = sorted(reasons, key=lambda reason: -reason[0])
        return {"level": ordered[0][1]["level"], "in_effect": True,
                "why": [why for _, why in ordered]}

    def _in_effect(self, window: Window) -> bool:
        if window.permanent:
            return True
        moment = self.at or self.last_time
        return moment is not None and in_effect(window, moment)


def _apply(state: AccessState, e: ev.AccessEvent) -> None:  # noqa: PLR0912 - one branch a type
    if isinstance(e, ev.UserRegistered):
        state.users.add(str(e.user_id))
    elif isinstance(e, ev.GroupCreated):
        state.members[str(e.group_id)] = {str(e.owner_id): "owner"}
    elif isinstance(e, ev.GroupMemberAdded):
        state.members.setdefault(str(e.group_id), {})[str(e.user_id)] = e.role
    elif isinstance(e, ev.GroupMemberRemoved):
        state.members.get(str(e.group_id), {}).pop(str(e.user_id), None)
    elif isinstance(e, ev.ChargerRegistered):
        state.chargers[str(e.charger_id)] = _Charger(str(e.owner_id), str(e.group_id))
    elif isinstance(e, ev.ChargerMovedToGroup):
        if (charger := state.chargers.get(str(e.charger_id))) is not None:
            charger.group_id = str(e.to_group_id)
    elif isinstance(e, ev.ChargerOwnershipTransferred):
        charger = state.chargers.get(str(e.charger_id))
        if charger is not None and e.to_owner.user_id is not None:
            charger.owner_id = str(e.to_owner.user_id)
    elif isinstance(e, ev.ChargerTransferredToUser):
        charger = state.chargers.get(str(e.charger_id))
        if charger is not None:
            if e.to_user.user_id is not None:
                charger.owner_id = str(e.to_user.user_id)
            charger.group_id = str(e.to_group_id)
    elif isinstance(e, ev.AccessGranted):
        shares = state.shares.setdefault(str(e.charger_id), {})
        window = window_of(e)
        why = share_why(e.source, window)
        shares[str(e.user_id)] = _Share(e.level, window, why)
    elif isinstance(e, ev.AccessRevoked):
        state.shares.get(str(e.charger_id), {}).pop(str(e.user_id), None)


def as_utc(moment: datetime) -> datetime:
    """A moment without a zone is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def replay_until(envelopes: AsyncIterable[EventEnvelope], at: datetime) -> AccessState:
    """Access at `at`: every event whose time is at or before it folded in, in store order.

    The whole log is read: store order is not strictly time order (instances' clocks)."""
    moment = as_utc(at)
    state = AccessState(at=moment)
    async for envelope in envelopes:
        if as_utc(envelope.time) <= moment:
            state.apply(envelope)
    return state
