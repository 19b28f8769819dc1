"""UpdateUserAccess and RemoveUser: editing and ending someone's shares (the Wallbox flow)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from charger_access_client.commands import RemoveUser, UpdateUserAccess
from services.access.domain.charger import Charger
from services.access.domain.errors import Rejected
from services.access.domain.ids import email_index_id
from services.access.domain.invitation import Invitation
from services.access.domain.uniqueness import Claim
from services.access.handlers import lookup
from services.access.handlers.bookkeeping import end_pending, grant_share, revoke_share
from services.access.handlers.context import Context


def update_user_access(ctx: Context, cmd: UpdateUserAccess) -> str:
    window = lookup.window(ctx, cmd)
    manager = lookup.actor(ctx)
    user = lookup.user(ctx, cmd.user_id)
    listed = [lookup.charger(ctx, charger_id) for charger_id in dict.fromkeys(cmd.charger_ids)]
    for charger in listed:
        if not lookup.actor_manages(ctx, charger):
            raise Rejected("forbidden", f"you don't manage charger {charger.charger_id}")
    source = {"kind": "update", "command_id": ctx.cause.command_id}
    changed = [grant_share(ctx, c, user, cmd.level, window, source) for c in listed]
    listed_ids = {str(c.charger_id) for c in listed}
    for charger in _shared_managed(ctx, list(user.shares)):
        if str(charger.charger_id) not in listed_ids:
            changed.append(revoke_share(ctx, charger, user.user_id, "updated"))
    if any(changed):
        user.trigger_event(user.UserAccessChanged, user=user.person(),
                           changed_by=manager.person(), chargers=[c.ref() for c in listed],
                           level=cmd.level, **window.event_fields(), **ctx.cause.stamp())
    return f"user {cmd.user_id} now has a share on {len(listed)} of your chargers"


def remove_user(ctx: Context, cmd: RemoveUser) -> str:
    manager = lookup.actor(ctx)
    user = lookup.user(ctx, cmd.user_id)
    removed: list[dict[str, Any]] = []
    for charger in _shared_managed(ctx, list(user.shares)):
        if revoke_share(ctx, charger, user.user_id, "user_removed"):
            removed.append(charger.ref())
    revoked = _revoke_pending_from(ctx, user.email, ctx.actor)
    if removed:
        user.trigger_event(user.UserAccessRemoved, user=user.person(),
                           removed_by=manager.person(), chargers=removed, **ctx.cause.stamp())
    return (f"removed {len(removed)} share(s) and {revoked} pending invitation(s) "
            f"of user {cmd.user_id}")


def _shared_managed(ctx: Context, charger_ids: list[str]) -> list[Charger]:
    chargers = [ctx.uow.get(Charger, UUID(charger_id)) for charger_id in charger_ids]
    return [c for c in chargers if c is not None and lookup.actor_manages(ctx, c)]


def _revoke_pending_from(ctx: Context, email: str, inviter_id: UUID) -> int:
    claim = ctx.uow.get(Claim, email_index_id(email))
    if claim is None:
        return 0
    count = 0
    for invitation_id, invited_by in list(claim.pending_invitations.items()):
        if invited_by != str(inviter_id):
            continue
        invitation = ctx.uow.get(Invitation, UUID(invitation_id))
        if invitation is not None and invitation.status == "pending":
            invitation.revoke("user_removed", ctx.cause)
            end_pending(ctx, invitation)
            count += 1
    return count
