"""What every folder shares: the event's values as the published JSON or the store has
them (ids as strings or UUIDs, times as strings or datetimes), and a share's `why`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from services.access.domain.windows import Window
from services.access.projection.rows import BatchChanges, Head, HistoryRow

Data = dict[str, Any]

Folder = Callable[[BatchChanges, int, Head, Data], None]
"""A folder: (the batch's changes, the event's position, its head, its data)."""


def share_reason(source: dict[str, Any]) -> dict[str, Any]:
    """The `why` of a share, naming the invitation or the access update that granted it."""
    if source.get("invitation_id") is not None:
        return {"source": "share", "invitation_id": str(source["invitation_id"])}
    if source.get("command_id") is not None:
        return {"source": "share", "command_id": str(source["command_id"])}
    return {"source": "share"}


def share_why(source: dict[str, Any], window: Window) -> dict[str, Any]:
    """The `why` of a share with its window: a time-bound share's entry also carries
    `valid_from`, `valid_until` and `schedule` (ISO text, the schedule as on the wire), so
    a reader can tell when it is in effect; a permanent share's entry is `share_reason`'s."""
    why = share_reason(source)
    if not window.permanent:
        why.update(window.to_data())
    return why


def window_of(data: Data) -> Window:
    """The window an event's `valid_from` / `valid_until` / `schedule` describe."""
    return Window.from_data(
        {"valid_from": data.get("valid_from"), "valid_until": data.get("valid_until"),
         "schedule": data.get("schedule")})


def uuid_of(value: str | UUID) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def optional_uuid(value: str | UUID | None) -> UUID | None:
    return None if value is None else uuid_of(value)


def instant_of(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def add_history(
    changes: BatchChanges,
    position: int,
    env: Head,
    charger_id: UUID | None,
    details: dict[str, Any],
    *,
    invitation_id: UUID | None = None,
) -> None:
    changes.history.append(HistoryRow(charger_id, invitation_id, position, env, details))
