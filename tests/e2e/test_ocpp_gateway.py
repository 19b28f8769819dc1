"""Chargers at the OCPP gateway, through the real processes (`make run`'s supervisor:
access service, notification service, gateway; Tansu; PostgreSQL; an SMTP sink), with the
`ocpp` package's ChargePoint as the charger in both OCPP versions. Every frame the gateway
sends a charger is checked against the OCPP schemas (`ocpp_charger.Recording`)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness.ocpp_charger import Charger, Kept, connected
from services.common.timeouts import wait_for
from tests.e2e.conftest import System
from tests.e2e.test_invite_flow import body_text
from tests.kafka_helpers import CommandClient
from tests.ocpp_schemas import validate

pytestmark = pytest.mark.e2e


def checked(
    url: str, serial: str, version: str, *, per_message: int | None = None, kept: Kept | None = None,
    password: str | None = None, tls: ssl.SSLContext | None = None,
) -> AbstractAsyncContextManager[Charger]:
    """A simulated charger that checks every frame from the gateway against the OCPP
    schemas; `kept`: the same charger again; `password`, `tls`: as `connected` takes them."""
    return connected(
        url, serial, version, kept=kept or Kept(check=validate, per_message=per_message),
        password=password, tls=tls,
    )


VERSIONS = ["1.6", "2.0.1"]


def entry_key(version: str, token: str) -> str:
    return token if version == "1.6" else f"{token}/ISO14443"


async def accepted(
    commands: CommandClient, type_: str, data: dict[str, Any], actor: uuid.UUID
) -> dict[str, Any]:
    result = await commands.run(type_, data, actor)
    assert result["status"] == "accepted", result
    return result


async def owner_with_charger(
    commands: CommandClient, system: System, owner: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A user (new unless given) and a charger of theirs, in the read model (so the gateway
    knows its serial)."""
    charger = uuid.uuid4()
    serial = f"GW-{charger.hex[:12]}"
    if owner is None:
        owner = uuid.uuid4()
        await accepted(
            commands,
            "RegisterUser",
            {
                "user_id": str(owner),
                "email": f"o-{owner.hex[:8]}@example.no",
                "name": "Kari",
                "locale": "nb",
            },
            owner,
        )
    done = await accepted(
        commands,
        "RegisterCharger",
        {"charger_id": str(charger), "serial_number": serial, "name": "Garasje"},
        owner,
    )
    await read_model_list(system, charger, "1.6", done["position"])
    return owner, charger, serial


async def read_model_list(
    system: System, charger: uuid.UUID, version: str, position: int = 0
) -> tuple[int, dict[str, str]]:
    """The read model's Full list of `charger` as (version, {entry key: status})."""
    async with system.http() as http:
        answer = await http.get(
            f"/v1/chargers/{charger}/local-list/{version}", params={"min_position": position}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    entries = body["request"].get("localAuthorizationList", [])
    if version == "1.6":
        return body["version"], {e["idTag"]: e["idTagInfo"]["status"] for e in entries}
    return body["version"], {
        f"{e['idToken']['idToken']}/{e['idToken']['type']}": e["idTokenInfo"]["status"]
        for e in entries
    }


async def in_step(system: System, charger_id: uuid.UUID, charger: Charger, position: int) -> None:
    """Wait until the charger holds exactly the read model's current list."""
    version, statuses = await read_model_list(system, charger_id, charger.version, position)
    await charger.until(lambda: charger.list_version == version and charger.statuses() == statuses)


def sent_lists(charger: Charger) -> list[tuple[str, int]]:
    """(updateType, entries) of every SendLocalList the charger received, in order."""
    return [
        (p["updateType"], len(p.get("localAuthorizationList", [])))
        for action, p in charger.calls
        if action == "SendLocalList"
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_invited_key_is_accepted_then_blocked_then_gone_from_the_chargers_list(
    system: System, commands: CommandClient, version: str
) -> None:
    owner, charger_id, serial = await owner_with_charger(commands, system)
    guest, invitation = uuid.uuid4(), uuid.uuid4()
    guest_email = f"g-{guest.hex[:8]}@example.no"
    token = f"CARD{guest.hex[:8]}".upper()
    key = entry_key(version, token)
    await accepted(
        commands,
        "RegisterUser",
        {"user_id": str(guest), "email": guest_email, "locale": "en"},
        guest,
    )

    async with checked(system.ocpp_url, serial, version) as charger:
        boot = await charger.boot()
        assert boot.status == "Accepted"
        assert boot.interval > 0
        assert await charger.status() is not None
        assert (await charger.heartbeat()).current_time
        await in_step(system, charger_id, charger, 0)

        # Invite, accept with the e-mail's token, add a card: the charger's list holds it.
        await accepted(
            commands,
            "InviteUser",
            {
                "invitation_id": str(invitation),
                "email": guest_email,
                "charger_ids": [str(charger_id)],
            },
            owner,
        )
        [mail] = await wait_for(_mail_to(system, guest_email), 30)
        link = re.search(r"https://charge\.example/invitations/\S+", body_text(mail))
        assert link
        accept_token = parse_qs(urlparse(link.group(0)).query)["token"][0]
        await accepted(
            commands,
            "AcceptInvitation",
            {"invitation_id": str(invitation), "token": accept_token},
            guest,
        )
        key_id = str(uuid.uuid4())
        await accepted(
            commands,
            "AddChargeKey",
            {"key_id": key_id, "user_id": str(guest), "id_token": token.lower()},
            guest,
        )
        await charger.until(lambda: charger.statuses().get(key) == "Accepted")
        assert await charger.authorize(token) == "Accepted"

        # Blocked: still listed, as Blocked, so an offline charger refuses it too.
        await accepted(commands, "BlockChargeKey", {"key_id": key_id}, guest)
        await charger.until(lambda: charger.statuses().get(key) == "Blocked")
        assert await charger.authorize(token) == "Blocked"
        await accepted(commands, "UnblockChargeKey", {"key_id": key_id}, guest)
        await charger.until(lambda: charger.statuses().get(key) == "Accepted")

        # The owner removes the guest: the key leaves the list, and Authorize refuses it.
        removed = await accepted(commands, "RemoveUser", {"user_id": str(guest)}, owner)
        await charger.until(lambda: key not in charger.statuses())
        assert await charger.authorize(token) == "Invalid"
        await in_step(system, charger_id, charger, removed["position"])

        assert ("Differential", 1) in sent_lists(charger), sent_lists(charger)
        assert charger.schema_errors == []
        assert charger.validated >= 8  # list version, lists, boot and authorize answers
        gateway = system.gateway_metrics()
        assert gateway[f'ocpp_gateway_connected_chargers{{ocpp_version="{version}"}}'] >= 1
        assert (
            gateway[f'ocpp_gateway_authorize_total{{ocpp_version="{version}",status="Accepted"}}']
            >= 1
        )


async def _mail_to(system: System, address: str) -> list[Any]:
    while not system.sink.to(address):  # noqa: ASYNC110 - the sink (a thread) has no awaitable
        await asyncio.sleep(0.05)
    return system.sink.to(address)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_charger_catches_up_on_reconnect_in_parts_and_a_mismatch_gets_the_full_list(
    system: System, commands: CommandClient, version: str
) -> None:
    owner, charger_id, serial = await owner_with_charger(commands, system)

    async def add_key(token: str) -> dict[str, Any]:
        return await accepted(
            commands,
            "AddChargeKey",
            {"key_id": str(uuid.uuid4()), "user_id": str(owner), "id_token": token},
            owner,
        )

    first = await add_key(f"A{owner.hex[:6]}")
    async with checked(system.ocpp_url, serial, version, per_message=2) as charger:
        await in_step(system, charger_id, charger, first["position"])
    away_version = charger.list_version

    # Offline while four more keys come: it reconnects (anywhere) and asks its version.
    for n in range(4):
        last = await add_key(f"B{n}{owner.hex[:6]}")
    async with checked(system.ocpp_url, serial, version, kept=charger.kept) as again:
        await in_step(system, charger_id, again, last["position"])
        assert again.list_version > away_version
        # Five keys, two per message: one Full part, then Differential parts, one version.
        assert sent_lists(again)[-3:] == [("Full", 2), ("Differential", 2), ("Differential", 1)]

        # It refuses the next Differential (VersionMismatch): the gateway sends the Full list.
        again.kept.refuse_differentials = 1
        lists_before = len(sent_lists(again))
        newest = await add_key(f"C{owner.hex[:6]}")
        await in_step(system, charger_id, again, newest["position"])
        assert [kind for kind, _ in sent_lists(again)[lists_before:]][:2] == [
            "Differential",
            "Full",
        ]
        assert again.schema_errors == []
    mismatches = system.gateway_metrics()[
        'ocpp_gateway_local_list_mismatches_total{status="VersionMismatch"}'
    ]
    assert mismatches >= 1


async def test_each_instance_serves_the_chargers_it_holds_and_a_charger_may_move(
    system: System, commands: CommandClient
) -> None:
    second = system.add_gateway()
    elsewhere = f"ws://127.0.0.1:{second.env['OCPP_PORT']}/ocpp/"
    owner, first_id, first_serial = await owner_with_charger(commands, system)
    _, other_id, other_serial = await owner_with_charger(commands, system, owner)

    async def add_key(token: str) -> dict[str, Any]:
        return await accepted(
            commands,
            "AddChargeKey",
            {"key_id": str(uuid.uuid4()), "user_id": str(owner), "id_token": token},
            owner,
        )

    # One charger on each instance: the owner's new key reaches both (each instance hears
    # every change and serves only its own chargers).
    async with (
        checked(system.ocpp_url, first_serial, "1.6") as first,
        checked(elsewhere, other_serial, "2.0.1") as other,
    ):
        await in_step(system, first_id, first, 0)
        await in_step(system, other_id, other, 0)
        added = await add_key(f"M{owner.hex[:6]}")
        await in_step(system, first_id, first, added["position"])
        await in_step(system, other_id, other, added["position"])
        assert len(first.entries) == len(other.entries) == 1

    # Offline during a change, the first charger comes back to the other instance.
    again = await add_key(f"N{owner.hex[:6]}")
    async with checked(elsewhere, first_serial, "1.6", kept=first.kept) as moved:
        await in_step(system, first_id, moved, again["position"])
        assert len(moved.entries) == 2
        assert moved.schema_errors == []


async def test_bad_input_costs_only_its_own_connection(
    system: System, commands: CommandClient
) -> None:
    _, good_id, good_serial = await owner_with_charger(commands, system)
    _, _, other_serial = await owner_with_charger(commands, system)
    url = system.ocpp_url
    async with checked(url, good_serial, "1.6") as good:
        await in_step(system, good_id, good, 0)

        # Refused at the handshake: an unknown serial number, no subprotocol, a wrong one.
        for target, protocols, status in (
            (url + "NOPE-404", ["ocpp1.6"], 404),
            (url + other_serial, None, 400),
            (url + other_serial, ["ocpp2.1"], 400),
        ):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(target, subprotocols=protocols)
            assert refused.value.response.status_code == status

        async with websockets.connect(url + other_serial, subprotocols=["ocpp2.0.1"]) as raw:
            # Not JSON, then not OCPP: dropped, the connection goes on.
            await raw.send("{not json")
            await raw.send(json.dumps({"an": "object"}))
            # An action nobody knows: CALLERROR NotImplemented; a known one we do not serve:
            # NotSupported.
            await raw.send(json.dumps([2, "u-1", "FlyToTheMoon", {}]))
            await raw.send(json.dumps([2, "u-2", "MeterValues", {"evseId": 1, "meterValue": []}]))
            errors = await _errors(raw, {"u-1", "u-2"})
            assert errors == {"u-1": "NotImplemented", "u-2": "NotSupported"}

        # A frame over the limit closes only that connection (1009: message too big).
        async with websockets.connect(
            url + other_serial, subprotocols=["ocpp1.6"], max_size=None
        ) as big:
            await big.send("[" + " " * 200_000 + "]")
            with pytest.raises(ConnectionClosed):
                await _drain(big)
            assert big.close_code == 1009

        # Hundreds of connections opened and dropped at once.
        async def open_and_drop() -> None:
            socket = await websockets.connect(url + other_serial, subprotocols=["ocpp1.6"])
            await socket.close()

        await asyncio.gather(*(open_and_drop() for _ in range(200)))
        reader_writers = [
            await asyncio.open_connection("127.0.0.1", int(system.env["OCPP_PORT"]))
            for _ in range(50)
        ]
        for _, writer in reader_writers:
            writer.close()

        # The good charger is still served and the gateway is healthy.
        assert (await good.heartbeat()).current_time
        assert await good.authorize("NOBODY") == "Invalid"
        gateway = system.gateway_metrics()
        assert gateway['ocpp_gateway_handshakes_refused_total{reason="unknown_charger"}'] >= 1
        assert gateway['ocpp_gateway_handshakes_refused_total{reason="subprotocol"}'] >= 2
        assert gateway["ocpp_gateway_bad_frames_total"] >= 2
        assert good.schema_errors == []


async def _drain(socket: Any) -> None:
    """Read (and ignore the gateway's calls) until the connection closes."""
    async with asyncio.timeout(10):
        while True:
            await socket.recv()


async def _errors(socket: Any, ids: set[str]) -> dict[str, str]:
    """The CALLERROR codes the gateway answered to our calls `ids` (its own calls ignored)."""
    found: dict[str, str] = {}
    async with asyncio.timeout(10):
        while set(found) != ids:
            frame = json.loads(await socket.recv())
            if frame[0] == 4 and frame[1] in ids:
                found[frame[1]] = frame[2]
    return found
