"""MoveChargerToGroup, TransferChargerOwnership, TransferChargerToUser (the Monta flow).

What happens to shares: a move to another group and an ownership transfer keep every
share; a transfer to another user's personal group ends every share and every pending
invitation on the charger, since the charger now belongs to someone else entirely.
"""

from __future__ import annotations

from uuid import UUID

from charger_access_client.commands import (
    MoveChargerToGroup,
    TransferChargerOwnership,
    TransferChargerToUser,
)
from services.access.domain.charger import Charger
from services.access.domain.errors import Rejected
from services.access.domain.ids import email_index_id, phone_index_id
from services.access.domain.invitation import Invitation
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.handlers import lookup
from services.access.handlers.bookkeeping import end_pending, revoke_share
from services.access.handlers.context import Context


def move_charger_to_group(ctx: Context, cmd: MoveChargerToGroup) -> str:
    charger = lookup.managed_charger(ctx, cmd.charger_id)
    target = lookup.group(ctx, cmd.group_id)
    if not target.is_admin(ctx.actor):
        raise Rejected("forbidden", "you are not owner or admin of the target group")
    if charger.group_id != cmd.group_id:
        charger.trigger_event(charger.ChargerMovedToGroup, charger_id=charger.charger_id,
                              from_group_id=charger.group_id, to_group_id=cmd.group_id,
                              **ctx.cause.stamp())
    return f"charger {cmd.charger_id} is in group {cmd.group_id}"


def _may_give_away(ctx: Context, charger: Charger) -> None:
    """The charger's owner or the owner of its group may give it away."""
    group = lookup.group_of(ctx, charger)
    is_group_owner = group is not None and str(group.owner_id) == str(ctx.actor)
    if str(charger.owner_id) != str(ctx.actor) and not is_group_owner:
        raise Rejected("forbidden", "only the charger's owner or its group's owner may")


def transfer_charger_ownership(ctx: Context, cmd: TransferChargerOwnership) -> str:
    charger = lookup.charger(ctx, cmd.charger_id)
    new_owner = lookup.user(ctx, cmd.new_owner_id)
    _may_give_away(ctx, charger)
    group = lookup.group_of(ctx, charger)
    if group is None or not group.is_admin(cmd.new_owner_id):
        raise Rejected("not_group_admin", "the new owner must be owner or admin of its group")
    if str(charger.owner_id) != str(cmd.new_owner_id):
        previous = ctx.uow.get(User, UUID(str(charger.owner_id)))
        charger.trigger_event(charger.ChargerOwnershipTransferred, charger_id=charger.charger_id,
                              charger=charger.ref(), from_owner_id=charger.owner_id,
                              to_owner=new_owner.person(),
                              from_owner=previous.person() if previous else None,
                              **ctx.cause.stamp())
    return f"user {cmd.new_owner_id} owns charger {cmd.charger_id}"


def transfer_charger_to_user(ctx: Context, cmd: TransferChargerToUser) -> str:
    charger = lookup.charger(ctx, cmd.charger_id)
    _may_give_away(ctx, charger)
    recipient = _recipient(ctx, cmd)
    previous_owner = lookup.user(ctx, UUID(str(charger.owner_id)))
    for user_id in list(charger.shares):
        revoke_share(ctx, charger, UUID(user_id), "charger_transferred")
    for invitation_id in list(charger.pending_invitations):
        invitation = ctx.uow.get(Invitation, UUID(invitation_id))
        if invitation is not None and invitation.status == "pending":
            invitation.revoke("charger_transferred", ctx.cause)
            end_pending(ctx, invitation)
    charger.trigger_event(
        charger.ChargerTransferredToUser, charger_id=charger.charger_id, charger=charger.ref(),
        from_owner=previous_owner.person(), to_user=recipient.person(),
        from_group_id=charger.group_id, to_group_id=recipient.user_id,
        connected=charger.connected and cmd.keep_connection, **ctx.cause.stamp(),
    )
    return f"charger {cmd.charger_id} given to user {recipient.user_id}"


def _recipient(ctx: Context, cmd: TransferChargerToUser) -> User:
    claim_id = (email_index_id(cmd.recipient_email) if cmd.recipient_email
                else phone_index_id(cmd.recipient_phone or ""))
    claim = ctx.uow.get(Claim, claim_id)
    recipient = (ctx.uow.get(User, claim.owner_id)
                 if claim is not None and claim.owner_id is not None else None)
    if recipient is None:
        raise Rejected("recipient_not_found", "no registered user has that e-mail or phone")
    return recipient
