"""A user's charge keys, and OCPP `Authorize` answered online from the read models.

A charger is shown a token, not a user: the token names a key, the key its user, and the
user's access row on the charger decides, at the moment asked, exactly as the check does
(`api/authorize.py`). A CSMS forwards `idTagInfo` / `idTokenInfo` to the charger as is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from charger_access_client.keys import normalise_id_token
from services.access.api.authorize import (
    Authorization,
    authorize,
    ocpp16_id_tag_info,
    ocpp201_id_token_info,
)
from services.access.api.consistency import Position
from services.access.api.context import Context
from services.access.api.errors import NotFoundError
from services.access.api.key_models import Ocpp16Authorize, Ocpp201Authorize, UserChargeKeys
from services.access.api.pagination import DEFAULT_LIMIT, Cursor, Limit, list_answer, uuid_after
from services.access.api.repositories.charge_keys import ShownKey

router = APIRouter()

IdTokenType201 = Annotated[
    str,
    Query(alias="type", pattern="^(Central|eMAID|ISO14443|ISO15693|KeyCode|Local|MacAddress|"
          "NoAuthorization)$",
          description="OCPP 2.0.1 `IdTokenEnumType` of the token; a type no key can have "
          "(`Central`, `NoAuthorization`) is simply `Unknown`."),
]


@router.get("/v1/users/{user_id}/charge-keys", response_model=UserChargeKeys,
            tags=["charge keys"])
async def charge_keys_of_user(
    user_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> UserChargeKeys:
    """The user's live charge keys (removed ones are gone), ordered by id."""
    page = await context.keys.keys_of_user(user_id, uuid_after(cursor), limit)
    return list_answer(UserChargeKeys, "keys", page, position, "unknown user")


@router.get("/v1/ocpp/1.6/authorize", response_model=Ocpp16Authorize, tags=["ocpp"])
async def authorize_16(
    charger_id: Annotated[UUID, Query(description="The charger the token was shown to.")],
    id_tag: Annotated[str, Query(min_length=1, max_length=20,
                                 description="OCPP 1.6 `idTag` (compared case-insensitively; "
                                 "a key of any type matches, an ISO14443 one first).")],
    context: Context,
    position: Position,
) -> Ocpp16Authorize:
    """OCPP 1.6 `Authorize.conf`'s `idTagInfo` for the token shown to the charger, now."""
    key, decision = await _decide(context, charger_id, id_tag, None, position)
    return Ocpp16Authorize.model_validate({
        "idTagInfo": ocpp16_id_tag_info(decision), **_backing(key, decision),
        "position": position})


@router.get("/v1/ocpp/2.0.1/authorize", response_model=Ocpp201Authorize, tags=["ocpp"])
async def authorize_201(
    charger_id: Annotated[UUID, Query(description="The charger the token was shown to.")],
    id_token: Annotated[str, Query(min_length=1, max_length=36,
                                   description="OCPP 2.0.1 `idToken.idToken` (compared "
                                   "case-insensitively).")],
    key_type: IdTokenType201,
    context: Context,
    position: Position,
) -> Ocpp201Authorize:
    """OCPP 2.0.1 `AuthorizeResponse`'s `idTokenInfo` for the token shown to the charger,
    now."""
    key, decision = await _decide(context, charger_id, id_token, key_type, position)
    return Ocpp201Authorize.model_validate({
        "idTokenInfo": ocpp201_id_token_info(decision), **_backing(key, decision),
        "position": position})


async def _decide(context: Context, charger_id: UUID, token: str, key_type: str | None,
                  position: int) -> tuple[ShownKey | None, Authorization]:
    if await context.chargers.get(charger_id) is None:
        raise NotFoundError("unknown charger", position=position)
    key = await context.keys.shown(normalise_id_token(token), key_type)
    if key is None or key.blocked:
        return key, authorize(None if key is None else True, None, datetime.now(UTC))
    effective = await context.access.effective(key.user_id, charger_id)
    return key, authorize(False, effective.why, datetime.now(UTC))


def _backing(key: ShownKey | None, decision: Authorization) -> dict[str, object]:
    return {"user_id": None if key is None else key.user_id,
            "key_id": None if key is None else key.key_id,
            "why": list(decision.why)}
