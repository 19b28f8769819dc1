"""The `data` of each event type published on `access.events` (SPEC "Events").

Each class name is the event `type`; `VERSION` is its `dataversion`. Fields are only
ever added (with defaults), so consumers of an older version keep working; a breaking
change gets a new version and the store upcasts old events (see the domain's
`upcast_v1_v2` methods).

Events that lead to an e-mail carry what the e-mail needs (names, addresses, locale) as
they were when the event happened, so the notification service never has to look them up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from charger_access_client.keys import KeyType
from charger_access_client.text import Level, Locale, Role
from charger_access_client.windows import ShareSchedule, ValidFrom, ValidUntil
from charger_access_client.wire_names import by_wire_name


class AccessEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    VERSION: ClassVar[int] = 1


class Person(BaseModel):
    """Who an e-mail goes to or names, as known when the event happened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: UUID | None = Field(default=None, description="None for someone without an account.")
    email: str
    name: str | None = None
    locale: Locale = "en"


class ChargerRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    charger_id: UUID
    name: str | None = None
    serial_number: str


class UserRegistered(AccessEvent):
    user_id: UUID
    email: str
    phone: str | None = None
    name: str | None = None
    locale: Locale = "en"


class GroupCreated(AccessEvent):
    group_id: UUID
    name: str
    owner_id: UUID
    personal: bool = Field(description="A user's personal group (group_id = user_id).")


class GroupMemberAdded(AccessEvent):
    group_id: UUID
    user_id: UUID
    role: Role


class GroupMemberRemoved(AccessEvent):
    group_id: UUID
    user_id: UUID


class ChargerRegistered(AccessEvent):
    charger_id: UUID
    serial_number: str
    name: str | None = None
    group_id: UUID
    owner_id: UUID
    connected: bool = True


class UserInvited(AccessEvent):
    """An invitation was sent (or sent again: see `InvitationResent`)."""

    invitation_id: UUID
    email: str
    chargers: list[ChargerRef]
    level: Level
    locale: Locale = Field(description="Language of the invitation e-mail.")
    inviter: Person
    expires_at: datetime
    token_salt: str = Field(
        description="Input to the invitation token's keyed HMAC; useless without the key."
    )
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None


class InvitationResent(UserInvited):
    pass


class InvitationAccepted(AccessEvent):
    invitation_id: UUID
    user_id: UUID
    charger_ids: list[UUID]
    level: Level
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None


class InvitationDeclined(AccessEvent):
    invitation_id: UUID
    user_id: UUID


class InvitationRevoked(AccessEvent):
    invitation_id: UUID
    email: str
    locale: Locale = "en"
    reason: Literal["revoked", "user_removed", "charger_transferred"] = "revoked"


class AccessGranted(AccessEvent):
    charger_id: UUID
    user_id: UUID
    level: Level
    source: dict[str, Any] = Field(
        description="What granted it: {'kind': 'invitation', 'invitation_id': ...} "
        "or {'kind': 'update', 'command_id': ...}."
    )
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None


class AccessRevoked(AccessEvent):
    charger_id: UUID
    user_id: UUID
    reason: Literal["updated", "user_removed", "charger_transferred"] = "updated"


class UserAccessChanged(AccessEvent):
    """A user's shares on one manager's chargers were set (one e-mail, the new list)."""

    user: Person
    changed_by: Person
    chargers: list[ChargerRef]
    level: Level
    valid_from: ValidFrom = None
    valid_until: ValidUntil = None
    schedule: ShareSchedule = None


class ShareCameIntoEffect(AccessEvent):
    """A time-bound share came into effect (its `valid_from`, or a schedule window opening).

    Appended by the access service's scheduler; `at` is the nominal instant, also when it
    is appended late after downtime."""

    charger_id: UUID
    user_id: UUID
    level: Level
    at: datetime = Field(description="When it came into effect (nominal, not when appended).")


class ShareWentOutOfEffect(AccessEvent):
    """A time-bound share went out of effect (a schedule window closing, or `valid_until`)."""

    charger_id: UUID
    user_id: UUID
    level: Level
    at: datetime = Field(description="When it went out of effect (nominal, not when appended).")
    ended: bool = Field(description="True when it will never be in effect again "
                        "(`valid_until` reached); the share itself stays until revoked.")


class ShareEnding(AccessEvent):
    """A share's `valid_until` is near: its holder gets one `share_ending` e-mail.

    Once per share and `valid_until`; none when the share changed or ended first, or was
    granted already this close to its end (its e-mail stated the end)."""

    charger_id: UUID
    user_id: UUID
    level: Level
    valid_until: datetime
    at: datetime = Field(description="When the notice was due: `valid_until` less the "
                         "notice period (nominal, not when appended).")
    user: Person = Field(description="The holder, as known then.")
    charger: ChargerRef
    time_zone: str | None = Field(
        default=None, max_length=64,
        description="The share's schedule's IANA time zone, which the e-mail states "
        "`valid_until` in; none: in the offset `valid_until` carries.")


class UserAccessRemoved(AccessEvent):
    user: Person
    removed_by: Person
    chargers: list[ChargerRef]


class ChargerMovedToGroup(AccessEvent):
    charger_id: UUID
    from_group_id: UUID
    to_group_id: UUID


class ChargerOwnershipTransferred(AccessEvent):
    charger_id: UUID
    charger: ChargerRef
    from_owner_id: UUID
    to_owner: Person
    from_owner: Person | None = Field(
        default=None,
        description="The previous owner, as known then; the e-mail to the new owner names them.",
    )


class ChargerTransferredToUser(AccessEvent):
    charger_id: UUID
    charger: ChargerRef
    from_owner: Person
    to_user: Person
    from_group_id: UUID
    to_group_id: UUID
    connected: bool


class UserForgotten(AccessEvent):
    """The user's personal data was shredded: from now on every event reads them as a
    pseudonym. Consumers holding copies (read models, sent-logs) must drop theirs."""

    user_id: UUID
    pseudonym_email: str
    pseudonym_name: str


class ChargeKeyAdded(AccessEvent):
    """A user got a key; `id_token` and `label` are personal data (read as pseudonyms once
    the user is forgotten)."""

    key_id: UUID
    user_id: UUID
    id_token: str = Field(description="Upper case, as chargers are answered.")
    type: KeyType
    label: str | None = None


class ChargeKeyBlocked(AccessEvent):
    key_id: UUID
    user_id: UUID


class ChargeKeyUnblocked(AccessEvent):
    key_id: UUID
    user_id: UUID


class ChargeKeyRemoved(AccessEvent):
    key_id: UUID
    user_id: UUID
    reason: Literal["removed", "user_forgotten"] = "removed"


EVENT_TYPES: dict[str, type[AccessEvent]] = by_wire_name(AccessEvent)
"""Every event class above by its wire `type`: defining the class is what adds it."""
