"""What a generated fleet history should leave in the read model, by the generator's own
bookkeeping (never read back from the store), and the summary handed to benchmarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

INVITATION_STATES = ("pending", "expired", "accepted", "declined", "revoked")
"""`expired`: still pending in the log, its `expires_at` before the history's end."""
TRANSFERS = ("MoveChargerToGroup", "TransferChargerOwnership", "TransferChargerToUser")

ShareKey = tuple[UUID, UUID]
"""(charger_id, user_id)"""


@dataclass
class Tally:
    """The state the commands sent should have produced, kept as they are sent."""

    users: int = 0
    forgotten: set[UUID] = field(default_factory=set)
    fleets: int = 0
    chargers: int = 0
    fleet_members: int = 0
    """Owners, admins and members of fleets (personal groups not counted)."""
    shares: dict[ShareKey, str] = field(default_factory=dict)
    """Level of each share."""
    timed: set[ShareKey] = field(default_factory=set)
    """Shares with a window (valid_from and/or valid_until)."""
    keys: dict[UUID, bool] = field(default_factory=dict)
    """Charge keys not removed, and whether each is blocked."""
    keys_of: dict[UUID, list[UUID]] = field(default_factory=dict)
    invitations: dict[UUID, str] = field(default_factory=dict)
    """Each invitation's state (one of INVITATION_STATES)."""
    charger_group: dict[UUID, UUID] = field(default_factory=dict)
    charger_owner: dict[UUID, UUID] = field(default_factory=dict)
    transfers: Counter[str] = field(default_factory=Counter)
    _chargers_of: dict[UUID, set[UUID]] = field(default_factory=dict)
    _users_of: dict[UUID, set[UUID]] = field(default_factory=dict)
    _absorbed: dict[str, Any] = field(default_factory=dict)
    """Counts of tallies absorbed without their details."""
    _busiest: list[tuple[tuple[UUID, int], tuple[UUID, int]]] = field(default_factory=list)

    def absorb(self, other: Tally, *, details: bool) -> None:
        """Add another fleet's tally (fleets share no aggregates): all of it, or only its
        counts and busiest charger and user (memory, at millions of events)."""
        if not details:
            self._absorbed = _added(self._absorbed, other.counts())
            if other.shares:
                self._busiest.append(other.most_shared())
            return
        self.users += other.users
        self.fleets += other.fleets
        self.chargers += other.chargers
        self.fleet_members += other.fleet_members
        self.transfers.update(other.transfers)
        self.forgotten.update(other.forgotten)
        self.timed.update(other.timed)
        self.shares.update(other.shares)
        self.keys.update(other.keys)
        self.keys_of.update(other.keys_of)
        self.invitations.update(other.invitations)
        self.charger_group.update(other.charger_group)
        self.charger_owner.update(other.charger_owner)
        self._chargers_of.update(other._chargers_of)
        self._users_of.update(other._users_of)

    def grant(self, charger_id: UUID, user_id: UUID, level: str, timed: bool) -> None:
        key = (charger_id, user_id)
        self.shares[key] = level
        self._chargers_of.setdefault(user_id, set()).add(charger_id)
        self._users_of.setdefault(charger_id, set()).add(user_id)
        if timed:
            self.timed.add(key)
        else:
            self.timed.discard(key)

    def revoke(self, charger_id: UUID, user_id: UUID) -> None:
        self.shares.pop((charger_id, user_id), None)
        self.timed.discard((charger_id, user_id))
        self._chargers_of.get(user_id, set()).discard(charger_id)
        self._users_of.get(charger_id, set()).discard(user_id)

    def revoke_in_group(self, user_id: UUID, group_id: UUID) -> None:
        """The user's shares on the chargers now in the group (what its owner manages)."""
        for charger_id in list(self._chargers_of.get(user_id, ())):
            if self.charger_group[charger_id] == group_id:
                self.revoke(charger_id, user_id)

    def revoke_where_managed_by(self, actor_id: UUID, user_id: UUID) -> None:
        """An UpdateUserAccess by `actor_id` replaces the user's shares on every charger
        the actor manages: those the actor owns and those it holds a `manage` share on
        (drivers manage no group here)."""
        for charger_id in list(self._chargers_of.get(user_id, ())):
            if (self.charger_owner[charger_id] == actor_id
                    or self.shares.get((charger_id, actor_id)) == "manage"):
                self.revoke(charger_id, user_id)

    def revoke_all_on(self, charger_id: UUID) -> None:
        for user_id in list(self._users_of.get(charger_id, ())):
            self.revoke(charger_id, user_id)

    def most_shared(self) -> tuple[tuple[UUID, int], tuple[UUID, int]]:
        """The charger shared with the most users, the user with the most shares."""
        chargers = [(c, len(users)) for c, users in self._users_of.items()]
        users = [(u, len(chargers)) for u, chargers in self._chargers_of.items()]
        chargers += [charger for charger, _ in self._busiest]
        users += [user for _, user in self._busiest]
        return max(chargers, key=lambda item: item[1]), max(users, key=lambda item: item[1])

    def add_key(self, user_id: UUID, key_id: UUID) -> None:
        self.keys[key_id] = False
        self.keys_of.setdefault(user_id, []).append(key_id)

    def remove_key(self, user_id: UUID, key_id: UUID) -> None:
        self.keys.pop(key_id, None)
        self.keys_of[user_id].remove(key_id)

    def counts(self) -> dict[str, Any]:
        """Plain numbers, for the summary and for comparing with the read model."""
        states = Counter(self.invitations.values())
        return _added(self._absorbed, {
            "users": self.users,
            "forgotten_users": len(self.forgotten),
            "fleets": self.fleets,
            "groups": self.users + self.fleets,
            "fleet_members": self.fleet_members,
            "chargers": self.chargers,
            "shares": len(self.shares),
            "shares_timed": len(self.timed),
            "shares_manage": sum(1 for level in self.shares.values() if level == "manage"),
            "charge_keys": len(self.keys),
            "charge_keys_blocked": sum(self.keys.values()),
            "invitations": {state: states[state] for state in INVITATION_STATES},
            "transfers": {kind: self.transfers[kind] for kind in TRANSFERS},
        })


def _added(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Two `counts()` added up, key by key (nested ones too)."""
    return {key: _added(one.get(key, {}), value) if isinstance(value, dict)
            else one.get(key, 0) + value for key, value in other.items()}


@dataclass(frozen=True)
class BigFleet:
    """The largest fleet: where a benchmark finds a busy group."""

    group_id: UUID
    owner_id: UUID
    admin_ids: list[UUID]
    charger_ids: list[UUID]
    driver_ids: list[UUID]


@dataclass(frozen=True)
class FleetSummary:
    """What `seed_fleet` wrote: enough for a benchmark to find its subjects."""

    database_url: str
    seed: int
    size: int
    """The number of events aimed for; `events` is what was written (a little more)."""
    events: int
    commands: int
    seconds: float
    ends_at: datetime
    """The history's last instant: invitations sent in its last days are pending, older
    unanswered ones expired; every share's window ends after it."""
    token_secret: bytes
    """Invitation tokens were issued under this secret (the service needs it to accept
    the pending ones)."""
    big_fleet: BigFleet
    busiest_charger: tuple[UUID, int]
    """A charger shared with the most users, and how many."""
    busiest_user: tuple[UUID, int]
    """A user with shares on the most chargers, and how many."""
    pending_invitations: list[UUID]
    counts: dict[str, Any]
    tally: Tally | None = field(repr=False)
    """Every share, key and invitation made (None: counts only, see `keep_tally`)."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        fleet = self.big_fleet
        return {
            "seed": self.seed, "size": self.size, "events": self.events,
            "commands": self.commands, "seconds": round(self.seconds, 1),
            "events_per_second": round(self.events_per_second),
            "ends_at": self.ends_at.isoformat(),
            "big_fleet": {"group_id": str(fleet.group_id), "owner_id": str(fleet.owner_id),
                          "admin_ids": [str(a) for a in fleet.admin_ids],
                          "chargers": len(fleet.charger_ids),
                          "charger_id": str(fleet.charger_ids[0]),
                          "drivers": len(fleet.driver_ids)},
            "busiest_charger": {"charger_id": str(self.busiest_charger[0]),
                                "shares": self.busiest_charger[1]},
            "busiest_user": {"user_id": str(self.busiest_user[0]),
                             "shares": self.busiest_user[1]},
            "pending_invitations": len(self.pending_invitations),
            "counts": self.counts,
        }
