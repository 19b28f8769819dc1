"""Loading what a command names, rejecting with `not_found` / `forbidden` in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.access.domain.access import can_manage
from services.access.domain.charger import Charger
from services.access.domain.errors import Rejected
from services.access.domain.group import Group
from services.access.domain.ids import group_aggregate_id
from services.access.domain.invitation import Invitation
from services.access.domain.user import User
from services.access.domain.windows import Window
from services.access.handlers.context import Context


def user(ctx: Context, user_id: UUID) -> User:
    found = ctx.uow.get(User, user_id)
    if found is None:
        raise Rejected("not_found", f"no user {user_id}")
    return found


def actor(ctx: Context) -> User:
    found = ctx.uow.get(User, ctx.actor)
    if found is None:
        raise Rejected("not_found", f"the actor {ctx.actor} is not a registered user")
    return found


def group(ctx: Context, group_id: UUID) -> Group:
    found = ctx.uow.get(Group, group_aggregate_id(group_id))
    if found is None:
        raise Rejected("not_found", f"no group {group_id}")
    return found


def charger(ctx: Context, charger_id: UUID) -> Charger:
    found = ctx.uow.get(Charger, charger_id)
    if found is None:
        raise Rejected("not_found", f"no charger {charger_id}")
    return found


def invitation(ctx: Context, invitation_id: UUID) -> Invitation:
    found = ctx.uow.get(Invitation, invitation_id)
    if found is None:
        raise Rejected("not_found", f"no invitation {invitation_id}")
    return found


def group_of(ctx: Context, charger: Charger) -> Group | None:
    return ctx.uow.get(Group, group_aggregate_id(charger.group_id))


def actor_manages(ctx: Context, charger: Charger) -> bool:
    """Manage rights now (the command's time): a time-bound `manage` share while in effect."""
    return can_manage(ctx.actor, charger, group_of(ctx, charger), ctx.cause.at)


class Windowed(Protocol):
    """A command that gives a share's window (InviteUser, UpdateUserAccess)."""

    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def schedule(self) -> Any: ...


def window(ctx: Context, cmd: Windowed) -> Window:
    """The window a command gives; `invalid` when it ends before it starts or already has.

    The static rules are the contract's; this one needs the command's time."""
    until = cmd.valid_until
    if until is not None and cmd.valid_from is not None and until <= cmd.valid_from:
        raise Rejected("invalid", "valid_until: must be after valid_from")
    if until is not None and until <= ctx.cause.at:
        raise Rejected("invalid", "valid_until: must be after the command's time "
                       f"({ctx.cause.at.isoformat()})")
    schedule = cmd.schedule.model_dump() if cmd.schedule is not None else None
    return Window.from_data(
        {"valid_from": cmd.valid_from, "valid_until": until, "schedule": schedule})


def managed_charger(ctx: Context, charger_id: UUID) -> Charger:
    """A charger the actor has `manage` access on, else `not_found` / `forbidden`."""
    found = charger(ctx, charger_id)
    if not actor_manages(ctx, found):
        raise Rejected("forbidden", f"you don't manage charger {charger_id}")
    return found


def require_new(ctx: Context, aggregate_id: UUID, what: str) -> None:
    if ctx.uow.exists(aggregate_id):
        raise Rejected("already_exists", f"{what} {aggregate_id} already exists")
