"""Response bodies of the local-list endpoints.

`request` is OCPP's own message (1.6 `SendLocalList.req`, 2.0.1 `SendLocalListRequest`):
a CSMS sends it to the charger unchanged, so it carries only what the OCPP JSON schemas
allow.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.access.api.models import POSITION

LIST_CHARGER = Field(description="The charger the list is for.")
LIST_VERSION = Field(
    description="The list's current version: 1 when the charger was registered, +1 for "
    "every change of its content. Send it as the charger's list version.", examples=[7])


class Ocpp16LocalList(BaseModel):
    charger_id: UUID = LIST_CHARGER
    version: int = LIST_VERSION
    position: int = POSITION
    request: dict[str, Any] = Field(
        description="OCPP 1.6 `SendLocalList.req`. `Full` without `since_version`, or "
        "when that version is not one the charger can hold (below 1 or above `version`); "
        "else `Differential`: each token added or changed with its `idTagInfo`, each token "
        "gone without one (none at all when `since_version` is `version`). One entry per "
        "token: when keys of several types share a token, an ISO14443 key's answer wins. "
        "`expiryDate` (UTC) ends the current period of access coming only from time-bound "
        "shares.",
        examples=[{"listVersion": 7, "updateType": "Differential", "localAuthorizationList": [
            {"idTag": "04A2B3C4", "idTagInfo": {"status": "Accepted",
                                                "expiryDate": "2026-06-07T18:00:00Z"}},
            {"idTag": "0BADCAFE"}]}])


class Ocpp201LocalList(BaseModel):
    charger_id: UUID = LIST_CHARGER
    version: int = LIST_VERSION
    position: int = POSITION
    request: dict[str, Any] = Field(
        description="OCPP 2.0.1 `SendLocalListRequest`. `Full` without `since_version`, "
        "or when that version is not one the charger can hold (below 1 or above "
        "`version`); else `Differential`: each key added or changed with its "
        "`idTokenInfo`, each key gone without one. `localAuthorizationList` is left out "
        "when empty (the schema wants at least one entry). `cacheExpiryDateTime` (UTC) "
        "ends the current period of access coming only from time-bound shares.",
        examples=[{"versionNumber": 7, "updateType": "Differential", "localAuthorizationList": [
            {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"},
             "idTokenInfo": {"status": "Blocked"}},
            {"idToken": {"idToken": "0BADCAFE", "type": "KeyCode"}}]}])
