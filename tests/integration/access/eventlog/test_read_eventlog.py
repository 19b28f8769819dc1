"""The event log's fast decoder gives exactly what eventsourcing's mapper gives, for every
published event type the write side stores (PII sealed, upcasting, nested ids)."""

from __future__ import annotations

import asyncpg
import pytest

from services.access.domain.ids import published_event_id
from services.access.domain.pseudonyms import pseudonymous_email
from services.access.eventlog.fast import decode_fast
from services.access.eventlog.reader import EventLog, decode
from services.access.eventlog.translation import decode_with_mapper
from services.access.eventlog.unsealing import unsealed
from services.access.eventlog.values import LoggedEvent, event_id

pytestmark = pytest.mark.integration


async def test_fast_decode_equals_the_mapper_for_every_stored_event(every_event_store: str) -> None:
    conn = await asyncpg.connect(every_event_store)
    try:
        rows = await unsealed(conn, await EventLog().fetch_rows(conn, 0, 100_000))
    finally:
        await conn.close()
    types = set()
    for row in rows:
        assert decode_fast(row) is not None, row["topic"]  # the fast path took it
        fast, reference = decode(row), decode_with_mapper(row)
        assert fast == reference
        assert fast.envelope.model_dump_json() == reference.envelope.model_dump_json()
        assert fast.event == reference.event
        assert fast.head.id == reference.envelope.id
        types.add(fast.envelope.type)
    assert types >= {
        "UserRegistered", "GroupCreated", "GroupMemberAdded", "GroupMemberRemoved",
        "ChargerRegistered", "UserInvited", "InvitationResent", "InvitationAccepted",
        "InvitationDeclined", "InvitationRevoked", "AccessGranted", "AccessRevoked",
        "UserAccessChanged", "UserAccessRemoved", "ChargerMovedToGroup",
        "ChargerOwnershipTransferred", "ChargerTransferredToUser",
    }


async def test_an_old_class_version_goes_the_mappers_way_and_is_upcast(every_event_store: str) -> None:
    conn = await asyncpg.connect(every_event_store)
    try:
        row = await conn.fetchrow(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM chargeraccess_events WHERE topic LIKE '%Charger.ChargerRegistered' LIMIT 1")
    finally:
        await conn.close()
    assert row is not None
    v1 = dict(row)
    v1["state"] = bytes(row["state"]).replace(b',"class_version":2', b"").replace(b',"connected":true', b"").replace(b',"connected":false', b"")
    assert b"class_version" not in v1["state"]
    assert b'"connected"' not in v1["state"]
    assert decode_fast(v1) is None
    decoded = decode(v1)
    assert decoded.envelope.data["connected"] is True  # v1 chargers were all connected


def test_event_ids_equal_the_published_uuid5() -> None:
    import uuid

    for version in range(1, 200):
        originator = uuid.uuid4()
        assert event_id(originator, version) == published_event_id(originator, version)


async def test_a_lazily_built_envelope_equals_an_eager_one(every_event_store: str) -> None:
    conn = await asyncpg.connect(every_event_store)
    try:
        events = await EventLog().read(conn, 0, 1000)
    finally:
        await conn.close()
    for lazy in events:
        head = lazy.head  # before the envelope exists
        eager = LoggedEvent(lazy.position, lazy.envelope, lazy.event)
        assert lazy == eager
        assert repr(lazy) == repr(eager)
        assert (head.id, head.type, head.time) == (eager.envelope.id, eager.envelope.type, eager.envelope.time)
    with pytest.raises(TypeError):
        LoggedEvent(1)


async def test_forgotten_people_read_as_pseudonyms_on_both_paths(every_event_store: str) -> None:
    """Last in this module: it deletes keys from the module's store."""
    conn = await asyncpg.connect(every_event_store)
    try:
        # A registered user's key: their UserRegistered is published, so their pseudonym
        # must show (an e-mail claim's key may seal only internal events).
        forgotten = await conn.fetchval(
            "DELETE FROM person_keys WHERE subject = (SELECT originator_id FROM chargeraccess_events "
            "WHERE topic LIKE '%User.UserRegistered' ORDER BY notification_id LIMIT 1) RETURNING subject")
        rows = await unsealed(conn, await EventLog().fetch_rows(conn, 0, 100_000))
    finally:
        await conn.close()
    assert forgotten is not None
    decoded = [decode(row) for row in rows]
    assert decoded == [decode_with_mapper(row) for row in rows]
    text = "".join(e.envelope.model_dump_json() for e in decoded)
    assert "pii:v1:" not in text
    assert pseudonymous_email(forgotten) in text
