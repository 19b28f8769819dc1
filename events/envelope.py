"""The envelopes on the wire: commands in, one result per command out, events out.

Commands follow CloudEvents 1.0 (structured or binary Kafka binding); `actor` is our
extension attribute naming the user on whose behalf the command is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_MESSAGE_BYTES = 1024 * 1024

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CommandEnvelope(BaseModel):
    """A command as published on `access.commands` (structured binding)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = Field(description="CloudEvents spec version.")
    id: UUID = Field(description="Command id: the idempotency key. Reusing it replays the result.")
    source: ShortText = Field(description="The publishing service.", examples=["app-backend"])
    type: ShortText = Field(description="Command type, e.g. `InviteUser`.", examples=["InviteUser"])
    time: datetime | None = Field(default=None, description="When the command was issued.")
    actor: UUID = Field(description="The user on whose behalf the command is sent.")
    data: dict[str, Any] = Field(description="The command's fields; see `events.commands`.")


Status = Literal["accepted", "rejected"]
Reason = Literal[
    "invalid",
    "not_found",
    "forbidden",
    "already_exists",
    "email_taken",
    "phone_taken",
    "serial_taken",
    "email_mismatch",
    "not_pending",
    "expired",
    "invalid_token",
    "not_group_admin",
    "recipient_not_found",
    "key_taken",
]


class CommandResult(BaseModel):
    """The one outcome of a command, on `access.command-results` keyed by command id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: str = Field(description="The command's id (as sent, when it could be read).")
    status: Status = Field(description="`accepted` when its events are stored.")
    reason: Reason | None = Field(default=None, description="Reason code when rejected.")
    detail: str = Field(default="", description="Human-readable explanation.")
    position: int | None = Field(
        default=None,
        description="Global position of the command's last event; wait for it with "
        "`min_position` on the query API to read your own write.",
    )
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="Extension: field errors of an `invalid` command (pydantic's shape).",
    )


class EventEnvelope(BaseModel):
    """A stored event as published on `access.events` (key = `subject`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(description="Stable event id: consumers dedupe on it.")
    type: str = Field(description="Past-tense event name, e.g. `UserInvited`.")
    dataversion: int = Field(
        default=1, description="Extension: version of `data`'s schema for this `type`."
    )
    source: str = Field(default="charger-access", description="Who published it.")
    subject: str = Field(description="Id of the user/group/charger/invitation it is about.")
    sequence: int = Field(description="Global position in the event store.")
    time: datetime = Field(description="When the event happened.")
    actor: str | None = Field(default=None, description="Extension: the user who caused it.")
    commandid: str | None = Field(default=None, description="Extension: the causing command.")
    data: dict[str, Any] = Field(description="Event fields; see `events.access_events`.")
