"""How instants are spelled where we write them: in events' JSON and in OCPP payloads."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_rfc3339(moment: datetime) -> str:
    """An instant as OCPP's date-time wants it and most chargers expect: UTC, `Z`."""
    return rfc3339(moment.astimezone(UTC))


def rfc3339(moment: datetime) -> str:
    """As the published events spell instants (pydantic's JSON): UTC as `Z`, any other
    offset as given; so a `why` entry reads exactly like the event that granted it."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
