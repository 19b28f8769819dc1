"""RegisterUser: a new person, their personal group, and their unique e-mail and phone."""

from __future__ import annotations

from events.commands import RegisterUser
from services.access.domain.errors import Rejected
from services.access.domain.group import Group
from services.access.domain.ids import email_index_id, group_aggregate_id, phone_index_id
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.handlers.context import Context
from services.access.handlers.lookup import require_new


def register_user(ctx: Context, cmd: RegisterUser) -> str:
    require_new(ctx, cmd.user_id, "user")
    require_new(ctx, group_aggregate_id(cmd.user_id), "group")
    email = ctx.uow.get(Claim, email_index_id(cmd.email))
    if email is not None and email.owner_id is not None:
        raise Rejected("email_taken", "another user has this e-mail address")
    if cmd.phone is not None:
        if ctx.uow.exists(phone_index_id(cmd.phone)):
            raise Rejected("phone_taken", "another user has this phone number")
        ctx.uow.add(Claim.open(phone_index_id(cmd.phone), "phone", cmd.phone, cmd.user_id,
                               ctx.cause))
    if email is None:
        ctx.uow.add(Claim.open(email_index_id(cmd.email), "email", cmd.email.lower(),
                               cmd.user_id, ctx.cause))
    else:
        email.take(cmd.user_id, ctx.cause)
    ctx.uow.add(User.register(cmd.user_id, cmd.email, cmd.phone, cmd.name, cmd.locale,
                              ctx.cause))
    ctx.uow.add(Group.create(cmd.user_id, cmd.name or cmd.email, cmd.user_id, True, ctx.cause))
    return f"user {cmd.user_id} registered"
