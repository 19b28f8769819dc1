"""Response bodies of the charge-key and OCPP authorize endpoints.

The `idTagInfo` / `idTokenInfo` objects are OCPP's own (1.6 `IdTagInfo`, 2.0.1
`IdTokenInfoType`): a CSMS forwards them to the charger unchanged, so they carry only
what the OCPP JSON schemas allow, and optional fields are left out rather than null.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from charger_access_client.keys import KeyType
from services.access.api.models import NEXT_CURSOR, POSITION

AUTHORIZE_WHY = Field(
    description="Accepted: the reasons in effect now (as the check's `why`). Expired or "
    "NotAtThisTime / Invalid for a share outside its window: that share, with its window. "
    "Otherwise empty.",
    examples=[[{"source": "group:member", "group_id": "6c1f0b7e-3f7a-4c55-9a0e-"
                "2f1d7f3c9b11", "level": "charge"}]],
)
AUTHORIZE_USER = Field(description="The user the key belongs to; null for an unknown token.")
AUTHORIZE_KEY = Field(description="Extension: the key the token matched; null for an unknown "
                      "token.")


class ChargeKey(BaseModel):
    key_id: UUID
    id_token: str = Field(description="Upper case, as chargers are answered.",
                          examples=["04A2B3C4D5E6F7"])
    type: KeyType
    label: str | None = Field(description="The owner's name for the key.")
    status: Literal["active", "blocked"] = Field(
        description="`blocked`: known, and answered `Blocked` to every charger.")


class UserChargeKeys(BaseModel):
    keys: list[ChargeKey] = Field(description="The user's keys, ordered by `key_id`.")
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class Ocpp16Authorize(BaseModel):
    idTagInfo: dict[str, Any] = Field(  # noqa: N815 - OCPP's name
        description="OCPP 1.6 `IdTagInfo` for `Authorize.conf`: `status` `Accepted`, "
        "`Blocked`, `Expired` or `Invalid` (an unknown token, or a share not in effect "
        "now); `expiryDate` (UTC) when the access comes only from time-bound shares: the "
        "end of the current period.",
        examples=[{"status": "Accepted", "expiryDate": "2026-06-07T18:00:00Z"}])
    user_id: UUID | None = AUTHORIZE_USER
    key_id: UUID | None = AUTHORIZE_KEY
    why: list[dict[str, Any]] = AUTHORIZE_WHY
    position: int = POSITION


class Ocpp201Authorize(BaseModel):
    idTokenInfo: dict[str, Any] = Field(  # noqa: N815 - OCPP's name
        description="OCPP 2.0.1 `IdTokenInfoType` for `AuthorizeResponse`: `status` "
        "`Accepted`, `Blocked`, `Expired`, `NotAtThisTime` (a share not in effect now), "
        "`Invalid` (a known key whose user has no access) or `Unknown` (an unknown token); "
        "`cacheExpiryDateTime` (UTC) when the access comes only from time-bound shares: "
        "the end of the current period.",
        examples=[{"status": "Accepted", "cacheExpiryDateTime": "2026-06-07T18:00:00Z"}])
    user_id: UUID | None = AUTHORIZE_USER
    key_id: UUID | None = AUTHORIZE_KEY
    why: list[dict[str, Any]] = AUTHORIZE_WHY
    position: int = POSITION
