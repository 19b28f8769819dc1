"""Commands through the real broker into the real PostgreSQL store, results back out."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def settings(database_url: str, kafka_bootstrap: str) -> AccessSettings:
    return AccessSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"t{uuid.uuid4().hex[:8]}."), token_secret=b"test-secret",
        consumer_group_prefix=f"g{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="module")
async def service(settings: AccessSettings) -> AsyncIterator[AccessService]:
    service = AccessService(settings, serve_api=False)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
async def client(settings: AccessSettings, service: AccessService) -> AsyncIterator[CommandClient]:
    client = CommandClient(settings.kafka_bootstrap_servers, settings.topics)
    await client.start()
    yield client
    await client.stop()


async def test_register_users_and_charger_get_accepted_with_positions(client: CommandClient) -> None:
    owner, guest, charger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = await client.run("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no"}, owner)
    second = await client.run("RegisterUser", {"user_id": str(guest), "email": f"{guest}@example.no", "locale": "nb"}, guest)
    third = await client.run("RegisterCharger", {"charger_id": str(charger), "serial_number": f"SN-{charger.hex[:10]}", "name": "Garasje"}, owner)
    assert [r["status"] for r in (first, second, third)] == ["accepted"] * 3
    assert first["position"] < second["position"] < third["position"]
    registered = await client.wait_events(lambda e: e["type"] == "ChargerRegistered" and e["subject"] == str(charger))
    assert registered[0]["data"]["owner_id"] == str(owner)
    assert registered[0]["sequence"] == third["position"]


async def test_same_command_twice_has_one_effect_and_equal_results(client: CommandClient) -> None:
    user = uuid.uuid4()
    command_id = str(uuid.uuid4())
    data = {"user_id": str(user), "email": f"{user}@example.no"}
    await client.send("RegisterUser", data, user, command_id)
    await client.send("RegisterUser", data, user, command_id)
    first = await client.wait_results([command_id])
    registered = await client.wait_events(lambda e: e["type"] == "UserRegistered" and e["subject"] == str(user))
    # Both deliveries answered, identically; one event.
    import asyncio
    for _ in range(200):
        if len(client.results.get(f"{command_id}#all", [])) >= 2:  # type: ignore[arg-type]
            break
        await asyncio.sleep(0.05)
    answers = client.results[f"{command_id}#all"]
    assert len(answers) == 2
    assert answers[0] == answers[1] == first[0]
    assert len(registered) == 1


async def test_malformed_message_goes_to_dlq_and_invalid_command_gets_result(client: CommandClient) -> None:
    await client.send_raw(b"{not json", key="x")
    bad_id = str(uuid.uuid4())
    await client.send_raw(json.dumps({"specversion": "1.0", "id": bad_id, "source": "t", "type": "NoSuchThing", "actor": str(uuid.uuid4()), "data": {}}).encode())
    invalid = await client.run("RegisterUser", {"user_id": "nope", "email": "x"}, uuid.uuid4())
    assert invalid["status"] == "rejected"
    assert invalid["reason"] == "invalid"
    assert {tuple(e["loc"]) for e in invalid["errors"]} == {("user_id",), ("email",)}
    unknown = (await client.wait_results([bad_id]))[0]
    assert unknown["reason"] == "invalid"
    assert "NoSuchThing" in unknown["detail"]
    import asyncio
    for _ in range(200):
        if len(client.dead_letters) >= 2:
            break
        await asyncio.sleep(0.05)
    assert {d.value for d in client.dead_letters} >= {b"{not json"}
    assert len(client.dead_letters) == 2


async def test_binary_binding_is_accepted(client: CommandClient) -> None:
    user = uuid.uuid4()
    command_id = str(uuid.uuid4())
    headers = [("ce_specversion", b"1.0"), ("ce_id", command_id.encode()), ("ce_source", b"tests"),
               ("ce_type", b"RegisterUser"), ("ce_actor", str(user).encode())]
    await client.send_raw(json.dumps({"user_id": str(user), "email": f"{user}@example.no"}).encode(),
                          key=str(user), headers=headers)
    result = (await client.wait_results([command_id]))[0]
    assert result["status"] == "accepted"


async def test_every_other_command_through_kafka_publishes_its_events(client: CommandClient) -> None:
    """The commands the e2e flows don't drive, each through the broker and the store."""
    from services.common.tokens import invitation_token

    owner, member, guest = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for user in (owner, member, guest):
        assert (await client.run("RegisterUser", {"user_id": str(user), "email": f"{user}@example.no"}, user))["status"] == "accepted"
    group, charger = uuid.uuid4(), uuid.uuid4()
    await client.run("CreateGroup", {"group_id": str(group), "name": "Borettslag"}, owner)
    await client.run("AddGroupMember", {"group_id": str(group), "user_id": str(member), "role": "member"}, owner)
    removed = await client.run("RemoveGroupMember", {"group_id": str(group), "user_id": str(member)}, owner)
    assert removed["status"] == "accepted"
    owner_removed = await client.run("RemoveGroupMember", {"group_id": str(group), "user_id": str(owner)}, owner)
    assert owner_removed["reason"] == "forbidden"
    await client.run("RegisterCharger", {"charger_id": str(charger), "serial_number": f"K-{charger.hex[:12]}"}, owner)

    declined_id, revoked_id, resent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for invitation in (declined_id, revoked_id, resent_id):
        result = await client.run("InviteUser", {"invitation_id": str(invitation), "email": f"{guest}@example.no",
                                                 "charger_ids": [str(charger)]}, owner)
        assert result["status"] == "accepted"

    def salt_of(invitation: uuid.UUID) -> str:
        sends = [e for e in client.events if e["subject"] == str(invitation) and e["type"] in ("UserInvited", "InvitationResent")]
        return str(sends[-1]["data"]["token_salt"])

    await client.wait_events(lambda e: e["type"] == "UserInvited" and e["subject"] == str(resent_id))
    token = invitation_token(b"test-secret", declined_id, salt_of(declined_id))
    assert (await client.run("DeclineInvitation", {"invitation_id": str(declined_id), "token": token}, guest))["status"] == "accepted"
    assert (await client.run("RevokeInvitation", {"invitation_id": str(revoked_id)}, guest))["reason"] == "forbidden"
    assert (await client.run("RevokeInvitation", {"invitation_id": str(revoked_id)}, owner))["status"] == "accepted"
    old_token = invitation_token(b"test-secret", resent_id, salt_of(resent_id))
    assert (await client.run("ResendInvitation", {"invitation_id": str(resent_id)}, owner))["status"] == "accepted"
    await client.wait_events(lambda e: e["type"] == "InvitationResent" and e["subject"] == str(resent_id))
    stale = await client.run("AcceptInvitation", {"invitation_id": str(resent_id), "token": old_token}, guest)
    assert stale["reason"] == "invalid_token"
    fresh = invitation_token(b"test-secret", resent_id, salt_of(resent_id))
    assert (await client.run("AcceptInvitation", {"invitation_id": str(resent_id), "token": fresh}, guest))["status"] == "accepted"

    published = await client.wait_events(
        lambda e: e["type"] in {"GroupMemberRemoved", "InvitationDeclined", "InvitationRevoked", "InvitationAccepted"}
        and (e["subject"] in {str(group), str(declined_id), str(revoked_id), str(resent_id)}), count=4)
    assert sorted(e["type"] for e in published) == ["GroupMemberRemoved", "InvitationAccepted", "InvitationDeclined", "InvitationRevoked"]
    assert all(e["actor"] and e["commandid"] and e["time"] for e in published)
