"""The envelopes on the wire: commands in, one result per command out, events out.

Commands follow CloudEvents 1.0 (structured or binary Kafka binding); `actor` is our
extension attribute naming the user on whose behalf the command is sent. A CloudEvents
SDK adds attributes of its own (`partitionkey`, `traceparent`, `datacontenttype`, ...):
the envelope takes every context attribute a valid CloudEvent may carry, so a client is
never refused for its SDK's habits, and stays strict on `data`, which we act on.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

MAX_MESSAGE_BYTES = 1024 * 1024

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]

EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
"""CloudEvents attribute names: 1-20 lower-case ASCII letters or digits."""

ExtensionValue = (
    StrictBool | StrictInt | Annotated[str, StringConstraints(max_length=4096)] | None
)
"""What a CloudEvents attribute holds in JSON: a string (also URIs, timestamps, binary as
base64), an integer or a boolean (null: not set); never an object or a list."""


def _extensions_in_schema(schema: dict[str, Any]) -> None:
    """Say in the JSON schema which extra names are allowed, not just that extras are.
    The declared names are left out of the pattern, or their own schemas (`data`, an
    object) would have to pass the extensions' too."""
    declared = "|".join(sorted(schema["properties"]))
    value = schema.pop("additionalProperties")
    schema["patternProperties"] = {f"^(?!({declared})$)[a-z0-9]{{1,20}}$": value}
    schema["additionalProperties"] = False


class CommandEnvelope(BaseModel):
    """A command as published on `access.commands` (structured binding).

    Besides the fields below it takes any CloudEvents extension attribute (a name of 1-20
    lower-case letters or digits, e.g. `partitionkey`, `traceparent`), which is ignored.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, json_schema_extra=_extensions_in_schema
    )
    __pydantic_extra__: dict[str, ExtensionValue] = Field(init=False)

    specversion: Literal["1.0"] = Field(description="CloudEvents spec version.")
    id: UUID = Field(description="Command id: the idempotency key. Reusing it replays the result.")
    source: ShortText = Field(description="The publishing service.", examples=["app-backend"])
    type: ShortText = Field(description="Command type, e.g. `InviteUser`.", examples=["InviteUser"])
    time: datetime | None = Field(default=None, description="When the command was issued.")
    actor: UUID = Field(description="The user on whose behalf the command is sent.")
    datacontenttype: (
        Annotated[str, StringConstraints(max_length=200, pattern=r"^application/json\s*(;.*)?$")]
        | None
    ) = Field(
        default=None,
        description="Media type of `data`: `application/json` (parameters such as "
        "`charset=utf-8` allowed), the only one taken.",
    )
    dataschema: (
        Annotated[str, StringConstraints(max_length=2048, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:")]
        | None
    ) = Field(default=None, description="URI of `data`'s schema; not read.")
    subject: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        default=None, description="What the command is about, for the sender's routing; not read."
    )
    data: dict[str, Any] = Field(
        description="The command's fields; see `charger_access_client.commands`."
    )

    @model_validator(mode="after")
    def _extension_names(self) -> CommandEnvelope:
        wrong = sorted(n for n in self.model_extra or {} if not EXTENSION_NAME.fullmatch(n))
        if wrong:
            raise ValueError(
                f"not CloudEvents attribute names (1-20 lower-case letters or digits): {wrong}"
            )
        return self

    @property
    def extensions(self) -> dict[str, ExtensionValue]:
        """The extension attributes the sender added (ignored unless SPEC names them)."""
        return dict(self.model_extra or {})


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
    data: dict[str, Any] = Field(
        description="Event fields; see `charger_access_client.access_events`."
    )


class DeadLetterHeaders(BaseModel):
    """What a record on `access.commands.dlq` adds to the refused record's own headers;
    its key and value are the refused record's (the value cut at 512 KiB)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    dlq_error: str = Field(description="Why it was refused (at most 1000 characters).")
    dlq_topic: str = Field(description="Where it came from.")
    dlq_partition: str = Field(description="Its partition there, in decimal.")
    dlq_offset: str = Field(description="Its offset there, in decimal.")
    dlq_truncated_from: str | None = Field(
        default=None, description="The value's size in bytes, when it was cut."
    )
