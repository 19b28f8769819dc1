"""P1's peer keeps our rules on the library's stock store: what it accepts and rejects is
what SPEC says of the journey's commands, its events are really stored (a fresh
application, with nothing cached, sees them), and over Kafka it answers as our service
does, one result per command on its own results topic."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from pydantic_core import to_json

from bench.kafka import invite_user, register_charger, register_user
from bench.peer_app import Peer, PeerApplication, peer_env
from bench.peer_service import PeerService
from charger_access_client import CommandResult
from charger_access_client.client import AccessClient, command_envelope
from charger_access_client.topics import Topics
from services.access.handlers.context import Rules
from services.access.messaging.intake import Record, read
from services.common.kafka import ensure_topics

pytestmark = pytest.mark.integration

Command = tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]


def _wire(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}


def _run(peer: Peer, command: Command) -> CommandResult:
    type_, data, actor, _key = command
    item = read(Record(to_json(command_envelope(type_, _wire(data), actor)))).item
    assert item is not None
    return peer.execute(item)


@pytest.fixture
def peer_database(new_database: Any) -> str:
    url: str = new_database()
    return url


def _peer(url: str) -> tuple[PeerApplication, Peer]:
    app = PeerApplication(env=peer_env(url, 2))
    return app, Peer(app, Rules(token_secret=b"s" * 32))


async def test_a_journey_is_accepted_and_the_rules_reject_what_spec_rejects(
        peer_database: str) -> None:
    app, peer = _peer(peer_database)
    owner, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stranger = uuid.uuid4()
    try:
        results = [_run(peer, c) for c in (register_user(owner),
                                            register_charger(owner, charger),
                                            invite_user(owner, charger, invitation))]
        assert [r.status for r in results] == ["accepted"] * 3
        positions = [r.position for r in results]
        assert all(p is not None for p in positions)
        assert positions == sorted(positions)
        same_email = register_user(stranger)
        same_email[1]["email"] = register_user(owner)[1]["email"].upper()
        assert _run(peer, same_email).reason == "email_taken"
        assert _run(peer, register_user(owner)).reason == "already_exists"
        other = uuid.uuid4()
        assert _run(peer, register_user(stranger)).status == "accepted"
        same_serial = register_charger(stranger, other)
        same_serial[1]["serial_number"] = register_charger(owner, charger)[1]["serial_number"]
        assert _run(peer, same_serial).reason == "serial_taken"
        not_theirs = invite_user(stranger, charger, uuid.uuid4())
        assert _run(peer, not_theirs).reason == "forbidden"
    finally:
        app.close()

    # Nothing cached now: the rules must find the stored events.
    app, peer = _peer(peer_database)
    try:
        again = register_user(uuid.uuid4())
        again[1]["email"] = register_user(owner)[1]["email"]
        assert _run(peer, again).reason == "email_taken"
        assert _run(peer, invite_user(owner, charger, uuid.uuid4())).status == "accepted"
    finally:
        app.close()
    conn = await asyncpg.connect(peer_database)
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        stored = await conn.fetchval("SELECT count(*) FROM peeraccess_events")
    finally:
        await conn.close()
    assert "chargeraccess_events" not in tables  # the peer never writes our store
    assert stored >= 8  # at least user, group, claim, charger, claim, invitation events


async def test_over_kafka_each_command_gets_its_result_on_the_peers_topic(
        peer_database: str, kafka_bootstrap: str) -> None:
    topics = Topics(f"peer-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, topics.all())
    service = PeerService(peer_database, kafka_bootstrap, topics.prefix, threads=2)
    await service.start()
    try:
        async with AccessClient(kafka_bootstrap, topics=topics, source="test") as client:
            owner, charger = uuid.uuid4(), uuid.uuid4()
            answers = []
            for type_, data, actor, key in (register_user(owner),
                                            register_charger(owner, charger),
                                            register_charger(owner, charger)):
                answers.append(await client.run(type_, _wire(data), actor=actor,
                                                key=str(key), timeout=30))
    finally:
        await service.stop()
    assert [a.status for a in answers] == ["accepted", "accepted", "rejected"]
    assert answers[2].reason == "already_exists"
