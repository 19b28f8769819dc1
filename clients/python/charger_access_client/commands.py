"""The `data` of each command type on `access.commands` (SPEC "Commands").

Unknown fields are rejected; every text that can reach an e-mail header is header-safe.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from charger_access_client.keys import ChargeKeyLabel, IdToken, KeyType
from charger_access_client.text import Email, HeaderSafeText, Level, Locale, Phone
from charger_access_client.windows import ShareSchedule, ValidFrom, ValidUntil, until_after_from
from charger_access_client.wire_names import by_wire_name

ChargerIds = Annotated[list[UUID], Field(min_length=1, max_length=100)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterUser(Command):
    """Creates a user and their personal group (group_id = user_id)."""

    user_id: UUID = Field(description="New user's id; also their personal group's id.")
    email: Email = Field(description="Unique, compared case-insensitively.")
    phone: Phone | None = Field(default=None, description="E.164, unique.")
    name: HeaderSafeText | None = Field(default=None, description="Display name.")
    locale: Locale = Field(default="en", description="Language of the user's e-mails.")


class CreateGroup(Command):
    """Creates a group; the actor becomes its owner."""

    group_id: UUID
    name: HeaderSafeText


class AddGroupMember(Command):
    group_id: UUID
    user_id: UUID
    role: Annotated[str, Field(pattern="^(admin|member)$", description="`admin` or `member`.")]


class RemoveGroupMember(Command):
    group_id: UUID
    user_id: UUID


class RegisterCharger(Command):
    """Registers a charger; the actor becomes its owner."""

    charger_id: UUID
    serial_number: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    ] = Field(description="Unique serial number printed on the charger.")
    name: HeaderSafeText | None = None
    group_id: UUID | None = Field(
        default=None, description="Defaults to the actor's personal group."
    )


class InviteUser(Command):
    """Invites an e-mail address to use chargers the actor manages; accepting grants shares
    at `level` in the window given (none of the three window fields: permanent)."""

    invitation_id: UUID
    email: Email
    charger_ids: ChargerIds
    level: Level = "charge"
    locale: Locale | None = Field(
        default=None, description="Language for an invitee without an account (default `en`)."
    )
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None

    _until_after_from = field_validator("valid_until")(until_after_from)

    @model_validator(mode="after")
    def _distinct_chargers(self) -> InviteUser:
        if len(set(self.charger_ids)) != len(self.charger_ids):
            raise ValueError("charger_ids must not repeat")
        return self


class AcceptInvitation(Command):
    invitation_id: UUID
    token: Annotated[str, Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class DeclineInvitation(AcceptInvitation):
    pass


class RevokeInvitation(Command):
    invitation_id: UUID


class ResendInvitation(Command):
    invitation_id: UUID


class UpdateUserAccess(Command):
    """Sets exactly which of the actor's managed chargers the user has a share on, at which
    level and in which window (none of the three window fields: permanent)."""

    user_id: UUID
    charger_ids: Annotated[list[UUID], Field(max_length=1000)]
    level: Level = "charge"
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None

    _until_after_from = field_validator("valid_until")(until_after_from)


class RemoveUser(Command):
    user_id: UUID


class MoveChargerToGroup(Command):
    charger_id: UUID
    group_id: UUID


class TransferChargerOwnership(Command):
    charger_id: UUID
    new_owner_id: UUID


class TransferChargerToUser(Command):
    charger_id: UUID
    recipient_email: Email | None = None
    recipient_phone: Phone | None = None
    keep_connection: StrictBool

    @model_validator(mode="after")
    def _one_recipient(self) -> TransferChargerToUser:
        if (self.recipient_email is None) == (self.recipient_phone is None):
            raise ValueError("give exactly one of recipient_email and recipient_phone")
        return self


class ForgetUser(Command):
    """Crypto-shreds a person's e-mail, phone and name (actor: the user, or an operator)."""

    user_id: UUID


class AddChargeKey(Command):
    """Gives a user a key a charger can be shown (an RFID card, a key code, a car...)."""

    key_id: UUID = Field(description="New key's id, chosen by the client.")
    user_id: UUID = Field(description="Whose key it is.")
    id_token: IdToken
    type: KeyType = "ISO14443"
    label: ChargeKeyLabel | None = None


class BlockChargeKey(Command):
    """The key stays known and is answered `Blocked`, so no cache or list admits it."""

    key_id: UUID


class UnblockChargeKey(Command):
    key_id: UUID


class RemoveChargeKey(Command):
    """The key is gone; its token can be added again."""

    key_id: UUID


COMMAND_TYPES: dict[str, type[Command]] = by_wire_name(Command)
"""Every command class above by its wire `type`: defining the class is what adds it."""
