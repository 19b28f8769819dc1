"""Events and envelopes for notification tests, built with the contract's own models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from charger_access_client.access_events import AccessEvent, ChargerRef, Person, UserInvited
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Locale


def charger(name: str | None = "Garasjen", serial: str = "WB-1") -> ChargerRef:
    return ChargerRef(charger_id=uuid4(), name=name, serial_number=serial)


def person(
    email: str = "kari@example.no", name: str | None = "Kari Nordmann", locale: Locale = "en"
) -> Person:
    return Person(user_id=uuid4(), email=email, name=name, locale=locale)


def invited(
    email: str = "invitee@example.com", locale: Locale = "en", **changes: Any
) -> UserInvited:
    fields: dict[str, Any] = {
        "invitation_id": uuid4(),
        "email": email,
        "chargers": [charger()],
        "level": "charge",
        "locale": locale,
        "inviter": person(),
        "expires_at": datetime.now(UTC) + timedelta(days=7),
        "token_salt": uuid4().hex,
    }
    fields.update(changes)
    return UserInvited(**fields)


def envelope(
    event: AccessEvent, event_id: UUID | None = None, type_name: str | None = None
) -> EventEnvelope:
    return EventEnvelope(
        id=event_id or uuid4(),
        type=type_name or type(event).__name__,
        subject="subject",
        sequence=1,
        time=datetime.now(UTC),
        data=event.model_dump(mode="json"),
    )
