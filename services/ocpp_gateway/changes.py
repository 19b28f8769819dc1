"""A `LocalListChanged` record from `access.local-lists`, as the gateway needs it: whose,
which version from which, and the event's data (the Differentials it forwards)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

EVENT_TYPE = "LocalListChanged"


@dataclass(frozen=True)
class ListChange:
    charger_id: UUID
    version: int
    previous_version: int
    data: dict[str, Any]


def parse_change(value: bytes | None) -> ListChange | None:
    """The change a record carries; None for anything else (skipped, never fatal)."""
    try:
        event = json.loads(value or b"")
        if event.get("type") != EVENT_TYPE:
            return None
        data = event["data"]
        return ListChange(
            UUID(data["charger_id"]), int(data["version"]), int(data["previous_version"]), data
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
