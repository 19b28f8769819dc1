"""The local lists' two promises over random histories, through the domain, the real store
and the projection on PostgreSQL:

- Full(N) with the Differentials N+1..M applied in order is Full(M), and so is Full(N)
  with the one Differential since N the query API answers (entries and both OCPP payloads);
- the versions rebuild identically from the log (`rebuild --check`, forgetting too);
- every Full list is, entry for entry, what the access check allows: each live key of
  each user the check (`read.access` evaluated at the log's moment, as OCPP authorize
  does) accepts, `Blocked` for a blocked key, with the authorize answer's expiry. That
  side never touches the list code: keys come from the commands accepted, access from
  the check.

A history mixes keys added, blocked, unblocked, removed; shares granted (permanent, ending,
starting later), revoked; members added and removed; moves and the three transfers;
forgetting; and time passing, with the scheduler's boundary events up to the new moment
(so the log's moment is the clock's)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.access.api.authorize import authorize
from services.access.api.repositories.access import AccessRepository
from services.access.audit.rebuild_check import check_rebuild
from services.access.eventlog.reader import pooled
from services.access.local_lists.entries import EntryInfo, TokenKey, forgotten_key_token
from services.access.local_lists.reads import ListAt, LocalListReads
from services.access.local_lists.versioning import apply_changes
from services.access.projection.records import ProjectionLog
from services.access.projection.runner import ProjectionRunner
from tests.integration.access.time_bound import Writes

pytestmark = pytest.mark.integration

USERS = 4  # 0 owns the chargers and both groups; 1..3 are drivers
CHARGERS = 3
TOKENS = ("aa1", "bb2", "cc3")
TYPES = ("ISO14443", "KeyCode")
WINDOWS = ("permanent", "ends", "ends-later", "starts-later")

Action = tuple[Any, ...]
LIST_TABLES = {"local_list_versions", "local_list_entries", "charge_keys"}
"""What `rebuild --check` must find equal here (other tables have checks of their own)."""

actions = st.one_of(
    st.tuples(st.just("add_key"), st.integers(0, USERS - 1), st.sampled_from(TOKENS),
              st.sampled_from(TYPES)),
    st.tuples(st.sampled_from(["block", "unblock", "remove_key"]), st.integers(0, 20)),
    st.tuples(st.just("grant"), st.integers(1, USERS - 1), st.integers(0, CHARGERS - 1),
              st.sampled_from(WINDOWS), st.sampled_from(["charge", "manage"])),
    st.tuples(st.just("revoke"), st.integers(1, USERS - 1)),
    st.tuples(st.just("invite"), st.integers(1, USERS - 1), st.integers(0, CHARGERS - 1)),
    st.tuples(st.just("add_member"), st.integers(0, 1), st.integers(1, USERS - 1),
              st.sampled_from(["member", "admin"])),
    st.tuples(st.just("remove_member"), st.integers(0, 1), st.integers(1, USERS - 1)),
    st.tuples(st.just("move"), st.integers(0, CHARGERS - 1), st.integers(0, 1)),
    st.tuples(st.just("transfer_ownership"), st.integers(0, CHARGERS - 1),
              st.integers(1, USERS - 1)),
    st.tuples(st.just("transfer_to_user"), st.integers(0, CHARGERS - 1),
              st.integers(1, USERS - 1), st.booleans()),
    st.tuples(st.just("forget"), st.integers(1, USERS - 1)),
    st.tuples(st.just("time_passes"), st.sampled_from([40, 70, 130])),
)


@dataclass
class World:
    w: Writes
    users: list[UUID]
    groups: list[UUID]
    chargers: list[UUID]
    keys: dict[UUID, list[Any]] = field(default_factory=dict)
    """key_id -> [user, TOKEN, type, blocked], as the accepted commands left them."""
    key_ids: list[UUID] = field(default_factory=list)
    forgotten: set[UUID] = field(default_factory=set)
    owner_of: dict[UUID, UUID] = field(default_factory=dict)
    """key_id -> user, for every key ever added."""

    def run(self, type_: str, actor: UUID, **data: Any) -> bool:
        return self.w.run(type_, actor, **data).status == "accepted"

    def act(self, action: Action) -> int:  # noqa: PLR0911, PLR0912 - a table of kinds
        """Run one action; how many commands it ran (a version each at most)."""
        kind, *args = action
        owner, w = self.users[0], self.w
        if kind == "add_key":
            user, token, type_ = self.users[args[0]], args[1], args[2]
            key_id = uuid4()
            if self.run("AddChargeKey", user, key_id=key_id, user_id=user,
                        id_token=f"{self.prefix}{token}", type=type_):
                self.keys[key_id] = [user, f"{self.prefix}{token}".upper(), type_, False]
                self.owner_of[key_id] = user
                self.key_ids.append(key_id)
            return 1
        if kind in ("block", "unblock", "remove_key"):
            if not self.key_ids:
                return 0
            key_id = self.key_ids[args[0] % len(self.key_ids)]
            user = self.keys[key_id][0] if key_id in self.keys else owner
            command = {"block": "BlockChargeKey", "unblock": "UnblockChargeKey",
                       "remove_key": "RemoveChargeKey"}[kind]
            if self.run(command, user, key_id=key_id) and key_id in self.keys:
                if kind == "remove_key":
                    del self.keys[key_id]
                else:
                    self.keys[key_id][3] = kind == "block"
            return 1
        if kind == "grant":
            user, charger, window, level = (self.users[args[0]], self.chargers[args[1]],
                                            args[2], args[3])
            self.run("UpdateUserAccess", owner, user_id=user, charger_ids=[charger],
                     level=level, **self.window(window))
            return 1
        if kind == "revoke":
            self.run("UpdateUserAccess", owner, user_id=self.users[args[0]], charger_ids=[])
            return 1
        if kind == "invite":
            user, invitation_id = self.users[args[0]], uuid4()
            if self.run("InviteUser", owner, invitation_id=invitation_id,
                        email=w.emails[user], charger_ids=[self.chargers[args[1]]],
                        valid_until=w.now + timedelta(minutes=100)):
                self.run("AcceptInvitation", user, invitation_id=invitation_id,
                         token=w.token(invitation_id))
            return 2
        if kind == "add_member":
            self.run("AddGroupMember", owner, group_id=self.groups[args[0]],
                     user_id=self.users[args[1]], role=args[2])
            return 1
        if kind == "remove_member":
            self.run("RemoveGroupMember", owner, group_id=self.groups[args[0]],
                     user_id=self.users[args[1]])
            return 1
        if kind == "move":
            self.run("MoveChargerToGroup", owner, charger_id=self.chargers[args[0]],
                     group_id=self.groups[args[1]])
            return 1
        if kind == "transfer_ownership":
            self.run("TransferChargerOwnership", owner, charger_id=self.chargers[args[0]],
                     new_owner_id=self.users[args[1]])
            return 1
        if kind == "transfer_to_user":
            self.run("TransferChargerToUser", owner, charger_id=self.chargers[args[0]],
                     recipient_email=w.emails[self.users[args[1]]], keep_connection=args[2])
            return 1
        if kind == "forget":
            user = self.users[args[0]]
            if self.run("ForgetUser", user, user_id=user):
                self.keys = {k: v for k, v in self.keys.items() if v[0] != user}
                self.forgotten.add(user)
            return 1
        assert kind == "time_passes"
        w.now += timedelta(minutes=args[0])
        for charger in self.chargers:
            for user in self.users:
                w.mark(charger, user, w.now)
        return len(self.chargers) * len(self.users)

    @property
    def prefix(self) -> str:
        return self.groups[0].hex[:6]

    def window(self, kind: str) -> dict[str, Any]:
        now = self.w.now
        return {"permanent": {},
                "ends": {"valid_until": now + timedelta(minutes=60)},
                "ends-later": {"valid_until": now + timedelta(minutes=150)},
                "starts-later": {"valid_from": now + timedelta(minutes=50),
                                 "valid_until": now + timedelta(minutes=200)}}[kind]


def build(w: Writes) -> World:
    users = [w.user() for _ in range(USERS)]
    groups = [w.group(users[0]), w.group(users[0])]
    chargers = [w.charger(users[0], groups[0]), w.charger(users[0]),
                w.charger(users[0], groups[1])]
    return World(w, users, groups, chargers)


async def allowed_list(world: World, access: AccessRepository,
                       charger: UUID) -> dict[TokenKey, EntryInfo]:
    """What the check allows, as a list: independent of the list code."""
    expected: dict[TokenKey, EntryInfo] = {}
    for user in world.users:
        effective = await access.effective(user, charger)
        decision = authorize(False, effective.why if effective.level else None, world.w.now)
        if decision.status != "Accepted":
            continue
        for key_user, token, type_, blocked in world.keys.values():
            if key_user == user:
                expected[TokenKey(token, type_)] = (
                    EntryInfo("Blocked") if blocked else EntryInfo("Accepted", decision.expiry))
    return expected


def as_201(request: dict[str, Any], held: dict[Any, Any] | None = None) -> dict[Any, Any]:
    result = dict(held or {})
    for e in request.get("localAuthorizationList", []):
        key = e["idToken"]["idToken"], e["idToken"]["type"]
        if "idTokenInfo" in e:
            result[key] = e["idTokenInfo"]
        else:
            result.pop(key, None)
    return result


def as_16(request: dict[str, Any], held: dict[Any, Any] | None = None) -> dict[Any, Any]:
    result = dict(held or {})
    for e in request["localAuthorizationList"]:
        if "idTagInfo" in e:
            result[e["idTag"]] = e["idTagInfo"]
        else:
            result.pop(e["idTag"], None)
    return result


def as_now(world: World, entries: dict[TokenKey, tuple[EntryInfo, UUID]]
           ) -> dict[TokenKey, EntryInfo]:
    """A list as seen then, as it reads now: a forgotten user's tokens are gone, each of
    their keys named by `forgotten_key_token`."""
    return {(TokenKey(forgotten_key_token(key_id), key.type)
             if world.owner_of[key_id] in world.forgotten else key): info
            for key, (info, key_id) in entries.items()}


async def run_history(url: str, history: list[Action]) -> None:
    w = Writes(url)
    try:
        world = build(w)
        async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
            runner = ProjectionRunner(pool, pooled(pool, ProjectionLog()))
            access, reads = AccessRepository(pool, "read"), LocalListReads("read")
            seen: dict[tuple[UUID, int], dict[TokenKey, tuple[EntryInfo, UUID]]] = {}
            last: dict[UUID, tuple[int, dict[TokenKey, EntryInfo]]] = {}
            for step in [("start",), *history]:
                commands = 0 if step[0] == "start" else world.act(step)
                await runner.catch_up()
                for charger in world.chargers:
                    version = await reads.latest(pool, charger)
                    assert version is not None
                    full = (await reads.full(pool, charger, version, current=True)).entries
                    assert full == await allowed_list(world, access, charger), step
                    ids = {TokenKey(v[1], v[2]): k for k, v in world.keys.items()}
                    seen[charger, version] = {key: (info, ids[key]) for key, info in full.items()
                                              if info is not None}
                    if charger in last:
                        before, content = last[charger]
                        assert (version == before) == (full == content) or commands > 1, step
                        assert before <= version <= before + max(commands, 0), step
                    last[charger] = version, dict(full)  # type: ignore[arg-type]
            for charger in world.chargers:
                then = {n: as_now(world, entries) for (c, n), entries in seen.items()
                        if c == charger}
                await check_versions(pool, reads, charger, last[charger][0], then)
            # The topic follower's batch read: every charger's every version at once, each
            # the Differential from its predecessor as read alone.
            every = [(c, n) for c in world.chargers for n in range(1, last[c][0] + 1)]
            assert await reads.differentials(pool, every) == {
                (c, n): await reads.differential(pool, c, n - 1, n) for c, n in every}
            report = await check_rebuild(pool)
            ours = [t for t in report.tables if t.table in LIST_TABLES]
            assert len(ours) == len(LIST_TABLES)
            assert all(t.equal for t in ours), [(t.table, t.only_live, t.only_rebuilt)
                                                for t in ours if not t.equal]
    finally:
        w.store.close()


async def check_versions(pool: asyncpg.Pool, reads: LocalListReads, charger: UUID, latest: int,
                         seen: dict[int, dict[TokenKey, EntryInfo]]) -> None:
    fulls = [await reads.full(pool, charger, n) for n in range(1, latest + 1)]
    steps = [await reads.differential(pool, charger, n - 1, n) for n in range(2, latest + 1)]
    for n, full in enumerate(fulls, start=1):
        if n in seen:
            assert full.entries == seen[n], f"Full({n}) as it was then"
    for n in range(1, latest + 1):
        held = dict(fulls[n - 1].entries)
        held201, held16 = as_201(fulls[n - 1].ocpp201()), as_16(fulls[n - 1].ocpp16())
        for m in range(n + 1, latest + 1):
            diff: ListAt = steps[m - 2]
            held = apply_changes(held, diff.entries)
            held201, held16 = as_201(diff.ocpp201(), held201), as_16(diff.ocpp16(), held16)
            assert held == fulls[m - 1].entries, (n, m)
            assert held201 == as_201(fulls[m - 1].ocpp201()), (n, m)
            assert held16 == as_16(fulls[m - 1].ocpp16()), (n, m)
        since = await reads.differential(pool, charger, n, latest)
        assert apply_changes(fulls[n - 1].entries, since.entries) == fulls[-1].entries
        assert as_16(since.ocpp16(), as_16(fulls[n - 1].ocpp16())) == as_16(fulls[-1].ocpp16())


@settings(max_examples=12, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(actions, min_size=4, max_size=24))
@example(history=[("add_key", 1, "aa1", "ISO14443"), ("invite", 1, 1),
                  ("add_key", 1, "aa1", "ISO14443"), ("forget", 1)])
@example(history=[("add_key", 2, "aa1", "ISO14443"), ("add_key", 2, "bb2", "ISO14443"),
                  ("grant", 2, 0, "ends", "charge"), ("block", 1), ("time_passes", 70),
                  ("grant", 2, 0, "permanent", "charge"), ("forget", 2)])
@example(history=[("add_member", 0, 1, "admin"), ("add_key", 1, "cc3", "KeyCode"),
                  ("transfer_ownership", 0, 1), ("move", 0, 1), ("transfer_to_user", 2, 3, True),
                  ("grant", 3, 2, "starts-later", "manage"), ("time_passes", 130)])
def test_differentials_compose_and_full_lists_are_what_the_check_allows(
        read_database: str, history: list[Action]) -> None:
    asyncio.run(run_history(read_database, history))

