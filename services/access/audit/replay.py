"""Effective access at a moment, replayed from the log alone (pure: envelopes in, answers out).

The same rules as the live read model (`projection/tables/access.py`), in the same shape: one
entry per user and charger with the level and every reason, highest first — owner,
then group role, then share — each naming what it gives. An auditor's answer for time T
is therefore comparable, entry for entry, with what the query API said at T.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from events import access_events as ev
from events.envelope import EventEnvelope
from services.access.domain.access import LEVELS
from services.access.projection.changes import share_reason


@dataclass
class _Charger:
    owner_id: str
    group_id: str


@dataclass
class AccessState:
    """Who may use what, folded from events in store order."""

    chargers: dict[str, _Charger] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    """group_id → user_id → role."""
    shares: dict[str, dict[str, tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    """charger_id → user_id → (level, why)."""
    position: int = 0
    """The last position folded in."""

    def apply(self, envelope: EventEnvelope) -> None:
        model = ev.EVENT_TYPES.get(envelope.type)
        if model is not None:
            _apply(self, model.model_validate(envelope.data))
        self.position = max(self.position, envelope.sequence)

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
        if share is not None:
            reasons.append((LEVELS[share[0]], {**share[1], "level": share[0]}))
        if not reasons:
            return {}
        # Highest level first; within a level (a stable sort) owner, group role, share.
        ordered = sorted(reasons, key=lambda reason: -reason[0])
        return {"level": ordered[0][1]["level"], "why": [why for _, why in ordered]}


def _apply(state: AccessState, e: ev.AccessEvent) -> None:  # noqa: PLR0912 - one branch a type
    if isinstance(e, ev.GroupCreated):
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
        shares[str(e.user_id)] = (e.level, share_reason(e.source))
    elif isinstance(e, ev.AccessRevoked):
        state.shares.get(str(e.charger_id), {}).pop(str(e.user_id), None)


def as_utc(moment: datetime) -> datetime:
    """A moment without a zone is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def replay_until(envelopes: Iterable[EventEnvelope], at: datetime,
                 state: AccessState | None = None) -> AccessState:
    """Fold every event whose time is at or before `at` (in store order) into `state`."""
    state = state if state is not None else AccessState()
    moment = as_utc(at)
    for envelope in envelopes:
        if as_utc(envelope.time) <= moment:
            state.apply(envelope)
    return state
