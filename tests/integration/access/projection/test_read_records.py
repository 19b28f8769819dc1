"""The projection's reader (unvalidated data, only kept personal values unsealed) folds to
exactly the row changes the fully decoded, validated events fold to."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.access.domain.pseudonyms import pseudonymous_email
from services.access.eventlog.reader import EventLog
from services.access.eventlog.values import LoggedEvent
from services.access.projection.changes import fold_logged
from services.access.projection.records import LogRecord, ProjectionLog
from services.access.projection.rows import BatchChanges

pytestmark = pytest.mark.integration


def comparable(changes: BatchChanges) -> dict[str, Any]:
    """Every field of the changes, with history heads reduced to what the writers read."""
    history = [
        (h.charger_id, h.invitation_id, h.position, h.envelope.id, h.envelope.type,
         h.envelope.time, h.envelope.actor, h.envelope.commandid, h.details)
        for h in changes.history
    ]
    return {**vars(changes), "history": history}


async def both_ways(url: str) -> tuple[list[LogRecord | LoggedEvent], list[LoggedEvent]]:
    conn = await asyncpg.connect(url)
    try:
        return await ProjectionLog().read(conn, 0, 100_000), await EventLog().read(conn, 0, 100_000)
    finally:
        await conn.close()


async def test_records_fold_to_the_same_changes_as_published_events(every_event_store: str) -> None:
    records, published = await both_ways(every_event_store)
    assert [r.position for r in records] == [e.position for e in published]
    assert all(isinstance(r, LogRecord) for r in records)  # no row needed the mapper
    assert {r.head.type for r in records} >= {"UserRegistered", "UserInvited", "AccessGranted",
                                              "ChargerTransferredToUser", "InvitationRevoked",
                                              "ShareCameIntoEffect", "ShareWentOutOfEffect",
                                              "ShareEnding", "ChargeKeyAdded", "ChargeKeyBlocked",
                                              "ChargeKeyUnblocked", "ChargeKeyRemoved"}
    assert comparable(fold_logged(records)) == comparable(fold_logged(published))


async def test_records_leave_unkept_personal_values_sealed(every_event_store: str) -> None:
    records, published = await both_ways(every_event_store)
    invited = next(r for r in records if r.head.type == "UserInvited")
    same = next(e for e in published if e.position == invited.position)
    assert invited.data["email"] == same.data["email"]  # kept: unsealed
    assert invited.data["inviter"]["email"].startswith("pii:v1:")  # not kept: left sealed
    assert not same.data["inviter"]["email"].startswith("pii:v1:")


async def test_a_forgotten_person_folds_to_their_pseudonym_both_ways(every_event_store: str) -> None:
    """Late in this module: it deletes a key from the module's store."""
    conn = await asyncpg.connect(every_event_store)
    try:
        forgotten = await conn.fetchval(
            "DELETE FROM person_keys WHERE subject = (SELECT originator_id FROM chargeraccess_events "
            "WHERE topic LIKE '%User.UserRegistered' ORDER BY notification_id LIMIT 1) RETURNING subject")
    finally:
        await conn.close()
    records, published = await both_ways(every_event_store)
    changes = fold_logged(records)
    assert changes.users[forgotten].email == pseudonymous_email(forgotten)
    assert comparable(changes) == comparable(fold_logged(published))


async def test_an_old_class_version_is_upcast_by_the_mapper(every_event_store: str) -> None:
    """Last in this module: it rewrites a stored event as its version 1."""
    conn = await asyncpg.connect(every_event_store)
    try:
        position = await conn.fetchval(
            "UPDATE chargeraccess_events SET state = convert_to(replace(replace(replace("
            "convert_from(state, 'UTF8'), ',\"class_version\":2', ''), ',\"connected\":true', ''),"
            " ',\"connected\":false', ''), 'UTF8') WHERE notification_id = (SELECT min(notification_id)"
            " FROM chargeraccess_events WHERE topic LIKE '%Charger.ChargerRegistered')"
            " RETURNING notification_id")
    finally:
        await conn.close()
    records, published = await both_ways(every_event_store)
    upcast = next(r for r in records if r.position == position)
    assert isinstance(upcast, LoggedEvent)
    assert upcast.data["connected"] is True
    assert comparable(fold_logged(records)) == comparable(fold_logged(published))
