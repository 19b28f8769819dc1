"""A simulated charge point: the `ocpp` package's `ChargePoint` (1.6 or 2.0.1) that keeps a
local list as a real charger would, and hands every frame the gateway sends it to a check
(the tests pass the OCPP schemas' validator, `tests/ocpp_schemas.py`). The end-to-end
tests, `make faults` and `make bench` connect these to the real gateway."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.typing import Subprotocol

Check = Callable[[str, str, dict[str, Any]], None]
"""(OCPP version, schema name, payload) → raises when the payload breaks the schema."""

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


@dataclass
class Kept:
    """What a charger keeps across its connections: its list, and what it was sent."""

    check: Check | None = None
    per_message: int | None = None
    """What it answers for `SendLocalListMaxLength` / `ItemsPerMessage` (None: unknown)."""
    refuse_differentials: int = 0
    """Answer VersionMismatch to this many Differentials (then accept again)."""
    password: str | None = None
    """The Basic password it was last given (`AuthorizationKey` / `BasicAuthPassword`)."""
    refuse_password: bool = False
    """Answer Rejected when given a new password (keep the old one)."""
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_version: int = 0
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every CALL the gateway sent it: (action, payload)."""
    schema_errors: list[str] = field(default_factory=list)
    validated: int = 0
    applied: asyncio.Event = field(default_factory=asyncio.Event)

    def statuses(self) -> dict[str, str]:
        return {key: info["status"] for key, info in self.entries.items()}


class Recording:
    """What both versions share: the list, what arrived, and waiting for a state."""

    version: str
    list_key: Callable[[dict[str, Any]], str]
    info_key: str
    version_key: str

    kept: Kept
    serving: asyncio.Task[None] | None = None
    """Reads the connection; it ends (with ConnectionClosed) when the gateway hangs up."""

    def _begin(self, kept: Kept) -> None:
        self.kept = kept
        self._raw: dict[str, dict[str, Any]] = {}
        self._ours: dict[str, str] = {}

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return self.kept.entries

    @property
    def list_version(self) -> int:
        return self.kept.list_version

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return self.kept.calls

    @property
    def schema_errors(self) -> list[str]:
        return self.kept.schema_errors

    @property
    def validated(self) -> int:
        return self.kept.validated

    def statuses(self) -> dict[str, str]:
        return self.kept.statuses()

    async def route_message(self, raw_msg: str) -> None:  # the library's hook
        message = json.loads(raw_msg)
        if message[0] == 2:
            self.kept.calls.append((message[2], message[3]))
            self._raw[message[1]] = message[3]
            suffix = "" if self.version == "1.6" else "Request"
            self._check(message[2] + suffix, message[3])
        elif message[0] == 3 and message[1] in self._ours:
            self._check(self._ours[message[1]] + "Response", message[2])
        await super().route_message(raw_msg)  # type: ignore[misc]

    def _check(self, schema: str, payload: dict[str, Any]) -> None:
        kept = self.kept
        if kept.check is None:
            return
        try:
            kept.check(self.version, schema, payload)
            kept.validated += 1
        except Exception as error:  # the check's own exception type
            kept.schema_errors.append(f"{schema} {payload}: {error}")

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        if frame[0] == 2:
            self._ours[frame[1]] = frame[2]
        await super()._send(message)  # type: ignore[misc]

    def _take_password(self, password: str) -> str:
        self.kept.applied.set()
        if self.kept.refuse_password:
            return "Rejected"
        self.kept.password = password
        return "Accepted"

    def _apply(self, unique_id: str) -> str:
        request, kept = self._raw.pop(unique_id), self.kept
        if request["updateType"] == "Differential" and kept.refuse_differentials:
            kept.refuse_differentials -= 1
            return "VersionMismatch"
        if request["updateType"] == "Full":
            kept.entries.clear()
        for entry in request.get("localAuthorizationList", []):
            if self.info_key in entry:
                kept.entries[self.list_key(entry)] = entry[self.info_key]
            else:
                kept.entries.pop(self.list_key(entry), None)
        kept.list_version = request[self.version_key]
        kept.applied.set()
        return "Accepted"

    async def until(self, check: Callable[[], bool], within: float = 20.0) -> None:
        """Wait until `check()` holds for the charger's state."""
        async with asyncio.timeout(within):
            while True:
                self.kept.applied.clear()
                if check():
                    return
                await self.kept.applied.wait()


class Charger16(Recording, ChargePoint16):  # type: ignore[misc]
    version = "1.6"
    info_key = "idTagInfo"
    version_key = "listVersion"

    @staticmethod
    def list_key(entry: dict[str, Any]) -> str:
        return str(entry["idTag"])

    @on("SendLocalList")
    def on_send_local_list(self, call_unique_id: str, **_: Any) -> Any:
        return result16.SendLocalList(status=self._apply(call_unique_id))

    @on("GetLocalListVersion")
    def on_get_local_list_version(self) -> Any:
        return result16.GetLocalListVersion(list_version=self.list_version)

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        if self.kept.per_message is None:
            return result16.GetConfiguration(unknown_key=key or [])
        limit = {
            "key": "SendLocalListMaxLength",
            "readonly": True,
            "value": str(self.kept.per_message),
        }
        return result16.GetConfiguration(configuration_key=[limit])

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str) -> Any:
        if key != "AuthorizationKey":
            return result16.ChangeConfiguration(status="NotSupported")
        return result16.ChangeConfiguration(status=self._take_password(value))

    async def boot(self) -> Any:
        return await self.call(
            call16.BootNotification(charge_point_model="Sim", charge_point_vendor="Tests")
        )

    async def heartbeat(self) -> Any:
        return await self.call(call16.Heartbeat())

    async def status(self) -> Any:
        return await self.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status="Available")
        )

    async def authorize(self, token: str) -> str:
        answer = await self.call(call16.Authorize(id_tag=token))
        return str(answer.id_tag_info["status"])


class Charger201(Recording, ChargePoint201):  # type: ignore[misc]
    version = "2.0.1"
    info_key = "idTokenInfo"
    version_key = "versionNumber"

    @staticmethod
    def list_key(entry: dict[str, Any]) -> str:
        return f"{entry['idToken']['idToken']}/{entry['idToken']['type']}"

    @on("SendLocalList")
    def on_send_local_list(self, call_unique_id: str, **_: Any) -> Any:
        return result201.SendLocalList(status=self._apply(call_unique_id))

    @on("GetLocalListVersion")
    def on_get_local_list_version(self, **_: Any) -> Any:
        return result201.GetLocalListVersion(version_number=self.list_version)

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> Any:
        found = self.kept.per_message is not None
        return result201.GetVariables(
            get_variable_result=[
                {
                    "attributeStatus": "Accepted" if found else "UnknownVariable",
                    **({"attributeValue": str(self.kept.per_message)} if found else {}),
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "ItemsPerMessage"},
                }
            ]
        )

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]]) -> Any:
        results = []
        for asked in set_variable_data:
            known = (asked["component"]["name"], asked["variable"]["name"]) == (
                "SecurityCtrlr", "BasicAuthPassword")
            status = (self._take_password(asked["attribute_value"]) if known
                      else "UnknownVariable")
            results.append({"attributeStatus": status, "component": asked["component"],
                            "variable": asked["variable"]})
        return result201.SetVariables(set_variable_result=results)

    async def boot(self) -> Any:
        return await self.call(
            call201.BootNotification(
                charging_station={"model": "Sim", "vendor_name": "Tests"}, reason="PowerUp"
            )
        )

    async def heartbeat(self) -> Any:
        return await self.call(call201.Heartbeat())

    async def status(self) -> Any:
        return await self.call(
            call201.StatusNotification(
                timestamp=datetime.now(UTC).isoformat(),
                connector_status="Available",
                evse_id=1,
                connector_id=1,
            )
        )

    async def authorize(self, token: str) -> str:
        answer = await self.call(
            call201.Authorize(id_token={"id_token": token, "type": "ISO14443"})
        )
        return str(answer.id_token_info["status"])


Charger = Charger16 | Charger201


def basic_auth(user: str, password: str) -> tuple[str, str]:
    """The `Authorization` header of HTTP Basic authentication."""
    return ("Authorization",
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))


@asynccontextmanager
async def connected(
    url: str,
    serial: str,
    version: str,
    *,
    kept: Kept | None = None,
    password: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Charger]:
    """A charger connected at `url` + `serial`, serving until the block ends; `kept`: what
    it keeps (pass a charger's `kept` to connect the same charger again); `password`: sent
    as OCPP's security profiles 1 and 2 send it (HTTP Basic, the serial as the user);
    `tls`: the context of a `wss://` url."""
    socket = await websockets.connect(
        url + serial,
        subprotocols=[Subprotocol(SUBPROTOCOL[version])],
        additional_headers=[] if password is None else [basic_auth(serial, password)],
        ssl=tls,
    )
    kind = Charger16 if version == "1.6" else Charger201
    charger = kind(serial, socket, response_timeout=10)
    charger._begin(Kept() if kept is None else kept)
    serving = charger.serving = asyncio.create_task(charger.start())
    try:
        yield charger
    finally:
        serving.cancel()
        await socket.close()
        await asyncio.gather(serving, return_exceptions=True)
