"""The sharing flow through every real part: Kafka commands, PostgreSQL store, relay,
notification service, SMTP, projection and query API, each in its own process."""

from __future__ import annotations

import re
import uuid
from email.message import Message
from urllib.parse import parse_qs, urlparse

import asyncpg
import pytest

from bench.growth import rest
from tests.e2e.conftest import System, eventually
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e


def body_text(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    texts = []
    for part in parts:
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


async def test_invite_accept_and_see_the_share(system: System, commands: CommandClient) -> None:
    owner, guest, charger, invitation = (uuid.uuid4() for _ in range(4))
    guest_email = f"guest-{guest.hex[:8]}@example.no"

    # Two people and a charger.
    results = [
        await commands.run("RegisterUser", {"user_id": str(owner), "email": f"owner-{owner.hex[:8]}@example.no",
                                            "name": "Kari Nordmann", "locale": "nb"}, owner),
        await commands.run("RegisterUser", {"user_id": str(guest), "email": guest_email,
                                            "name": "Ola", "locale": "nb"}, guest),
        await commands.run("RegisterCharger", {"charger_id": str(charger), "serial_number": f"E2E-{charger.hex[:8]}",
                                               "name": "Garasje"}, owner),
    ]
    assert [r["status"] for r in results] == ["accepted"] * 3

    # The owner invites the guest; the invitation e-mail arrives, in the guest's language.
    invited = await commands.run("InviteUser", {"invitation_id": str(invitation), "email": guest_email,
                                                "charger_ids": [str(charger)]}, owner)
    assert invited["status"] == "accepted"
    [mail] = await system.sink.wait_for(1, timeout=30)
    assert mail["To"] == guest_email
    text = body_text(mail)
    assert "Garasje" in text
    assert "Kari Nordmann" in text
    link = re.search(r"https://charge\.example/invitations/\S+", text)
    assert link, text
    url = urlparse(link.group(0))
    assert url.path == f"/invitations/{invitation}/accept"
    token = parse_qs(url.query)["token"][0]

    # Before accepting, the guest has no access; the invitation is pending.
    async with system.http() as http:
        pending = await http.get(f"/v1/invitations/{invitation}", params={"min_position": invited["position"]})
        assert pending.status_code == 200
        assert pending.json()["status"] == "pending"
        assert "token" not in pending.text
        check = await http.get("/v1/access/check", params={"user_id": str(guest), "charger_id": str(charger)})
        assert check.json()["allowed"] is False

    # The guest accepts with the token from the e-mail, and reads their own write.
    accepted = await commands.run("AcceptInvitation", {"invitation_id": str(invitation), "token": token}, guest)
    assert accepted["status"] == "accepted", accepted
    async with system.http() as http:
        chargers = await http.get(f"/v1/users/{guest}/chargers", params={"min_position": accepted["position"]})
        assert chargers.status_code == 200
        [entry] = chargers.json()["chargers"]
        assert entry["charger_id"] == str(charger)
        assert entry["level"] == "charge"
        assert {"source": "share", "invitation_id": str(invitation)}.items() <= entry["why"][0].items()
        check = await http.get("/v1/access/check", params={"user_id": str(guest), "charger_id": str(charger),
                                                           "min_position": accepted["position"]})
        assert check.json()["allowed"] is True
        status = await http.get(f"/v1/invitations/{invitation}")
        assert status.json()["status"] == "accepted"

    # The token was single-use.
    again = await commands.run("AcceptInvitation", {"invitation_id": str(invitation), "token": token}, guest)
    assert again["status"] == "rejected"
    assert again["reason"] == "not_pending"
    # Exactly one e-mail for the whole flow so far.
    assert len(system.sink.messages) == 1


async def test_the_growth_bench_sees_the_leader_catch_up(system: System,
                                                         commands: CommandClient) -> None:
    """`make bench-growth` waits, before or after its reads, until the leader has published
    every event and list version of the read models and the services are idle. The
    counters it waits on live in the command side's process: read from the query API's,
    they never reached their totals and the wait ran to its limit at every size."""
    owner, charger = uuid.uuid4(), uuid.uuid4()
    results = [
        await commands.run("RegisterUser", {"user_id": str(owner), "name": "Kari",
                                            "email": f"kari-{owner.hex[:8]}@example.no"}, owner),
        await commands.run("RegisterCharger", {"charger_id": str(charger), "name": "Hytta",
                                               "serial_number": f"E2E-{charger.hex[:8]}"}, owner),
    ]
    assert [r["status"] for r in results] == ["accepted"] * 2
    pool = await asyncpg.create_pool(system.database_url, min_size=1, max_size=1)
    try:
        async def projected() -> bool:
            newest = await pool.fetchval("SELECT max(position) FROM read.log_positions")
            return bool(newest is not None and newest >= results[-1]["position"])

        await eventually(projected)
        expected = await rest.republished(pool)
    finally:
        await pool.close()
    assert expected["access_relay_published_total"] >= 2

    found = await rest.caught_up(system, system.service_pids(), expected, timeout=60)

    assert found.finished, f"still waiting after {found.seconds:.0f} s for {expected}"
