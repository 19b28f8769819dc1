"""Response bodies of the query API (also what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from charger_access_client.text import Level, Role
from charger_access_client.windows import ShareSchedule, ValidFrom, ValidUntil

POSITION = Field(description="Event position the answer reflects (at least).", examples=[42])
LOG_POSITION = Field(description="The log position the answer reflects (at least).")
NEXT_CURSOR = Field(description="Pass as `cursor` for the next page; null on the last page.")
WHY = Field(
    description="Every reason for the access, highest first. `source` is `owner`, "
    "`group:<role>` (with `group_id`) or `share` (with the `invitation_id` or the "
    "`command_id` of the access update that granted it); `level` is what it gives. A "
    "time-bound share's entry also carries its `valid_from`, `valid_until` and `schedule` "
    "(the share's window, as on `InviteUser`).",
    examples=[[{"source": "owner", "level": "manage"}]],
)
IN_EFFECT = Field(
    description="Whether the access is in effect now. False only for a holder whose only "
    "access is a time-bound share outside its window (then `level` is that share's level)."
)
LISTED_LEVEL = Field(description="The level in effect now (or, when `in_effect` is false, "
                     "the level the share gives while in effect).")


class ErrorBody(BaseModel):
    error: str = Field(description="Error code.", examples=["not_found"])
    detail: Any = Field(default=None, description="Human text or field errors.")
    position: int | None = Field(default=None, description="Read-model position, if known.")


class ChargerAccess(BaseModel):
    charger_id: UUID
    level: Level = LISTED_LEVEL
    why: list[dict[str, Any]] = WHY
    in_effect: bool = IN_EFFECT


class UserAccess(BaseModel):
    user_id: UUID
    level: Level = LISTED_LEVEL
    why: list[dict[str, Any]] = WHY
    in_effect: bool = IN_EFFECT


class UserChargers(BaseModel):
    chargers: list[ChargerAccess]
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class ChargerUsers(BaseModel):
    users: list[UserAccess]
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class Upcoming(BaseModel):
    """A share on the charger that is not in effect at the moment asked."""

    level: Level = Field(description="The level the share gives while in effect.")
    next_start: datetime | None = Field(
        description="When it next comes into effect (RFC 3339, UTC); null when it never "
        "will again (its `valid_until` has passed).",
        examples=["2026-06-06T06:00:00Z"])


class AccessCheck(BaseModel):
    allowed: bool = Field(description="The effective level is at least the one asked for.")
    level: Level | None = Field(
        description="Effective level at the moment asked (`at`, default now), null without "
        "any access then.")
    why: list[dict[str, Any]] = Field(
        description="The reasons in effect at the moment asked, highest first (see the "
        "lists' `why`); a time-bound share's entry carries its window.",
        examples=[[{"source": "owner", "level": "manage"}]])
    upcoming: Upcoming | None = Field(
        description="A share on the charger not in effect at the moment asked (with when it "
        "next starts); null when there is none.")
    position: int = POSITION


class Charger(BaseModel):
    charger_id: UUID
    serial_number: str
    name: str | None
    group_id: UUID
    owner_id: UUID
    connected: bool = Field(description="Whether the charger keeps its cloud connection.")
    position: int = POSITION


class GroupCharger(BaseModel):
    charger_id: UUID
    serial_number: str
    name: str | None
    owner_id: UUID
    connected: bool


class GroupChargers(BaseModel):
    chargers: list[GroupCharger]
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class Member(BaseModel):
    user_id: UUID
    role: Role


class Group(BaseModel):
    group_id: UUID
    name: str
    owner_id: UUID
    personal: bool = Field(description="A user's personal group (group_id = user_id).")
    charger_count: int = Field(description="Chargers in the group; list them on /chargers.")
    members: list[Member] = Field(description="One page of members, ordered by user_id.")
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class InvitedCharger(BaseModel):
    charger_id: UUID
    serial_number: str
    name: str | None = None


class Invitation(BaseModel):
    invitation_id: UUID
    status: Literal["pending", "accepted", "declined", "revoked", "expired"] = Field(
        description="`expired` = still pending but past `expires_at` at the time of asking."
    )
    email: str
    level: Level
    locale: str
    chargers: list[InvitedCharger]
    inviter_id: UUID | None
    expires_at: datetime
    invited_at: datetime
    updated_at: datetime
    valid_from: ValidFrom = Field(
        default=None, description="The window of the shares it grants: from this instant.")
    valid_until: ValidUntil = Field(
        default=None, description="The window of the shares it grants: until this instant.")
    schedule: ShareSchedule = Field(
        default=None, description="The window of the shares it grants: these weekly windows.")
    position: int = POSITION


class HistoryEvent(BaseModel):
    position: int = Field(description="The event's global position in the store.")
    event_id: UUID
    type: str = Field(examples=["AccessGranted"])
    time: datetime
    actor: str | None
    command_id: str | None
    details: dict[str, Any] = Field(description="What changed for this charger.")


class ChargerHistory(BaseModel):
    events: list[HistoryEvent]
    next_cursor: str | None = NEXT_CURSOR
    position: int = POSITION


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool] = Field(description="Each check by name; all must be true.")
    position: int = POSITION


# The audit endpoints (`/v1/audit/...`): answers replayed from the stored log.

class AuditEvent(BaseModel):
    position: int = Field(description="The event's global position in the store.")
    time: datetime
    type: str = Field(examples=["UserInvited"])
    event_id: UUID
    subject: str = Field(description="Id of the aggregate the event is about.")
    actor: str | None
    actor_name: str | None = Field(description="The actor's name (or e-mail) at the time.")
    command_id: str | None
    sentence: str = Field(examples=["Kari invited ola@example.no to Garasje (charge)"])
    data: dict[str, Any] = Field(description="The event's data, as on `access.events`.")


class AuditTimeline(BaseModel):
    events: list[AuditEvent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    position: int = LOG_POSITION


class AccessAtAnswer(BaseModel):
    charger_id: UUID | None = None
    user_id: UUID | None = None
    at: datetime
    users: list[dict[str, Any]] | None = Field(
        default=None, description="For a charger: `{user_id, level, why}` per user.")
    chargers: list[dict[str, Any]] | None = Field(
        default=None, description="For a user: `{charger_id, level, why}` per charger.")
    position: int = Field(description="The last log position at or before `at`.")


class VerifyAnswer(BaseModel):
    ok: bool
    count: int = Field(description="Events whose chain links matched.")
    last_position: int
    last_hash: str = Field(description="Hex SHA-256 of the last matching link.")
    broken_at: int | None = Field(description="The first position that does not match.")
    problem: str | None
