"""The three everyday questions: may U use C, which chargers may U use, who may use C."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from charger_access_client.text import Level
from services.access.api.consistency import Position
from services.access.api.context import Context
from services.access.api.models import AccessCheck, ChargerUsers, UserChargers
from services.access.api.moment import at_moment, listed
from services.access.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    list_answer,
    uuid_after,
)
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
    """Chargers the user may use, with the level and every reason, ordered by id; whether
    that access is in effect now (a time-bound share may not be)."""
    page = await context.access.chargers_of_user(user_id, uuid_after(cursor), limit)
    return list_answer(UserChargers, "chargers", _as_of_now(page), position, "unknown user")


@router.get("/v1/chargers/{charger_id}/users", response_model=ChargerUsers)
async def users_of_charger(
    charger_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ChargerUsers:
    """Users who may use the charger, with the level and every reason, ordered by id; whether
    that access is in effect now (a time-bound share may not be)."""
    page = await context.access.users_of_charger(charger_id, uuid_after(cursor), limit)
    return list_answer(ChargerUsers, "users", _as_of_now(page), position, "unknown charger")


def _as_of_now(page: Page[dict[str, Any]] | None) -> Page[dict[str, Any]] | None:
    if page is None:
        return None
    now = datetime.now(UTC)
    return Page([listed(entry, now) for entry in page.items], page.next_cursor)


@router.get("/v1/access/check", response_model=AccessCheck)
async def check_access(
    user_id: Annotated[UUID, Query()],
    charger_id: Annotated[UUID, Query()],
    context: Context,
    position: Position,
    level: Annotated[Level, Query(description="The level asked for.")] = "charge",
    at: Annotated[
        AwareDatetime | None,
        Query(description="The moment to answer for (RFC 3339 with an offset), on the "
              "current state; default now. A time-bound share counts only when in effect "
              "then."),
    ] = None,
) -> AccessCheck:
    """Whether the user may use the charger at `level` at the moment `at` (default now);
    unknown ids are simply not allowed. `upcoming` names a share not in effect then."""
    effective = await context.access.effective(user_id, charger_id)
    answer, why, upcoming = effective.level, effective.why, None
    if effective.timebound:
        moment = at_moment(effective.why, at or datetime.now(UTC))
        answer, why, upcoming = moment.level, moment.why, moment.upcoming
    allowed = answer is not None and LEVELS[answer] >= LEVELS[level]
    return AccessCheck.model_validate({"allowed": allowed, "level": answer, "why": why,
                                       "upcoming": upcoming, "position": position})
