"""Read-side fixtures: a fresh read schema per test, so positions and ids never collide."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.access.domain.base import Cause
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.projection.schema import create_schema
from services.access.store.application import open_store
from tests.unit.access.scenario import SECRET, Scenario


@pytest.fixture
async def schema(db: asyncpg.Connection) -> AsyncIterator[str]:
    name = f"read_t_{uuid.uuid4().hex[:12]}"
    await create_schema(db, name)
    yield name
    await db.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool:
        yield pool


@pytest.fixture(scope="module")
def read_database(new_database: Any) -> str:
    """A database of the module's own with the read schema made, for the property tests
    that build their stores and projections on it."""
    url: str = new_database()

    async def schema() -> None:
        conn = await asyncpg.connect(url)
        try:
            await create_schema(conn, "read")
        finally:
            await conn.close()

    asyncio.run(schema())
    return url


@pytest.fixture(scope="module")
def every_event_store(new_database: Any) -> str:
    """A store holding every published event type, written by the real write side."""
    url: str = new_database()
    s = Scenario()
    s.store = open_store(url)
    s.executor = Executor(s.store, Rules(SECRET, timedelta(days=7)), clock=lambda: s.now)
    owner = s.user(locale="nb", phone="+4790000001", name="Kari Nordmann")
    admin, member, guest, other = s.user(), s.user(locale="fr"), s.user(name="Zoé"), s.user(phone="+4790000002")
    fleet = s.group(owner, admins=[admin], members=[member])
    box, van = s.charger(owner, fleet), s.charger(owner)
    s.share(owner, guest, [box, van], "manage")
    _time_bound_share(s, owner, box, s.user(name="Helga"))
    invitation, token = s.invite(owner, "nobody@example.com", [box], locale="fr")
    s.ok("ResendInvitation", owner, invitation_id=invitation)
    declined, token = s.invite(owner, s.emails[other], [van])
    s.ok("DeclineInvitation", other, invitation_id=declined, token=token)
    s.ok("RevokeInvitation", owner, invitation_id=invitation)
    s.ok("UpdateUserAccess", owner, user_id=other, charger_ids=[box], level="charge")
    s.ok("RemoveUser", owner, user_id=other)
    s.ok("RemoveGroupMember", owner, group_id=fleet, user_id=member)
    s.ok("MoveChargerToGroup", owner, charger_id=van, group_id=fleet)
    s.ok("TransferChargerOwnership", owner, charger_id=box, new_owner_id=admin)
    s.ok("TransferChargerToUser", owner, charger_id=van, recipient_phone="+4790000002", keep_connection=False)
    _charge_keys(s, owner, guest)
    s.store.close()
    return url


def _charge_keys(s: Scenario, owner: uuid.UUID, guest: uuid.UUID) -> None:
    """Keys added (with a label), blocked, unblocked and removed."""
    card, code = uuid.uuid4(), uuid.uuid4()
    s.ok("AddChargeKey", guest, key_id=card, user_id=guest, id_token="04a2b3c4", label="Zoé's card")
    s.ok("AddChargeKey", owner, key_id=code, user_id=owner, id_token="1234", type="KeyCode")
    s.ok("BlockChargeKey", guest, key_id=card)
    s.ok("UnblockChargeKey", guest, key_id=card)
    s.ok("RemoveChargeKey", owner, key_id=code)


def _time_bound_share(s: Scenario, owner: uuid.UUID, charger: uuid.UUID, user: uuid.UUID) -> None:
    """A daytime share for ten days: its boundaries and its ending notice, as the scheduler
    appends them."""
    invitation_id = uuid.uuid4()
    s.ok("InviteUser", owner, invitation_id=invitation_id, email=s.emails[user],
         charger_ids=[charger], level="charge", valid_from=s.now + timedelta(hours=1),
         valid_until=s.now + timedelta(days=10),
         schedule={"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat", "sun", "tue"], "from": "08:00",
                                "until": "20:00"}]})
    s.ok("AcceptInvitation", user, invitation_id=invitation_id, token=s.token(invitation_id))
    s.advance(days=9, hours=12)
    state = s.charger_state(charger)
    cause = Cause("scheduler", f"boundaries-{uuid.uuid4()}", s.now)
    assert state.mark_boundaries(user, s.now, cause) > 0
    assert state.notice_ending(s.user_state(user).person(), s.now, timedelta(hours=24), cause)
    s.store.save(state)
