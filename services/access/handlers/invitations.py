"""InviteUser, AcceptInvitation, DeclineInvitation, RevokeInvitation, ResendInvitation."""

from __future__ import annotations

from charger_access_client.commands import (
    AcceptInvitation,
    DeclineInvitation,
    InviteUser,
    ResendInvitation,
    RevokeInvitation,
)
from services.access.domain.errors import Rejected
from services.access.domain.ids import email_index_id
from services.access.domain.invitation import Invitation
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.handlers import lookup
from services.access.handlers.bookkeeping import end_pending, grant_share, note_pending
from services.access.handlers.context import Context


def invite_user(ctx: Context, cmd: InviteUser) -> str:
    window = lookup.window(ctx, cmd)
    inviter = lookup.actor(ctx)
    lookup.require_new(ctx, cmd.invitation_id, "invitation")
    chargers = [lookup.charger(ctx, charger_id) for charger_id in cmd.charger_ids]
    for charger in chargers:
        if not lookup.actor_manages(ctx, charger):
            raise Rejected("forbidden", f"you don't manage charger {charger.charger_id}")
    invitation = Invitation.invite(
        cmd.invitation_id, cmd.email, [c.ref() for c in chargers], cmd.level, window,
        _invitee_locale(ctx, cmd), inviter.person(), ctx.rules.invitation_ttl, ctx.cause,
    )
    ctx.uow.add(invitation)
    note_pending(ctx, invitation, chargers)
    # No address in the detail: results are kept and published, and must hold no PII.
    return f"invitation {cmd.invitation_id} sent"


def _invitee_locale(ctx: Context, cmd: InviteUser) -> str:
    """A registered invitee reads their own language; others the invitation's."""
    claim = ctx.uow.get(Claim, email_index_id(cmd.email))
    if claim is not None and claim.owner_id is not None:
        invitee = ctx.uow.get(User, claim.owner_id)
        if invitee is not None:
            return invitee.locale
    return cmd.locale or "en"


def _answerable(ctx: Context, cmd: AcceptInvitation) -> tuple[Invitation, User]:
    invitation = lookup.invitation(ctx, cmd.invitation_id)
    invitee = lookup.actor(ctx)
    invitation.check_answerable(invitee.email, cmd.token, ctx.rules.token_secrets, ctx.cause.at)
    return invitation, invitee


def accept_invitation(ctx: Context, cmd: AcceptInvitation) -> str:
    invitation, invitee = _answerable(ctx, cmd)
    invitation.accept(invitee.user_id, ctx.cause)
    source = {"kind": "invitation", "invitation_id": str(invitation.invitation_id)}
    for charger_id in invitation.charger_ids:
        charger = lookup.charger(ctx, charger_id)
        grant_share(ctx, charger, invitee, invitation.level, invitation.window, source,
                    keep_higher=True)
    end_pending(ctx, invitation)
    return f"invitation {cmd.invitation_id} accepted"


def decline_invitation(ctx: Context, cmd: DeclineInvitation) -> str:
    invitation, invitee = _answerable(ctx, cmd)
    invitation.decline(invitee.user_id, ctx.cause)
    end_pending(ctx, invitation)
    return f"invitation {cmd.invitation_id} declined"


def _may_administer(ctx: Context, invitation: Invitation) -> None:
    """The inviter, or whoever manages every charger of the invitation."""
    if invitation.inviter_id == str(ctx.actor):
        return
    for charger_id in invitation.charger_ids:
        if not lookup.actor_manages(ctx, lookup.charger(ctx, charger_id)):
            raise Rejected("forbidden", "only the inviter or a manager of its chargers may")


def revoke_invitation(ctx: Context, cmd: RevokeInvitation) -> str:
    invitation = lookup.invitation(ctx, cmd.invitation_id)
    _may_administer(ctx, invitation)
    invitation.revoke("revoked", ctx.cause)
    end_pending(ctx, invitation)
    return f"invitation {cmd.invitation_id} revoked"


def resend_invitation(ctx: Context, cmd: ResendInvitation) -> str:
    invitation = lookup.invitation(ctx, cmd.invitation_id)
    _may_administer(ctx, invitation)
    invitation.resend(ctx.rules.invitation_ttl, ctx.cause)
    return f"invitation {cmd.invitation_id} sent again; the old link no longer works"
