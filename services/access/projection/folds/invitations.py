"""Invitations: sent and resent, accepted, declined, revoked."""

from __future__ import annotations

from uuid import UUID

from services.access.projection.folds.values import (
    Data,
    Folder,
    add_history,
    instant_of,
    optional_uuid,
    uuid_of,
    window_of,
)
from services.access.projection.rows import BatchChanges, Head, InvitationPatch


def _invitation(changes: BatchChanges, invitation_id: UUID) -> InvitationPatch:
    return changes.invitations.setdefault(invitation_id, InvitationPatch(invitation_id))


def _charger_ref(ref: Data) -> Data:
    """A ChargerRef as its JSON dump has it (every field, ids as strings)."""
    return {"charger_id": str(ref["charger_id"]), "name": ref.get("name"),
            "serial_number": ref["serial_number"]}


def _user_invited(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    invitation_id = uuid_of(d["invitation_id"])
    patch = _invitation(c, invitation_id)
    if env.type == "UserInvited":
        patch.created, patch.invited_at = True, env.time
        patch.email, patch.inviter_id = d["email"], optional_uuid(d["inviter"].get("user_id"))
    expires_at = instant_of(d["expires_at"])
    patch.level, patch.locale, patch.expires_at = d["level"], d["locale"], expires_at
    patch.chargers = [_charger_ref(ref) for ref in d["chargers"]]
    patch.status, patch.updated_at = "pending", env.time
    window = window_of(d)
    patch.window_set = True
    patch.valid_from, patch.valid_until = window.valid_from, window.valid_until
    patch.schedule = window.schedule.to_data() if window.schedule else None
    details = {"invitation_id": str(invitation_id), "level": d["level"],
               "expires_at": expires_at.isoformat()}
    if not window.permanent:
        details.update(window.to_data())
    for ref in patch.chargers:
        add_history(c, p, env, uuid_of(ref["charger_id"]), details)


def _invitation_accepted(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    invitation_id, user_id = uuid_of(d["invitation_id"]), uuid_of(d["user_id"])
    patch = _invitation(c, invitation_id)
    patch.status, patch.responded_by, patch.updated_at = "accepted", user_id, env.time
    details = {"invitation_id": str(invitation_id), "user_id": str(user_id)}
    for charger_id in d["charger_ids"]:
        add_history(c, p, env, uuid_of(charger_id), details)


def _invitation_declined(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    invitation_id, user_id = uuid_of(d["invitation_id"]), uuid_of(d["user_id"])
    patch = _invitation(c, invitation_id)
    patch.status, patch.responded_by, patch.updated_at = "declined", user_id, env.time
    details = {"invitation_id": str(invitation_id), "user_id": str(user_id)}
    add_history(c, p, env, None, details, invitation_id=invitation_id)


def _invitation_revoked(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    invitation_id = uuid_of(d["invitation_id"])
    patch = _invitation(c, invitation_id)
    patch.status, patch.revoke_reason, patch.updated_at = "revoked", d["reason"], env.time
    details = {"invitation_id": str(invitation_id), "reason": d["reason"]}
    add_history(c, p, env, None, details, invitation_id=invitation_id)


FOLDERS: dict[str, Folder] = {
    "UserInvited": _user_invited,
    "InvitationResent": _user_invited,
    "InvitationAccepted": _invitation_accepted,
    "InvitationDeclined": _invitation_declined,
    "InvitationRevoked": _invitation_revoked,
}
