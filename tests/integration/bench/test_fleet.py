"""The fleet generator against the real PostgreSQL: its history's chain verifies, the read
model rebuilt from it holds exactly what the generator's own bookkeeping says it made,
every kind of event the issue asks for is in it, and a seed gives the same history."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg
import pytest

from bench.fleet import FleetSummary, StoreNotEmptyError, seed_fleet
from bench.scheduler_start import measure
from services.access.audit.service import verify
from services.access.rebuild_cli import run_rebuild
from services.access.schedule.log import ShareLog
from services.access.schedule.shares import Timetable

pytestmark = pytest.mark.integration

SIZE = 1500
SEED = 11
ENDS_AT = datetime(2026, 6, 1, tzinfo=UTC)
KINDS = {  # the list, as the domain names its events
    "User.UserRegistered", "Group.GroupCreated", "Group.GroupMemberAdded",
    "Group.GroupMemberRemoved", "Charger.ChargerRegistered", "Charger.AccessGranted",
    "Charger.AccessRevoked", "ChargeKey.ChargeKeyAdded", "ChargeKey.ChargeKeyBlocked",
    "ChargeKey.ChargeKeyUnblocked", "ChargeKey.ChargeKeyRemoved", "Invitation.UserInvited",
    "Invitation.InvitationAccepted", "Invitation.InvitationDeclined",
    "Invitation.InvitationRevoked", "Invitation.InvitationResent",
    "Charger.ChargerMovedToGroup", "Charger.ChargerOwnershipTransferred",
    "Charger.ChargerTransferredToUser", "User.UserAccessRemoved", "User.UserForgotten",
}


@pytest.fixture(scope="module")
def fleet(new_database: Callable[[], str]) -> FleetSummary:
    return seed_fleet(new_database(), SIZE, SEED, ends_at=ENDS_AT)


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def history_digest(url: str, order: str = "notification_id") -> str:
    """The logical history: which aggregate, which version, which event, in log order
    (not the sealed state, whose ciphertexts and salts are random)."""
    digest = hashlib.sha256()
    for originator_id, version, topic in rows(
            url, "SELECT originator_id, originator_version, topic FROM chargeraccess_events"
                 f" ORDER BY {order}"):
        digest.update(f"{originator_id}:{version}:{topic}\n".encode())
    return digest.hexdigest()


def test_writes_about_the_size_asked_for_with_several_fleets(fleet: FleetSummary) -> None:
    stored = rows(fleet.database_url, "SELECT count(*) FROM chargeraccess_events")[0][0]
    assert stored == fleet.events
    assert SIZE * 0.75 <= stored <= SIZE * 1.25  # the plan splits the budget by estimate
    assert fleet.counts["fleets"] >= 2
    results = rows(fleet.database_url, "SELECT outcome->>'status', count(*)"
                                       " FROM command_results GROUP BY 1")
    assert results == [("accepted", fleet.commands)]


def test_every_kind_of_event_is_in_the_history(fleet: FleetSummary) -> None:
    topics = {t for (t,) in rows(fleet.database_url,
                                 "SELECT DISTINCT topic FROM chargeraccess_events")}
    assert {topic.split(":", 1)[1] for topic in topics} >= KINDS


async def test_the_hash_chain_verifies(fleet: FleetSummary) -> None:
    conn = await asyncpg.connect(fleet.database_url)
    try:
        verdict = await verify(conn)
    finally:
        await conn.close()
    assert verdict.ok, verdict.as_json()
    assert verdict.count == fleet.events


async def test_the_rebuilt_read_model_holds_what_the_generator_made(fleet: FleetSummary) -> None:
    await run_rebuild(fleet.database_url)
    url, tally = fleet.database_url, fleet.tally
    assert tally is not None

    shares = rows(url, "SELECT charger_id, user_id, level,"
                       " valid_from IS NOT NULL OR valid_until IS NOT NULL FROM read.shares")
    assert {(c, u): level for c, u, level, _ in shares} == tally.shares
    assert {(c, u) for c, u, _, timed in shares if timed} == tally.timed
    assert tally.timed
    assert len(tally.timed) < len(tally.shares)

    keys = rows(url, "SELECT key_id, blocked FROM read.charge_keys")
    assert dict(keys) == tally.keys
    assert any(tally.keys.values())

    invitations = rows(url, "SELECT invitation_id, status, expires_at FROM read.invitations")
    states = {i: "expired" if status == "pending" and expires <= ENDS_AT else status
              for i, status, expires in invitations}
    assert states == tally.invitations
    assert set(states.values()) == {"pending", "expired", "accepted", "declined", "revoked"}

    chargers = rows(url, "SELECT charger_id, group_id, owner_id FROM read.chargers")
    assert {c: g for c, g, _ in chargers} == tally.charger_group
    assert {c: o for c, _, o in chargers} == tally.charger_owner

    forgotten = rows(url, "SELECT user_id FROM read.users"
                          " WHERE email LIKE '%@forgotten.invalid'")
    assert {u for (u,) in forgotten} == tally.forgotten
    counted = rows(url, "SELECT (SELECT count(*) FROM read.users),"
                        " (SELECT count(*) FROM read.groups WHERE NOT personal),"
                        " (SELECT count(*) FROM read.group_members m JOIN read.groups g"
                        "  USING (group_id) WHERE NOT g.personal)")[0]
    assert counted == (tally.users, tally.fleets, tally.fleet_members)


def test_a_seed_gives_the_same_history_whatever_the_batch_size(
        fleet: FleetSummary, new_database: Callable[[], str]) -> None:
    again = seed_fleet(new_database(), SIZE, SEED, ends_at=ENDS_AT, batch_size=37)
    other = seed_fleet(new_database(), SIZE, SEED + 1, ends_at=ENDS_AT)

    assert history_digest(again.database_url) == history_digest(fleet.database_url)
    assert again.counts == fleet.counts
    assert history_digest(other.database_url) != history_digest(fleet.database_url)


def test_fleets_written_side_by_side_make_the_same_history_in_another_order(
        fleet: FleetSummary, new_database: Callable[[], str]) -> None:
    side_by_side = seed_fleet(new_database(), SIZE, SEED, ends_at=ENDS_AT, workers=2)

    by_aggregate = "originator_id, originator_version"
    assert history_digest(side_by_side.database_url, by_aggregate) == history_digest(
        fleet.database_url, by_aggregate)
    assert side_by_side.counts == fleet.counts


async def test_no_boundary_or_notice_falls_inside_the_history(fleet: FleetSummary) -> None:
    """The scheduler writes those events, not commands: a history that left one due before
    its end would read as a scheduler that was down. Folded as the scheduler folds it, with
    every time-bound share held, nothing is due by the end and something is due after it."""
    timetable = Timetable(timedelta(hours=24))
    read = ShareLog()
    conn = await asyncpg.connect(fleet.database_url)
    try:
        while events := await read.read(conn, timetable.position, 1000):
            timetable.fold(events)
    finally:
        await conn.close()

    assert len(timetable.shares) == len(fleet.tally.timed if fleet.tally else ())
    assert timetable.pop_due(ENDS_AT) == []
    assert timetable.next_due() is not None


def test_refuses_a_store_that_already_holds_events(fleet: FleetSummary) -> None:
    with pytest.raises(StoreNotEmptyError):
        seed_fleet(fleet.database_url, 10, SEED)


async def test_the_scheduler_resumes_and_takes_its_next_horizon_from_the_book(
        fleet: FleetSummary) -> None:
    """`bench.scheduler_start` on the fleet: a start folds the log and fills the book, a
    second resumes from it (the same timetable), and the next horizon taken from the book
    is the whole log's fold for that horizon (the bench raises if not)."""
    figures = await measure(fleet.database_url, hours=24 * 7, repeat=1, now=ENDS_AT)
    assert {name: len(times) for name, times in figures.items()} == {
        "fold": 1, "resume": 1, "refill": 1}
