"""Cutting a batch of logged events so that list versions do not depend on batching.

A list gets a new version per *command* (a unit: consecutive events with the same command
id; an event without one is a unit alone) that changes its Full content. The projection
writes a batch in segments and compares lists at each segment's end, so a segment must
never hold two units that change the same list: then a version made live, a few events
at a time, and one made by a rebuild, thousands at a time, are the same.

- "narrow" units change only the lists of the chargers they name (charger events,
  shares granted, revoked, coming into or going out of effect): they share a segment as
  long as their chargers are disjoint;
- "wide" units reach lists through a group or a user (members, charge keys, forgetting):
  each is a segment of its own, its lists found in the database;
- other units (users, groups created, invitations, e-mail summaries) change no list and
  ride along with any segment.

A batch may end inside a command: `complete_units` holds its last unit back (unless it is
the only one), so the next batch starts with the whole command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

NARROW = frozenset({
    "ChargerRegistered", "ChargerMovedToGroup", "ChargerOwnershipTransferred",
    "ChargerTransferredToUser", "AccessGranted", "AccessRevoked",
    "ShareCameIntoEffect", "ShareWentOutOfEffect",
})
WHOLE_LIST = frozenset({
    "ChargerRegistered", "ChargerMovedToGroup", "ChargerOwnershipTransferred",
    "ChargerTransferredToUser",
})
"""Narrow events that may change anyone's entries on their charger (owner, group, every
share); the other narrow ones change only their user's."""
BY_GROUP = frozenset({"GroupMemberAdded", "GroupMemberRemoved"})
KEY_EVENTS = frozenset({
    "ChargeKeyAdded", "ChargeKeyBlocked", "ChargeKeyUnblocked", "ChargeKeyRemoved",
})
"""Wide events that change only keys: never which lists a user is on."""
BY_USER = KEY_EVENTS | {"UserForgotten"}


class _Head(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def commandid(self) -> str | None: ...


class Logged(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def head(self) -> _Head: ...

    @property
    def data(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=Logged)


@dataclass(frozen=True)
class Mark:
    """Where a list's new version is made: its unit's last event."""

    position: int
    time: datetime


@dataclass
class Segment(Generic[E]):
    events: list[E] = field(default_factory=list)
    chargers: dict[UUID, Mark] = field(default_factory=dict)
    """Narrow: each charger named, with the mark of the one unit that named it."""
    wide: Mark | None = None
    """Set for a wide unit's segment: its lists are found through these groups and users."""
    groups: set[UUID] = field(default_factory=set)
    users: set[UUID] = field(default_factory=set)
    touched: dict[UUID, set[UUID] | None] = field(default_factory=dict)
    """Per charger named: whose entries its events may change (None: anyone's)."""
    members: set[UUID] = field(default_factory=set)
    """A wide unit's users (keys, memberships, forgetting): whose entries it may change
    on every list it reaches."""
    everyone: bool = False
    """A wide unit that names no user: it may change anyone's entries."""

    @property
    def relevant(self) -> bool:
        return bool(self.chargers) or self.wide is not None

    @property
    def keeps_reach(self) -> bool:
        """Whether writing the segment leaves the lists it reaches as they were (only
        keys change): they need not be looked up again after it."""
        return all(e.head.type in KEY_EVENTS for e in self.events)

    def scope(self, charger_id: UUID) -> frozenset[UUID] | None:
        """Whose entries on `charger_id`'s list the segment may change; None: anyone's.
        Everyone else's entries stay as they are, so only these need computing again."""
        named = self.touched.get(charger_id, set())
        return None if named is None or self.everyone else frozenset(named | self.members)


def units(events: Sequence[E]) -> list[list[E]]:
    """Consecutive events of one command, in store order."""
    result: list[list[E]] = []
    for event in events:
        command = event.head.commandid
        if result and command is not None and result[-1][-1].head.commandid == command:
            result[-1].append(event)
        else:
            result.append([event])
    return result


def complete_units(events: Sequence[E]) -> Sequence[E]:
    """`events` without its last unit when there is more than one (it may go on in the
    next batch); a lone unit is taken whole."""
    split = units(events)
    if len(split) <= 1:
        return events
    return events[: len(events) - len(split[-1])]


def segments(events: Sequence[E]) -> list[Segment[E]]:
    """The batch cut so that no two units in a segment change the same list."""
    result: list[Segment[E]] = [Segment()]
    for unit in units(events):
        mark = Mark(unit[-1].position, unit[-1].head.time)
        types = {e.head.type for e in unit}
        current = result[-1]
        if types & (BY_GROUP | BY_USER):
            if current.relevant:
                current = Segment()
                result.append(current)
            current.events.extend(unit)
            current.wide = mark
            for e in unit:
                _seed(current, e)
            result.append(Segment())
            continue
        named = {_uuid(e.data["charger_id"]) for e in unit if e.head.type in NARROW}
        if named and (current.wide is not None or named & current.chargers.keys()):
            current = Segment()
            result.append(current)
        current.events.extend(unit)
        for charger_id in named:
            current.chargers[charger_id] = mark
        for e in unit:
            if e.head.type in NARROW:
                _touch(current, e)
    return [s for s in result if s.events]


def _touch(segment: Segment[E], event: E) -> None:
    """Note whose entries a narrow event may change on its charger."""
    charger_id = _uuid(event.data["charger_id"])
    if charger_id in segment.touched and segment.touched[charger_id] is None:
        return
    user = event.data.get("user_id")
    if event.head.type in WHOLE_LIST or user is None:
        segment.touched[charger_id] = None
        return
    users = segment.touched.setdefault(charger_id, set())
    assert users is not None  # checked above
    users.add(_uuid(user))


def _seed(segment: Segment[E], event: E) -> None:
    data = event.data
    if event.head.type in BY_GROUP:
        segment.groups.add(_uuid(data["group_id"]))
    if event.head.type in BY_USER:
        segment.users.add(_uuid(data["user_id"]))
    if event.head.type in BY_GROUP | BY_USER:
        if "user_id" in data:
            segment.members.add(_uuid(data["user_id"]))
        else:
            segment.everyone = True
    if event.head.type in NARROW:
        segment.chargers[_uuid(data["charger_id"])] = segment.wide or Mark(
            event.position, event.head.time)
        _touch(segment, event)


def _uuid(value: str | UUID) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
