"""A local list's entries: which key, and what the charger answers for it.

A list is a mapping from a key's (id_token, type) to its info. The same shape serves
the read model's rows, the versioning and both OCPP payloads, so the three agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from services.access.domain.instants import utc_rfc3339

Status = Literal["Accepted", "Blocked"]

TYPE_PREFERENCE = ("ISO14443", "ISO15693", "KeyCode", "MacAddress", "eMAID", "Local")
"""Which key an OCPP 1.6 list (which has no token types) keeps when tokens collide."""


@dataclass(frozen=True, order=True)
class TokenKey:
    """A key as a charger is shown it: upper-case token and its OCPP 2.0.1 type."""

    id_token: str
    type: str


@dataclass(frozen=True)
class EntryInfo:
    """What a charger answers offline; `expiry` is where a time-bound share's period ends."""

    status: Status
    expiry: datetime | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.expiry is not None:
            data["expiry"] = rfc3339(self.expiry)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EntryInfo:
        expiry = data.get("expiry")
        return cls(data["status"], None if expiry is None else datetime.fromisoformat(expiry))


LocalList = Mapping[TokenKey, EntryInfo]
"""A Full list's content."""

Changes = Mapping[TokenKey, EntryInfo | None]
"""A Differential: each key added or changed with its info, each removed key with None."""


def forgotten_key_token(key_id: UUID) -> str:
    """A forgotten user's key in the lists: a token of its own per key (the log reads all
    of the user's tokens as one pseudonym, which would merge their entries), never a
    real card's, and 20 characters like any token."""
    return f"FORGOTTEN-{key_id.hex[:10].upper()}"


rfc3339 = utc_rfc3339
"""An instant as OCPP's date-time wants it (re-exported for the list modules)."""
