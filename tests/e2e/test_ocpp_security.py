"""OCPP security profiles 1 and 2 through the real processes: a gateway instance started
with `OCPP_SECURITY_PROFILE=2` (TLS with a certificate of a CA made for the run, chargers'
passwords derived from `OCPP_AUTH_SECRET`) beside `make run`'s open one, the `ocpp`
package's ChargePoint as the charger, its password as `ocpp-gateway password` prints it."""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import uuid
from functools import partial
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidMessage, InvalidStatus

from harness.ocpp_charger import Kept, basic_auth
from harness.processes import BIN, metrics
from tests.certificates import make_server_certificate
from tests.e2e.conftest import System
from tests.e2e.test_ocpp_gateway import accepted, checked, in_step, owner_with_charger
from tests.kafka_helpers import CommandClient
from tests.ocpp_schemas import validate

pytestmark = pytest.mark.e2e

SECRET = "profile-2-secret-" + "s" * 24
OLD_SECRET = "profile-2-before-" + "o" * 24
"""The secret `SECRET` replaced: its chargers' passwords still open, counted apart."""


def holds_password(kept: Kept, password: str) -> bool:
    """The charger holds `password` (a check for `until`)."""
    return kept.password == password


def provisioned(serial: str, secret: str = SECRET) -> str:
    """The charger's password as an operator gets it: from the console script."""
    printed = subprocess.run(
        [str(BIN / "ocpp-gateway"), "password", serial], check=True, capture_output=True,
        text=True, env={**os.environ, "OCPP_AUTH_SECRET": secret}, timeout=60).stdout
    name, word = printed.rstrip("\n").split("\t")
    assert name == serial
    return word


async def refused_status(url: str, tls: ssl.SSLContext, header: tuple[str, str] | None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(url, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                 ssl=tls, additional_headers=[header] if header else [])
    response = refused.value.response
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic ")
    return response.status_code


def profile_2_gateway(system: System, tmp_path: Path) -> tuple[str, ssl.SSLContext]:
    """A gateway process under profile 2 (secret `SECRET`, `OLD_SECRET` replaced), with a
    certificate made for the test: its port, and a client context that trusts it."""
    certificate = make_server_certificate(tmp_path)
    tls = certificate.client_context()
    secured = system.add_gateway(
        tls, OCPP_SECURITY_PROFILE="2", OCPP_AUTH_SECRET=SECRET,
        OCPP_AUTH_SECRET_PREVIOUS=OLD_SECRET, OCPP_TLS_CERT_FILE=str(certificate.cert_file),
        OCPP_TLS_KEY_FILE=str(certificate.key_file))
    return str(secured.env["OCPP_PORT"]), tls


async def test_profile_2_lets_in_only_a_charger_with_its_password_over_tls(
    system: System, commands: CommandClient, tmp_path: Path
) -> None:
    port, tls = profile_2_gateway(system, tmp_path)
    url = f"wss://127.0.0.1:{port}/ocpp/"
    owner, charger_id, serial = await owner_with_charger(commands, system)
    _, other_id, other_serial = await owner_with_charger(commands, system, owner)
    added = await accepted(commands, "AddChargeKey", {
        "key_id": str(uuid.uuid4()), "user_id": str(owner), "id_token": f"S{owner.hex[:7]}"},
        owner)
    password = provisioned(serial)

    # With its password, over TLS the charger verifies, in either version: let in and sent
    # its list, every frame within the OCPP schemas.
    for version in ("1.6", "2.0.1"):
        async with checked(url, serial, version, password=password, tls=tls) as charger:
            await in_step(system, charger_id, charger, added["position"])
            assert len(charger.entries) == 1
            assert charger.schema_errors == []

    # A charger given its password under the secret OCPP_AUTH_SECRET replaced still gets in.
    async with checked(url, other_serial, "1.6", password=provisioned(other_serial, OLD_SECRET),
                       tls=tls) as moved_late:
        await in_step(system, other_id, moved_late, added["position"])

    # Refused before the read model is asked, with Basic named: no password, a guess,
    # another charger's name and password, its own password under another charger's name,
    # and a password under a secret this gateway never had.
    for target, header in (
        (serial, None),
        (serial, basic_auth(serial, "0" * 40)),
        (serial, basic_auth(other_serial, provisioned(other_serial))),
        (other_serial, basic_auth(other_serial, password)),
        (serial, basic_auth(serial, provisioned(serial, "x" * 40))),
        ("NOT-REGISTERED", None),
    ):
        assert await refused_status(url + target, tls, header) == 401

    # A 1.6 charger following the security whitepaper sends its key's 20 bytes, not its
    # digits: let in all the same.
    octets = base64.b64encode(serial.encode() + b":" + bytes.fromhex(password)).decode()
    async with websockets.connect(url + serial, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                  ssl=tls, additional_headers=[
                                      ("Authorization", f"Basic {octets}")]) as whitepaper:
        assert whitepaper.subprotocol == "ocpp1.6"

    # The port speaks TLS only: a plain WebSocket handshake gets no answer it can read.
    with pytest.raises((InvalidMessage, ConnectionError, OSError)):
        await websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{serial}",
                                 subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                 additional_headers=[basic_auth(serial, password)])

    async with httpx.AsyncClient(verify=tls, headers=system.bearer) as http:
        page = (await http.get(f"https://127.0.0.1:{port}/metrics")).text
    seen = metrics(page)
    assert seen['ocpp_gateway_logins_total{result="accepted"}'] == 3
    assert seen['ocpp_gateway_logins_total{result="accepted_previous"}'] == 1
    assert seen['ocpp_gateway_handshakes_refused_total{reason="unauthorized"}'] == 6
    assert password not in page


async def test_the_open_gateway_of_profile_0_is_as_spec_says(
    system: System, commands: CommandClient
) -> None:
    """`make run`'s gateway, profile 0 as SPEC's contract has it: no password asked, and
    one given is ignored."""
    _, charger_id, serial = await owner_with_charger(commands, system)
    async with checked(system.ocpp_url, serial, "2.0.1") as charger:
        await in_step(system, charger_id, charger, 0)
    async with checked(system.ocpp_url, serial, "1.6", password="anything") as charger:
        await in_step(system, charger_id, charger, 0)


async def test_profile_2_gives_a_charger_on_a_replaced_secrets_password_its_new_one(
    system: System, commands: CommandClient, tmp_path: Path
) -> None:
    """After a rotation, a charger still on the old secret's password is sent its current
    one once connected (1.6: ChangeConfiguration AuthorizationKey; 2.0.1: SetVariables
    SecurityCtrlr.BasicAuthPassword), and gets in with it next time without being sent it
    again. One that refuses keeps its connection and its list."""
    port, tls = profile_2_gateway(system, tmp_path)
    url = f"wss://127.0.0.1:{port}/ocpp/"
    owner, first_id, first = await owner_with_charger(commands, system)
    _, second_id, second = await owner_with_charger(commands, system, owner)
    _, stubborn_id, stubborn = await owner_with_charger(commands, system, owner)

    renewed: dict[str, str] = {}
    for charger_id, serial, version in ((first_id, first, "1.6"), (second_id, second, "2.0.1")):
        kept = Kept(check=validate, password=provisioned(serial, OLD_SECRET))
        async with checked(url, serial, version, kept=kept, password=kept.password,
                           tls=tls) as charger:
            await in_step(system, charger_id, charger, 0)
            await charger.until(partial(holds_password, kept, provisioned(serial)))
        renewed[version] = kept.password
        # Next time it logs in with the new one, and is not sent it again.
        async with checked(url, serial, version, kept=kept, password=kept.password,
                           tls=tls) as charger:
            await in_step(system, charger_id, charger, 0)
        asked = [payload for action, payload in kept.calls
                 if action in ("ChangeConfiguration", "SetVariables")]
        assert len(asked) == 1, asked
        assert kept.schema_errors == []
    assert renewed["1.6"] != renewed["2.0.1"]

    refusing = Kept(check=validate, password=provisioned(stubborn, OLD_SECRET),
                    refuse_password=True)
    async with checked(url, stubborn, "1.6", kept=refusing, password=refusing.password,
                       tls=tls) as charger:
        await charger.until(lambda: any(action == "ChangeConfiguration"
                                        for action, _ in refusing.calls))
        await in_step(system, stubborn_id, charger, 0)
        assert charger.serving is not None
        assert not charger.serving.done()
    assert refusing.password == provisioned(stubborn, OLD_SECRET)

    async with httpx.AsyncClient(verify=tls, headers=system.bearer) as http:
        page = (await http.get(f"https://127.0.0.1:{port}/metrics")).text
    seen = metrics(page)
    renewals = 'ocpp_gateway_password_renewals_total{{ocpp_version="{}",status="{}"}}'
    assert seen[renewals.format("1.6", "Accepted")] == 1
    assert seen[renewals.format("2.0.1", "Accepted")] == 1
    assert seen[renewals.format("1.6", "Rejected")] == 1
    assert seen['ocpp_gateway_logins_total{result="accepted_previous"}'] == 3
    assert seen['ocpp_gateway_logins_total{result="accepted"}'] == 2
    assert renewed["1.6"] not in page
