"""A scripted history over eight days against the real PostgreSQL store, with the live read
model projected after every step and snapshotted (what the query API said at that time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.access.api.repositories import AccessRepository
from services.access.eventlog.reader import EventLog
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.projection.apply import apply
from services.access.projection.schema import create_schema
from services.access.store.application import open_store
from tests.unit.access.scenario import SECRET, Scenario


class PgScenario(Scenario):
    """The unit tests' scenario helper, on the PostgreSQL event store."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.store = open_store(database_url)
        self.executor = Executor(self.store, Rules(SECRET, timedelta(days=7)),
                                 clock=lambda: self.now)


@dataclass
class Snapshot:
    """What the live read model answered right after a step, and when."""

    step: str
    at: datetime
    users_of: dict[str, list[dict[str, Any]]]
    chargers_of: dict[str, list[dict[str, Any]]]


@dataclass
class History:
    url: str
    kari: UUID
    ola: UUID
    per: UUID
    eva: UUID
    fleet: UUID
    garasje: UUID
    carport: UUID
    invitation: UUID
    eva_invitation: UUID
    snapshots: list[Snapshot] = field(default_factory=list)


def _plain(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As JSON has them. Every share in this script is permanent, so every entry is in
    effect (the read side's lists say so with `in_effect`, SPEC; added here while they
    don't yet)."""
    return [{"in_effect": True} | {k: str(v) if isinstance(v, UUID) else v
                                   for k, v in e.items()} for e in entries]


async def _snapshot(pool: asyncpg.Pool, s: PgScenario, step: str, users: list[UUID],
                    chargers: list[UUID]) -> Snapshot:
    async with pool.acquire() as conn:
        position = 0
        log = EventLog()
        while events := await log.read(conn, position, 1000):
            position = await apply(conn, events)
    repo = AccessRepository(pool, "read")
    users_of, chargers_of = {}, {}
    for charger in chargers:
        page = await repo.users_of_charger(charger, None, 1000)
        users_of[str(charger)] = _plain(page.items) if page else []
    for user in users:
        page = await repo.chargers_of_user(user, None, 1000)
        chargers_of[str(user)] = _plain(page.items) if page else []
    return Snapshot(step, s.now, users_of, chargers_of)


async def script(url: str) -> History:
    """Invite, accept, edit, move, transfer, remove — a day apart — snapshotting as it goes."""
    s = PgScenario(url)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        async with pool.acquire() as conn:
            await create_schema(conn)
        shots: list[Snapshot] = []

        async def snap(step: str) -> None:
            shots.append(await _snapshot(pool, s, step, [kari, ola, per, eva],
                                         [garasje, carport]))

        # Day 1: Kari, Ola and Per register; Kari has a fleet with Per as admin, and two chargers.
        kari = s.user(name="Kari", email="kari@example.no", locale="nb")
        ola = s.user(name="Ola", email="ola@example.no")
        per = s.user(name="Per", email="per@example.no")
        eva = uuid4()
        fleet = s.group(kari, admins=[per])
        garasje = s.charger(kari, name="Garasje")
        carport = s.charger(kari, fleet, name="Carport")
        await snap("registered")
        # Day 2: Kari invites Ola to both chargers, and Eva (who has no account yet).
        s.advance(days=1)
        invitation, token = s.invite(kari, "ola@example.no", [garasje, carport])
        eva_invitation, _ = s.invite(kari, "Eva@Example.no", [garasje])
        await snap("invited")
        # Day 3: Ola accepts from the e-mail; Eva registers.
        s.advance(days=1, hours=2)
        s.ok("AcceptInvitation", ola, invitation_id=invitation, token=token)
        s.ok("RegisterUser", eva, user_id=eva, email="eva@example.no", name="Eva")
        await snap("accepted")
        # Day 4: Kari edits Ola's access: manage on Garasje only.
        s.advance(days=1)
        s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[garasje], level="manage")
        await snap("edited")
        # Day 5: Garasje moves into the fleet.
        s.advance(days=1)
        s.ok("MoveChargerToGroup", kari, charger_id=garasje, group_id=fleet)
        await snap("moved")
        # Day 6: Kari hands Carport's ownership to Per (an admin of the fleet).
        s.advance(days=1)
        s.ok("TransferChargerOwnership", kari, charger_id=carport, new_owner_id=per)
        await snap("ownership")
        # Day 7: Kari removes Ola from everything she manages.
        s.advance(days=1)
        s.ok("RemoveUser", kari, user_id=ola)
        await snap("removed")
        # Day 8: Kari gives Garasje to Eva, without its cloud connection.
        s.advance(days=1)
        s.ok("TransferChargerToUser", kari, charger_id=garasje,
             recipient_email="eva@example.no", keep_connection=False)
        await snap("given")
    s.store.close()
    return History(url, kari, ola, per, eva, fleet, garasje, carport, invitation,
                   eva_invitation, shots)
