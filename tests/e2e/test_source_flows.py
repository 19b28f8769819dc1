"""The two product flows SPEC is built around, end to end through the real processes:
sharing (Wallbox: invite → accept from the e-mail → edit → remove) and transfer (Monta:
move to a group → hand ownership to a group admin → give it to a user by phone)."""

from __future__ import annotations

import asyncio
import re
import uuid
from email.message import Message
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import System
from tests.e2e.test_invite_flow import body_text
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e


async def accepted(commands: CommandClient, type_: str, actor: uuid.UUID, **data: Any) -> dict[str, Any]:
    result = await commands.run(type_, {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}, actor)
    assert result["status"] == "accepted", result
    return result


async def register(commands: CommandClient, **extra: Any) -> tuple[uuid.UUID, str]:
    user = uuid.uuid4()
    email = f"u-{user.hex[:10]}@example.no"
    await accepted(commands, "RegisterUser", user, user_id=user, email=email, **extra)
    return user, email


async def charger_of(commands: CommandClient, owner: uuid.UUID, name: str) -> uuid.UUID:
    charger = uuid.uuid4()
    await accepted(commands, "RegisterCharger", owner, charger_id=charger,
                   serial_number=f"SN-{charger.hex[:12]}", name=name)
    return charger


def mails_to(system: System, address: str) -> list[Message]:
    return [m for m in system.sink.messages if parseaddr(m["To"])[1] == address]


async def wait_mails(system: System, address: str, count: int) -> list[Message]:
    for _ in range(300):
        found = mails_to(system, address)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{len(mails_to(system, address))} of {count} e-mails to {address}")


async def chargers_of(system: System, user: uuid.UUID, position: int) -> dict[str, dict[str, Any]]:
    async with system.http() as http:
        response = await http.get(f"/v1/users/{user}/chargers", params={"min_position": position})
    assert response.status_code == 200, response.text
    return {c["charger_id"]: c for c in response.json()["chargers"]}


async def test_wallbox_flow_invite_accept_edit_remove(system: System, commands: CommandClient) -> None:
    owner, _ = await register(commands, name="Kari", locale="nb")
    guest, guest_email = await register(commands, name="Claire", locale="fr")
    garage, street, cabin = [await charger_of(commands, owner, n) for n in ("Garasje", "Gate", "Hytte")]

    # Invite to two chargers; the French guest gets a French e-mail with the link.
    invitation = uuid.uuid4()
    await accepted(commands, "InviteUser", owner, invitation_id=invitation, email=guest_email,
                   charger_ids=[str(garage), str(street)])
    [invite_mail] = await wait_mails(system, guest_email, 1)
    assert invite_mail["Content-Language"] == "fr"
    text = body_text(invite_mail)
    assert "Garasje" in text
    assert "Gate" in text
    link = re.search(r"https://charge\.example/invitations/\S+", text)
    assert link is not None
    token = parse_qs(urlparse(link.group(0)).query)["token"][0]

    result = await accepted(commands, "AcceptInvitation", guest, invitation_id=invitation, token=token)
    assert set(await chargers_of(system, guest, result["position"])) == {str(garage), str(street)}

    # Edit to another set: street stays, garage goes, cabin comes; one e-mail with the new list.
    result = await accepted(commands, "UpdateUserAccess", owner, user_id=guest,
                            charger_ids=[str(street), str(cabin)])
    assert set(await chargers_of(system, guest, result["position"])) == {str(street), str(cabin)}
    changed = (await wait_mails(system, guest_email, 2))[1]
    assert "Hytte" in body_text(changed)
    assert "Garasje" not in body_text(changed)

    # Remove the user: no access left; one more e-mail.
    result = await accepted(commands, "RemoveUser", owner, user_id=guest)
    assert await chargers_of(system, guest, result["position"]) == {}
    await wait_mails(system, guest_email, 3)
    async with system.http() as http:
        users = (await http.get(f"/v1/chargers/{street}/users", params={"min_position": result["position"]})).json()
    assert [u["user_id"] for u in users["users"]] == [str(owner)]


async def test_monta_flow_move_transfer_ownership_give_by_phone(system: System, commands: CommandClient) -> None:
    owner, _ = await register(commands, name="Owner")
    admin, admin_email = await register(commands, name="Admin")
    friend, _ = await register(commands, name="Friend")
    phone = f"+4790{uuid.uuid4().int % 1000000:06d}"
    recipient, recipient_email = await register(commands, name="Recipient", phone=phone, locale="en")
    fleet = uuid.uuid4()
    await accepted(commands, "CreateGroup", owner, group_id=fleet, name="Fleet")
    await accepted(commands, "AddGroupMember", owner, group_id=fleet, user_id=admin, role="admin")
    charger = await charger_of(commands, owner, "Depot 1")
    await accepted(commands, "UpdateUserAccess", owner, user_id=friend, charger_ids=[str(charger)])

    # Move into the fleet group: the friend's share stays; the group admin now manages it.
    result = await accepted(commands, "MoveChargerToGroup", owner, charger_id=charger, group_id=fleet)
    assert str(charger) in await chargers_of(system, friend, result["position"])
    managed = await chargers_of(system, admin, result["position"])
    assert managed[str(charger)]["level"] == "manage"
    assert any(w["source"] == "group:admin" for w in managed[str(charger)]["why"])

    # Hand ownership to the admin: it stays in the group.
    result = await accepted(commands, "TransferChargerOwnership", owner, charger_id=charger, new_owner_id=admin)
    async with system.http() as http:
        state = (await http.get(f"/v1/chargers/{charger}", params={"min_position": result["position"]})).json()
    assert state["owner_id"] == str(admin)
    assert state["group_id"] == str(fleet)
    await wait_mails(system, admin_email, 1)

    # Give it to another user by phone, without its cloud connection: shares end.
    result = await accepted(commands, "TransferChargerToUser", admin, charger_id=charger,
                            recipient_phone=phone, keep_connection=False)
    async with system.http() as http:
        state = (await http.get(f"/v1/chargers/{charger}", params={"min_position": result["position"]})).json()
        users = (await http.get(f"/v1/chargers/{charger}/users")).json()
    assert state["owner_id"] == str(recipient)
    assert state["group_id"] == str(recipient)
    assert state["connected"] is False
    assert [u["user_id"] for u in users["users"]] == [str(recipient)]
    assert await chargers_of(system, friend, result["position"]) == {}
    [to_you] = await wait_mails(system, recipient_email, 1)
    assert "Depot 1" in body_text(to_you)
    await wait_mails(system, admin_email, 2)
