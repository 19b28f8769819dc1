"""OCPP 2.0.1: typed `idToken`, `versionNumber`, the per-message limit in the
`LocalAuthListCtrlr.ItemsPerMessage` variable, and the Basic password in
`SecurityCtrlr.BasicAuthPassword`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.v201.enums import Action

from services.access.api.authorize import Authorization, ocpp201_id_token_info
from services.access.domain.instants import utc_rfc3339
from services.access.local_lists.reads import ListAt
from services.ocpp_gateway.dialects import positive_int
from services.ocpp_gateway.rpc import CallRefused, OcppLink, Payload

ITEMS_PER_MESSAGE = {
    "component": {"name": "LocalAuthListCtrlr"},
    "variable": {"name": "ItemsPerMessage"},
}

BASIC_AUTH_PASSWORD = {
    "component": {"name": "SecurityCtrlr"},
    "variable": {"name": "BasicAuthPassword"},
}


class Ocpp201:
    subprotocol = "ocpp2.0.1"
    ocpp_version = "2.0.1"
    known_actions = frozenset(a.value for a in Action)

    def boot_answer(self, now: datetime, interval: int) -> Payload:
        return {"status": "Accepted", "currentTime": utc_rfc3339(now), "interval": interval}

    def heartbeat_answer(self, now: datetime) -> Payload:
        return {"currentTime": utc_rfc3339(now)}

    def shown_token(self, request: Payload) -> tuple[str, str | None]:
        token = request["idToken"]
        return str(token["idToken"]), str(token["type"])

    def authorize_answer(self, decision: Authorization) -> Payload:
        return {"idTokenInfo": ocpp201_id_token_info(decision)}

    def list_version(self, answer: Payload) -> int:
        return int(answer["versionNumber"])

    def full_request(self, found: ListAt) -> Payload:
        return found.ocpp201()

    def change_request(self, data: dict[str, Any]) -> Payload:
        return dict(data["ocpp201"])

    async def items_per_message(self, link: OcppLink) -> int | None:
        try:
            answer = await link.call("GetVariables", {"getVariableData": [ITEMS_PER_MESSAGE]})
        except CallRefused:
            return None
        for result in answer.get("getVariableResult", []):
            if result.get("attributeStatus") == "Accepted":
                return positive_int(result.get("attributeValue"))
        return None

    def password_request(self, password: str) -> tuple[str, Payload]:
        return "SetVariables", {"setVariableData": [
            {"attributeType": "Actual", "attributeValue": password, **BASIC_AUTH_PASSWORD}]}

    def password_status(self, answer: Payload) -> str:
        # The link checked the answer against its schema: one result at least, with a status.
        return str(answer["setVariableResult"][0]["attributeStatus"])
