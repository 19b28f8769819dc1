from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from services.access.local_lists.segments import complete_units, segments

T = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Head:
    type: str
    commandid: str | None
    time: datetime = T


@dataclass
class Event:
    position: int
    head: Head
    data: dict[str, Any]


def events(*spec: tuple[str, str | None, dict[str, Any]]) -> list[Event]:
    return [Event(i + 1, Head(t, c), d) for i, (t, c, d) in enumerate(spec)]


C1, C2, U = uuid4(), uuid4(), uuid4()


def grant(command: str, charger: UUID) -> tuple[str, str, dict[str, Any]]:
    return ("AccessGranted", command, {"charger_id": str(charger), "user_id": str(U)})


def test_commands_on_different_chargers_share_a_segment_and_one_charger_cuts() -> None:
    batch = events(grant("a", C1), grant("b", C2), grant("c", C1))
    cut = segments(batch)
    assert [[e.position for e in s.events] for s in cut] == [[1, 2], [3]]
    assert {c: m.position for c, m in cut[0].chargers.items()} == {C1: 1, C2: 2}


def test_one_command_is_one_unit_whatever_it_touches() -> None:
    batch = events(grant("a", C1), ("AccessRevoked", "a", {"charger_id": str(C1)}),
                   ("UserRegistered", "b", {}))
    cut = segments(batch)
    assert len(cut) == 1
    assert cut[0].chargers[C1].position == 2


def test_wide_units_stand_alone_with_their_seeds() -> None:
    batch = events(grant("a", C1),
                   ("ChargeKeyAdded", "b", {"user_id": str(U), "key_id": str(uuid4())}),
                   grant("c", C2))
    cut = segments(batch)
    assert [[e.position for e in s.events] for s in cut] == [[1], [2], [3]]
    assert cut[1].wide is not None
    assert cut[1].users == {U}


def test_a_batch_that_may_go_on_keeps_its_last_command_for_the_next() -> None:
    batch = events(grant("a", C1), grant("b", C1), grant("b", C2))
    assert [e.position for e in complete_units(batch)] == [1]
    lone = events(grant("a", C1), grant("a", C2))
    assert complete_units(lone) == lone


def test_a_share_may_change_only_its_users_entries_and_a_charger_event_anyones() -> None:
    other = uuid4()
    batch = events(grant("a", C1),
                   ("AccessGranted", "b", {"charger_id": str(C2), "user_id": str(other)}),
                   ("ChargerMovedToGroup", "b", {"charger_id": str(C2),
                                                 "group_id": str(uuid4())}))
    [cut] = segments(batch)
    assert cut.scope(C1) == {U}
    assert cut.scope(C2) is None


def test_a_wide_unit_may_change_its_users_entries_on_every_list_it_reaches() -> None:
    member, group = uuid4(), uuid4()
    batch = events(("ChargeKeyBlocked", "a", {"user_id": str(U), "key_id": str(uuid4())}),
                   ("GroupMemberRemoved", "b", {"group_id": str(group), "user_id": str(member)}),
                   ("GroupMemberAdded", "c", {"group_id": str(group)}))
    keys, removed, nameless = segments(batch)
    assert keys.scope(C1) == {U}, "a charger found through the user"
    assert removed.scope(C2) == {member}
    assert nameless.scope(C1) is None, "no user named: anyone's"


def test_only_a_segment_of_key_events_keeps_its_reach() -> None:
    """A key's events change no one's holdings, so the lists a segment reaches are the
    same after it; a membership, a forgetting or a rider may change them."""
    key = {"user_id": str(U), "key_id": str(uuid4())}
    batch = events(("ChargeKeyAdded", "a", key), ("ChargeKeyBlocked", "b", key),
                   ("GroupMemberAdded", "c", {"group_id": str(uuid4()), "user_id": str(U)}),
                   ("UserRegistered", "d", {}), ("ChargeKeyRemoved", "d", key),
                   ("UserForgotten", "e", {"user_id": str(U)}))
    cut = segments(batch)
    assert [[e.position for e in s.events] for s in cut] == [[1], [2], [3], [4, 5], [6]]
    assert [s.keeps_reach for s in cut] == [True, True, False, False, False]
