"""RegisterUser: a new person, their personal group, and their unique e-mail and phone."""

from __future__ import annotations

from uuid import UUID

from charger_access_client.commands import ForgetUser, RegisterUser
from charger_access_client.envelope import Reason
from services.access.domain.charge_key import ChargeKey
from services.access.domain.errors import Rejected
from services.access.domain.group import Group
from services.access.domain.ids import email_index_id, group_aggregate_id, phone_index_id
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.handlers import lookup
from services.access.handlers.charge_keys import remove_key
from services.access.handlers.context import Context
from services.access.handlers.lookup import require_new


def register_user(ctx: Context, cmd: RegisterUser) -> str:
    require_new(ctx, cmd.user_id, "user")
    require_new(ctx, group_aggregate_id(cmd.user_id), "group")
    email = _free_claim(ctx, email_index_id(cmd.email), "email_taken", "e-mail address")
    phone = (_free_claim(ctx, phone_index_id(cmd.phone), "phone_taken", "phone number")
             if cmd.phone is not None else None)
    _take(ctx, email, email_index_id(cmd.email), "email", cmd.email.lower(), cmd.user_id)
    if cmd.phone is not None:
        _take(ctx, phone, phone_index_id(cmd.phone), "phone", cmd.phone, cmd.user_id)
    user = User.register(cmd.user_id, cmd.email, cmd.phone, cmd.name, cmd.locale, ctx.cause)
    user.record_membership(cmd.user_id, "owner", ctx.cause)
    ctx.uow.add(user)
    ctx.uow.add(Group.create(cmd.user_id, cmd.name or cmd.email, cmd.user_id, True, ctx.cause))
    return f"user {cmd.user_id} registered"


def _free_claim(ctx: Context, claim_id: UUID, reason: Reason, what: str) -> Claim | None:
    """The key's claim if it exists but is free (e.g. released by a forgotten user)."""
    claim = ctx.uow.get(Claim, claim_id)
    if claim is not None and claim.owner_id is not None:
        raise Rejected(reason, f"another user has this {what}")
    return claim


def _take(ctx: Context, claim: Claim | None, claim_id: UUID, kind: str, key: str,
          owner: UUID) -> None:
    if claim is None:
        ctx.uow.add(Claim.open(claim_id, kind, key, owner, ctx.cause))
    else:
        claim.take(owner, ctx.cause)


def forget_user(ctx: Context, cmd: ForgetUser) -> str:
    user = lookup.user(ctx, cmd.user_id)
    if str(ctx.actor) != str(cmd.user_id) and str(ctx.actor) not in ctx.rules.operators:
        raise Rejected("forbidden", "only the user themselves or an operator may")
    if user.forgotten:
        return f"user {cmd.user_id} was already forgotten"
    keys = [cmd.user_id, email_index_id(user.email)]
    for claim_id in keys[1:] + ([phone_index_id(user.phone)] if user.phone else []):
        claim = ctx.uow.get(Claim, claim_id)
        if claim is not None:
            claim.release(ctx.cause)
    _remove_keys(ctx, user)
    user.forget(ctx.cause)
    ctx.forgetting.forget(cmd.user_id, keys)
    return f"personal data of user {cmd.user_id} forgotten"


def _remove_keys(ctx: Context, user: User) -> None:
    """Keys are personal data: a forgotten user has none, and their tokens are free."""
    for key_id in sorted(user.keys):
        key = ctx.uow.get(ChargeKey, UUID(key_id))
        if key is not None and not key.removed:
            remove_key(ctx, key, "user_forgotten")
    user.record_keys([], sorted(user.keys), ctx.cause)
