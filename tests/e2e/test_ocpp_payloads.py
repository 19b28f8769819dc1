"""Every OCPP payload the real processes produce, checked against the OCPP 1.6 and 2.0.1
JSON schemas of the `ocpp` package and against what the commands sent should make of it.

Commands go in over Kafka to the system `make run` starts; the answers are read where a
CSMS reads them: the authorize endpoints, the local-list endpoints (Full, and Differential
since every version seen) and the `access.local-lists` topic. The expected statuses and
versions are written out here from SPEC's rules, step by step, not computed by the
service's code: one charger, an owner, a guest invited by e-mail, three time-windowed
shares (in effect, not yet, ending during the test) and a stranger with a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from aiokafka import AIOKafkaConsumer

from tests.e2e.conftest import System
from tests.e2e.test_invite_flow import body_text
from tests.e2e.test_source_flows import accepted, register, wait_mails
from tests.kafka_helpers import CommandClient
from tests.ocpp_schemas import validate, validate_id_tag_info, validate_id_token_info

pytestmark = pytest.mark.e2e

LISTS = {"1.6": "SendLocalList", "2.0.1": "SendLocalListRequest"}
STATUS_16 = {"Unknown": "Invalid", "NotAtThisTime": "Invalid"}
"""SPEC: OCPP 1.6 has neither status and answers Invalid for both."""
ENDING_IN = timedelta(seconds=12)
"""How far ahead the ending share's window closes: past the steps before it are checked,
even on a loaded machine (4 s was not, with other work on both cores)."""


@dataclass(frozen=True)
class Card:
    token: str
    type: str
    user: uuid.UUID | None
    """None: a token no key has."""


@dataclass(frozen=True)
class Told:
    """What a charger should be told of a card: the 2.0.1 status of authorize, and its
    local-list entry (None: not on the list; else its status and expiry)."""

    status: str
    listed: str | None = None
    expiry: datetime | None = None


@dataclass
class Seen:
    """The Full lists read at each checkpoint, by version; the topic's records."""

    fulls: dict[int, dict[str, dict[Any, Any]]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def info_of(data: dict[str, Any]) -> tuple[str, datetime | None]:
    """An `idTagInfo` / `idTokenInfo` as (status, expiry)."""
    expiry = data.get("expiryDate") or data.get("cacheExpiryDateTime")
    return data["status"], None if expiry is None else instant(expiry)


def entries(version: str, request: dict[str, Any]) -> dict[Any, Any]:
    """A SendLocalList's entries as a charger reads them: key -> (status, expiry), or None
    for a removal."""
    if version == "1.6":
        return {e["idTag"]: info_of(e["idTagInfo"]) if "idTagInfo" in e else None
                for e in request["localAuthorizationList"]}
    return {(e["idToken"]["idToken"], e["idToken"]["type"]):
            info_of(e["idTokenInfo"]) if "idTokenInfo" in e else None
            for e in request.get("localAuthorizationList", [])}


def applied(held: dict[Any, Any], changes: dict[Any, Any]) -> dict[Any, Any]:
    result = dict(held)
    for key, info in changes.items():
        if info is None:
            result.pop(key, None)
        else:
            result[key] = info
    return result


def expected_lists(told: dict[Card, Told]) -> dict[str, dict[Any, Any]]:
    listed = {card: (t.listed, t.expiry) for card, t in told.items() if t.listed is not None}
    return {"1.6": {card.token: info for card, info in listed.items()},
            "2.0.1": {(card.token, card.type): info for card, info in listed.items()}}


async def authorize(http: Any, charger: uuid.UUID, card: Card, position: int) -> dict[str, Any]:
    """Both versions' answers for the card, schema-checked, as (status, expiry) each."""
    answer16 = await http.get("/v1/ocpp/1.6/authorize", params={
        "charger_id": str(charger), "id_tag": card.token.lower(), "min_position": position})
    answer201 = await http.get("/v1/ocpp/2.0.1/authorize", params={
        "charger_id": str(charger), "id_token": card.token, "type": card.type,
        "min_position": position})
    assert answer16.status_code == answer201.status_code == 200, (answer16.text, answer201.text)
    body16, body201 = answer16.json(), answer201.json()
    validate_id_tag_info(body16["idTagInfo"])
    validate_id_token_info(body201["idTokenInfo"])
    user = None if card.user is None else str(card.user)
    assert body16["user_id"] == body201["user_id"] == user, (card, body16, body201)
    return {"1.6": info_of(body16["idTagInfo"]), "2.0.1": info_of(body201["idTokenInfo"])}


async def local_list(http: Any, charger: uuid.UUID, version: str, position: int,
                     since: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"min_position": position}
    if since is not None:
        params["since_version"] = since
    response = await http.get(f"/v1/chargers/{charger}/local-list/{version}", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    validate(version, LISTS[version], body["request"])
    number = body["request"]["listVersion" if version == "1.6" else "versionNumber"]
    assert number == body["version"]
    return body


async def checkpoint(system: System, charger: uuid.UUID, position: int, version: int,
                     told: dict[Card, Told], seen: Seen) -> None:
    """Authorize answers and Full lists after the commands up to `position`."""
    async with system.http() as http:
        for card, expected in told.items():
            answers = await authorize(http, charger, card, position)
            expiry = expected.expiry if expected.status == "Accepted" else None
            assert answers["2.0.1"] == (expected.status, expiry), (card, answers)
            assert answers["1.6"] == (STATUS_16.get(expected.status, expected.status),
                                      expiry), (card, answers)
        fulls = {}
        for kind in LISTS:
            body = await local_list(http, charger, kind, position)
            assert body["request"]["updateType"] == "Full"
            assert body["version"] == version, (kind, body["version"], version)
            fulls[kind] = entries(kind, body["request"])
    assert fulls == expected_lists(told)
    seen.fulls[version] = fulls


@contextlib.asynccontextmanager
async def following(system: System, charger: uuid.UUID, seen: Seen) -> AsyncIterator[None]:
    """Collect the charger's `LocalListChanged` records from the real topic while the
    block runs."""
    consumer = AIOKafkaConsumer(system.topics.local_lists, bootstrap_servers=system.kafka,
                                group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()

    async def collect() -> None:
        async for record in consumer:
            if record.key == str(charger).encode():
                seen.records.append(json.loads(record.value))
                seen.arrived.set()

    task = asyncio.create_task(collect())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


async def published(seen: Seen, version: int, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not any(r["data"]["version"] >= version for r in seen.records):
            seen.arrived.clear()
            await seen.arrived.wait()


async def invite_and_accept(system: System, commands: CommandClient, owner: uuid.UUID,
                            guest: uuid.UUID, email: str, charger: uuid.UUID) -> dict[str, Any]:
    invitation = uuid.uuid4()
    await accepted(commands, "InviteUser", owner, invitation_id=invitation, email=email,
                   charger_ids=[str(charger)])
    [mail] = await wait_mails(system, email, 1)
    link = re.search(r"https://charge\.example/invitations/\S+", body_text(mail))
    assert link is not None
    token = parse_qs(urlparse(link.group(0)).query)["token"][0]
    return await accepted(commands, "AcceptInvitation", guest, invitation_id=invitation,
                          token=token)


async def add_key(commands: CommandClient, user: uuid.UUID, token: str,
                  type_: str = "ISO14443") -> tuple[Card, uuid.UUID]:
    key_id = uuid.uuid4()
    await accepted(commands, "AddChargeKey", user, key_id=key_id, user_id=user,
                   id_token=token.lower(), type=type_)
    return Card(token, type_, user), key_id


async def share(commands: CommandClient, owner: uuid.UUID, user: uuid.UUID,
                charger: uuid.UUID, **window: datetime) -> dict[str, Any]:
    return await accepted(commands, "UpdateUserAccess", owner, user_id=user,
                          charger_ids=[str(charger)], level="charge",
                          **{name: at.isoformat() for name, at in window.items()})


async def test_every_ocpp_payload_validates_and_tells_what_the_commands_made(
        system: System, commands: CommandClient) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    owner, _ = await register(commands)
    guest, guest_email = await register(commands, locale="en")
    lasting, later, ending, stranger = [(await register(commands))[0] for _ in range(4)]
    own, _ = await add_key(commands, owner, f"OWN{tag}")
    charger = uuid.uuid4()
    seen = Seen()
    async with following(system, charger, seen):
        # v1: the charger, listing its owner's key.
        await accepted(commands, "RegisterCharger", owner, charger_id=charger,
                       serial_number=f"OCPP-{charger.hex[:12]}")
        # Keys of people without access yet change no list.
        card, _ = await add_key(commands, guest, f"CARD{tag}")
        fob, fob_id = await add_key(commands, guest, f"FOB{tag}", "KeyCode")
        lasting_card, _ = await add_key(commands, lasting, f"LAST{tag}")
        later_card, _ = await add_key(commands, later, f"LATER{tag}")
        ending_card, _ = await add_key(commands, ending, f"END{tag}")
        # v2: the guest accepts the e-mailed invitation (both keys at once).
        await invite_and_accept(system, commands, owner, guest, guest_email, charger)
        # v3: a share in effect until a set end; a share not yet in effect: no version.
        now = whole_second(datetime.now(UTC))
        lasting_until = now + timedelta(hours=2)
        await share(commands, owner, lasting, charger, valid_until=lasting_until)
        await share(commands, owner, later, charger, valid_from=now + timedelta(hours=1),
                    valid_until=now + timedelta(hours=3))
        # A stranger's key: on no list.
        stranger_card, _ = await add_key(commands, stranger, f"STR{tag}")
        # v4: a share ending a few seconds from now.
        ending_at = whole_second(datetime.now(UTC) + ENDING_IN)
        result = await share(commands, owner, ending, charger, valid_until=ending_at)
        told = {
            own: Told("Accepted", "Accepted"),
            card: Told("Accepted", "Accepted"),
            fob: Told("Accepted", "Accepted"),
            lasting_card: Told("Accepted", "Accepted", lasting_until),
            later_card: Told("NotAtThisTime"),
            ending_card: Told("Accepted", "Accepted", ending_at),
            stranger_card: Told("Invalid"),
            Card(f"NONE{tag}", "ISO14443", None): Told("Unknown"),
        }
        await checkpoint(system, charger, result["position"], 4, told, seen)
        assert datetime.now(UTC) < ending_at, "the steps before the share's end took too long"

        # v5: a blocked key stays on the list, as Blocked.
        result = await accepted(commands, "BlockChargeKey", guest, key_id=fob_id)
        told[fob] = Told("Blocked", "Blocked")
        await checkpoint(system, charger, result["position"], 5, told, seen)

        # v6: the owner removes the guest: both keys leave the list; the blocked one
        # still answers Blocked, the other Invalid (a known key without access).
        result = await accepted(commands, "RemoveUser", owner, user_id=guest)
        told[card] = Told("Invalid")
        told[fob] = Told("Blocked")
        await checkpoint(system, charger, result["position"], 6, told, seen)

        # v7: the ending share's boundary, appended by the scheduler: Expired, unlisted.
        await published(seen, 7, timeout=ENDING_IN.total_seconds() + 20)
        [boundary] = [r for r in seen.records if r["data"]["version"] == 7][:1]
        told[ending_card] = Told("Expired")
        async with system.http() as http:
            position = (await http.get("/v1/access/check", params={
                "user_id": str(ending), "charger_id": str(charger)})).json()["position"]
        await checkpoint(system, charger, position, 7, told, seen)
        assert instant(boundary["time"]) >= ending_at

    # Each LocalListChanged: schema-valid, once per version in order (re-sends aside),
    # and the Differentials applied in order give the Full list.
    first: dict[int, dict[str, Any]] = {}
    for record in seen.records:
        data = record["data"]
        assert record["type"] == "LocalListChanged"
        assert record["subject"] == data["charger_id"] == str(charger)
        validate("1.6", "SendLocalList", data["ocpp16"])
        validate("2.0.1", "SendLocalListRequest", data["ocpp201"])
        assert data["ocpp16"]["updateType"] == data["ocpp201"]["updateType"] == "Differential"
        assert data["ocpp16"]["listVersion"] == data["ocpp201"]["versionNumber"] == data["version"]
        assert data["previous_version"] == data["version"] - 1
        if data["version"] in first:
            assert first[data["version"]] == data, "a re-sent version must be the same"
        first.setdefault(data["version"], data)
    assert list(first) == list(range(1, 8))
    final = seen.fulls[7]
    for kind, payload in (("1.6", "ocpp16"), ("2.0.1", "ocpp201")):
        held: dict[Any, Any] = {}
        for version in range(1, 8):
            held = applied(held, entries(kind, first[version][payload]))
            if version in seen.fulls:
                assert held == seen.fulls[version][kind], (kind, version)
        assert held == final[kind]

    # Differentials over the API, since every version: schema-valid, and applied to
    # that version's Full list they give the current one.
    async with system.http() as http:
        for kind in LISTS:
            held = {}
            for since in range(1, 8):
                held = applied(held, entries(kind, first[since][
                    "ocpp16" if kind == "1.6" else "ocpp201"]))
                body = await local_list(http, charger, kind, position, since=since)
                assert body["request"]["updateType"] == "Differential"
                assert body["version"] == 7
                assert applied(held, entries(kind, body["request"])) == final[kind], (kind, since)
            assert entries(kind, body["request"]) == {}, "since the current version: nothing"
