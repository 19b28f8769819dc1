"""The three everyday questions: may U use C, which chargers may U use, who may use C."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from events.text import Level
from services.access.api.consistency import Position
from services.access.api.context import Context
from services.access.api.models import AccessCheck, ChargerUsers, UserChargers
from services.access.api.pagination import DEFAULT_LIMIT, Cursor, Limit, list_answer, uuid_after
from services.access.domain.access import LEVELS

router = APIRouter(tags=["access"])


@router.get("/v1/users/{user_id}/chargers", response_model=UserChargers)
async def chargers_of_user(
    user_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> UserChargers:
    """Chargers the user may use, with the level and every reason, ordered by id."""
    page = await context.access.chargers_of_user(user_id, uuid_after(cursor), limit)
    return list_answer(UserChargers, "chargers", page, position, "unknown user")


@router.get("/v1/chargers/{charger_id}/users", response_model=ChargerUsers)
async def users_of_charger(
    charger_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ChargerUsers:
    """Users who may use the charger, with the level and every reason, ordered by id."""
    page = await context.access.users_of_charger(charger_id, uuid_after(cursor), limit)
    return list_answer(ChargerUsers, "users", page, position, "unknown charger")


@router.get("/v1/access/check", response_model=AccessCheck)
async def check_access(
    user_id: Annotated[UUID, Query()],
    charger_id: Annotated[UUID, Query()],
    context: Context,
    position: Position,
    level: Annotated[Level, Query(description="The level asked for.")] = "charge",
) -> AccessCheck:
    """Whether the user may use the charger at `level`; unknown ids are simply not allowed."""
    effective = await context.access.effective(user_id, charger_id)
    allowed = effective.level is not None and LEVELS[effective.level] >= LEVELS[level]
    return AccessCheck.model_validate(
        {"allowed": allowed, "level": effective.level, "why": effective.why, "position": position}
    )
