"""OCPP 1.6J: `idTag` without a type, `listVersion`, the per-message limit in the
`SendLocalListMaxLength` configuration key, and the Basic password in the security
whitepaper's `AuthorizationKey` key (its hex digits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.v16.enums import Action

from services.access.api.authorize import Authorization, ocpp16_id_tag_info
from services.access.domain.instants import utc_rfc3339
from services.access.local_lists.reads import ListAt
from services.ocpp_gateway.dialects import positive_int
from services.ocpp_gateway.rpc import CallRefused, OcppLink, Payload

MAX_LENGTH_KEY = "SendLocalListMaxLength"
PASSWORD_KEY = "AuthorizationKey"  # noqa: S105 - the key's name, not a password


class Ocpp16:
    subprotocol = "ocpp1.6"
    ocpp_version = "1.6"
    known_actions = frozenset(a.value for a in Action)

    def boot_answer(self, now: datetime, interval: int) -> Payload:
        return {"status": "Accepted", "currentTime": utc_rfc3339(now), "interval": interval}

    def heartbeat_answer(self, now: datetime) -> Payload:
        return {"currentTime": utc_rfc3339(now)}

    def shown_token(self, request: Payload) -> tuple[str, str | None]:
        return str(request["idTag"]), None

    def authorize_answer(self, decision: Authorization) -> Payload:
        return {"idTagInfo": ocpp16_id_tag_info(decision)}

    def list_version(self, answer: Payload) -> int:
        return int(answer["listVersion"])

    def full_request(self, found: ListAt) -> Payload:
        return found.ocpp16()

    def change_request(self, data: dict[str, Any]) -> Payload:
        return dict(data["ocpp16"])

    async def items_per_message(self, link: OcppLink) -> int | None:
        try:
            answer = await link.call("GetConfiguration", {"key": [MAX_LENGTH_KEY]})
        except CallRefused:
            return None
        for entry in answer.get("configurationKey", []):
            if entry.get("key") == MAX_LENGTH_KEY:
                return positive_int(entry.get("value"))
        return None

    def password_request(self, password: str) -> tuple[str, Payload]:
        return "ChangeConfiguration", {"key": PASSWORD_KEY, "value": password}

    def password_status(self, answer: Payload) -> str:
        return str(answer["status"])
