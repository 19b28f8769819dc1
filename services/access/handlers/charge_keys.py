"""AddChargeKey, BlockChargeKey, UnblockChargeKey, RemoveChargeKey.

Who may change a user's keys: the user, or an owner/admin of a group the user is a
member of (a fleet manager handing out cards). The group's own member list decides,
the user's mirror of memberships only says where to look.
"""

from __future__ import annotations

from uuid import UUID

from charger_access_client.commands import (
    AddChargeKey,
    BlockChargeKey,
    RemoveChargeKey,
    UnblockChargeKey,
)
from services.access.domain.charge_key import ChargeKey
from services.access.domain.errors import Rejected
from services.access.domain.group import Group
from services.access.domain.ids import charge_key_index_id, group_aggregate_id
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.handlers import lookup
from services.access.handlers.context import Context


def add_charge_key(ctx: Context, cmd: AddChargeKey) -> str:
    lookup.require_new(ctx, cmd.key_id, "charge key")
    user = lookup.user(ctx, cmd.user_id)
    _may_change_keys_of(ctx, user)
    if user.forgotten:
        raise Rejected("not_found", f"user {cmd.user_id} was forgotten")
    claim_id = charge_key_index_id(cmd.type, cmd.id_token)
    claim = ctx.uow.get(Claim, claim_id)
    if claim is not None and claim.owner_id is not None:
        raise Rejected("key_taken", f"another key has this {cmd.type} token")
    if claim is None:
        ctx.uow.add(Claim.open(claim_id, "charge_key", f"{cmd.type}:{cmd.id_token}",
                               cmd.user_id, ctx.cause))
    else:
        claim.take(cmd.user_id, ctx.cause)
    ctx.uow.add(ChargeKey.add(cmd.key_id, cmd.user_id, cmd.id_token, cmd.type, cmd.label,
                              ctx.cause))
    user.record_keys([str(cmd.key_id)], [], ctx.cause)
    return f"charge key {cmd.key_id} added for user {cmd.user_id}"


def block_charge_key(ctx: Context, cmd: BlockChargeKey) -> str:
    key = _changeable_key(ctx, cmd.key_id)
    key.block(ctx.cause)
    return f"charge key {cmd.key_id} blocked"


def unblock_charge_key(ctx: Context, cmd: UnblockChargeKey) -> str:
    key = _changeable_key(ctx, cmd.key_id)
    key.unblock(ctx.cause)
    return f"charge key {cmd.key_id} unblocked"


def remove_charge_key(ctx: Context, cmd: RemoveChargeKey) -> str:
    key = _changeable_key(ctx, cmd.key_id)
    remove_key(ctx, key, "removed")
    user = ctx.uow.get(User, key.user_id)
    if user is not None:
        user.record_keys([], [str(key.key_id)], ctx.cause)
    return f"charge key {cmd.key_id} removed"


def remove_key(ctx: Context, key: ChargeKey, reason: str) -> None:
    """The key is gone and its token free to be added again (also by ForgetUser)."""
    key.remove(reason, ctx.cause)
    claim = ctx.uow.get(Claim, charge_key_index_id(key.type, key.id_token))
    if claim is not None:
        claim.release(ctx.cause)


def _changeable_key(ctx: Context, key_id: UUID) -> ChargeKey:
    key = ctx.uow.get(ChargeKey, key_id)
    if key is None or key.removed:
        raise Rejected("not_found", f"no charge key {key_id}")
    _may_change_keys_of(ctx, lookup.user(ctx, key.user_id))
    return key


def _may_change_keys_of(ctx: Context, user: User) -> None:
    if ctx.actor == user.user_id:
        return
    for group_id in user.groups:
        group = ctx.uow.get(Group, group_aggregate_id(UUID(group_id)))
        if (group is not None and group.role_of(user.user_id) is not None
                and group.is_admin(ctx.actor)):
            return
    raise Rejected("forbidden", "only the user, or an owner/admin of a group the user is "
                   "a member of, changes the user's charge keys")
