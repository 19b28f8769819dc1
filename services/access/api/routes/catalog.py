"""Chargers, groups and invitations as the read models know them, and a charger's history."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.access.api.consistency import Position
from services.access.api.context import Context
from services.access.api.errors import NotFoundError
from services.access.api.models import Charger, ChargerHistory, Group, GroupChargers, Invitation
from services.access.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    int_after,
    list_answer,
    uuid_after,
)

router = APIRouter()


@router.get("/v1/chargers/{charger_id}", response_model=Charger, tags=["chargers"])
async def get_charger(charger_id: UUID, context: Context, position: Position) -> Charger:
    """The charger's group, owner and cloud connection."""
    charger = await context.chargers.get(charger_id)
    if charger is None:
        raise NotFoundError("unknown charger", position=position)
    return Charger.model_validate({**charger, "position": position})


@router.get("/v1/chargers/{charger_id}/history", response_model=ChargerHistory, tags=["chargers"])
async def charger_history(
    charger_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ChargerHistory:
    """The charger's audit timeline, oldest first: registration, moves, transfers, shares,
    invitations."""
    page = await context.chargers.history(charger_id, int_after(cursor), limit)
    return list_answer(ChargerHistory, "events", page, position, "unknown charger")


@router.get("/v1/groups/{group_id}", response_model=Group, tags=["groups"])
async def get_group(
    group_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Group:
    """The group with one page of its members and roles, and how many chargers it has."""
    found = await context.groups.get(group_id, uuid_after(cursor), limit)
    if found is None:
        raise NotFoundError("unknown group", position=position)
    group, members = found
    return Group.model_validate(
        {
            **group,
            "members": members.items,
            "next_cursor": members.next_cursor,
            "position": position,
        }
    )


@router.get("/v1/groups/{group_id}/chargers", response_model=GroupChargers, tags=["groups"])
async def chargers_of_group(
    group_id: UUID,
    context: Context,
    position: Position,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> GroupChargers:
    """The chargers in the group, ordered by id."""
    page = await context.groups.chargers(group_id, uuid_after(cursor), limit)
    return list_answer(GroupChargers, "chargers", page, position, "unknown group")


@router.get("/v1/invitations/{invitation_id}", response_model=Invitation, tags=["invitations"])
async def get_invitation(invitation_id: UUID, context: Context, position: Position) -> Invitation:
    """Status, chargers, level, expiry and the window of the shares it grants. Never the
    token: it exists nowhere in plaintext."""
    invitation = await context.invitations.get(invitation_id)
    if invitation is None:
        raise NotFoundError("unknown invitation", position=position)
    return Invitation.model_validate({**invitation, "position": position})
