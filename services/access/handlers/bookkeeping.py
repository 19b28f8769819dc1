"""Changes that always come in pairs: a share and its mirror on the user; an invitation
and the places that remember it is pending (its chargers and its e-mail address)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.access.domain.access import LEVELS
from services.access.domain.charger import Charger
from services.access.domain.ids import email_index_id
from services.access.domain.invitation import Invitation
from services.access.domain.uniqueness import Claim
from services.access.domain.user import User
from services.access.domain.windows import Window
from services.access.handlers.context import Context


def grant_share(
    ctx: Context, charger: Charger, user: User, level: str, window: Window,
    source: dict[str, Any], *, keep_higher: bool = False,
) -> bool:
    """Set the user's share on the charger to `level` in `window`.

    `keep_higher` (accepting an invitation, which never lowers a share): an existing share
    is left alone when its level is higher, or equal and permanent; otherwise it becomes
    `level` in `window`."""
    current = charger.shares.get(str(user.user_id))
    if keep_higher and current is not None and (
        LEVELS[current] > LEVELS[level]
        or (current == level and charger.window_of(user.user_id).permanent)
    ):
        return False
    if not charger.grant(user.user_id, level, window, source, ctx.cause):
        return False
    if current != level:  # the user's mirror keeps levels only
        user.record_shares({str(charger.charger_id): level}, [], ctx.cause)
    return True


def revoke_share(ctx: Context, charger: Charger, user_id: UUID, reason: str) -> bool:
    if not charger.revoke(user_id, reason, ctx.cause):
        return False
    user = ctx.uow.get(User, user_id)
    if user is not None:
        user.record_shares({}, [str(charger.charger_id)], ctx.cause)
    return True


def note_pending(ctx: Context, invitation: Invitation, chargers: list[Charger]) -> None:
    invitation_id = str(invitation.invitation_id)
    for charger in chargers:
        charger.note_invitations([invitation_id], [], ctx.cause)
    address = _email_claim(ctx, invitation.email)
    address.note_invitations({invitation_id: invitation.inviter_id}, [], ctx.cause)


def end_pending(ctx: Context, invitation: Invitation) -> None:
    invitation_id = str(invitation.invitation_id)
    for charger_id in invitation.charger_ids:
        charger = ctx.uow.get(Charger, charger_id)
        if charger is not None:
            charger.note_invitations([], [invitation_id], ctx.cause)
    _email_claim(ctx, invitation.email).note_invitations({}, [invitation_id], ctx.cause)


def _email_claim(ctx: Context, email: str) -> Claim:
    claim = ctx.uow.get(Claim, email_index_id(email))
    if claim is None:
        claim = Claim.open(email_index_id(email), "email", email.lower(), None, ctx.cause)
        ctx.uow.add(claim)
    return claim
