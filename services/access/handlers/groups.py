"""CreateGroup, AddGroupMember, RemoveGroupMember."""

from __future__ import annotations

from charger_access_client.commands import AddGroupMember, CreateGroup, RemoveGroupMember
from services.access.domain.errors import Rejected
from services.access.domain.group import Group
from services.access.domain.ids import group_aggregate_id
from services.access.domain.user import User
from services.access.handlers import lookup
from services.access.handlers.context import Context


def create_group(ctx: Context, cmd: CreateGroup) -> str:
    actor = lookup.actor(ctx)
    lookup.require_new(ctx, group_aggregate_id(cmd.group_id), "group")
    ctx.uow.add(Group.create(cmd.group_id, cmd.name, ctx.actor, False, ctx.cause))
    actor.record_membership(cmd.group_id, "owner", ctx.cause)
    return f"group {cmd.group_id} created"


def add_group_member(ctx: Context, cmd: AddGroupMember) -> str:
    group = lookup.group(ctx, cmd.group_id)
    user = lookup.user(ctx, cmd.user_id)
    if not group.is_admin(ctx.actor):
        raise Rejected("forbidden", "only the group's owner or an admin adds members")
    group.add_member(cmd.user_id, cmd.role, ctx.cause)
    user.record_membership(cmd.group_id, cmd.role, ctx.cause)
    return f"user {cmd.user_id} is {cmd.role} of group {cmd.group_id}"


def remove_group_member(ctx: Context, cmd: RemoveGroupMember) -> str:
    group = lookup.group(ctx, cmd.group_id)
    if not group.is_admin(ctx.actor):
        raise Rejected("forbidden", "only the group's owner or an admin removes members")
    group.remove_member(cmd.user_id, ctx.cause)
    user = ctx.uow.get(User, cmd.user_id)
    if user is not None:
        user.record_membership(cmd.group_id, None, ctx.cause)
    return f"user {cmd.user_id} removed from group {cmd.group_id}"
