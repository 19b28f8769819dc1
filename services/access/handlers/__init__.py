"""Command handlers: one function per command type, each returning a human detail or
raising `Rejected`. They touch aggregates only through the unit of work."""

from __future__ import annotations

from charger_access_client.commands import (
    AcceptInvitation,
    AddChargeKey,
    AddGroupMember,
    BlockChargeKey,
    Command,
    CreateGroup,
    DeclineInvitation,
    ForgetUser,
    InviteUser,
    MoveChargerToGroup,
    RegisterCharger,
    RegisterUser,
    RemoveChargeKey,
    RemoveGroupMember,
    RemoveUser,
    ResendInvitation,
    RevokeInvitation,
    TransferChargerOwnership,
    TransferChargerToUser,
    UnblockChargeKey,
    UpdateUserAccess,
)
from services.access.handlers.charge_keys import (
    add_charge_key,
    block_charge_key,
    remove_charge_key,
    unblock_charge_key,
)
from services.access.handlers.chargers import register_charger
from services.access.handlers.context import Handler
from services.access.handlers.groups import add_group_member, create_group, remove_group_member
from services.access.handlers.invitations import (
    accept_invitation,
    decline_invitation,
    invite_user,
    resend_invitation,
    revoke_invitation,
)
from services.access.handlers.sharing import remove_user, update_user_access
from services.access.handlers.transfers import (
    move_charger_to_group,
    transfer_charger_ownership,
    transfer_charger_to_user,
)
from services.access.handlers.users import forget_user, register_user

HANDLERS: dict[type[Command], Handler] = {
    RegisterUser: register_user,
    CreateGroup: create_group,
    AddGroupMember: add_group_member,
    RemoveGroupMember: remove_group_member,
    RegisterCharger: register_charger,
    InviteUser: invite_user,
    AcceptInvitation: accept_invitation,
    DeclineInvitation: decline_invitation,
    RevokeInvitation: revoke_invitation,
    ResendInvitation: resend_invitation,
    UpdateUserAccess: update_user_access,
    RemoveUser: remove_user,
    MoveChargerToGroup: move_charger_to_group,
    TransferChargerOwnership: transfer_charger_ownership,
    TransferChargerToUser: transfer_charger_to_user,
    ForgetUser: forget_user,
    AddChargeKey: add_charge_key,
    BlockChargeKey: block_charge_key,
    UnblockChargeKey: unblock_charge_key,
    RemoveChargeKey: remove_charge_key,
}
"""The handler of each command class; the wire type is the class name (`COMMAND_TYPES`)."""

__all__ = ["HANDLERS"]
