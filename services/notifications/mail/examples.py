"""Rendered examples of every e-mail in every locale, for reviewers (`docs/emails/`).

`python -m services.notifications.mail.examples docs/emails` writes them; a unit test renders
them again and fails when the committed files drift from the templates.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from events.access_events import (
    AccessEvent,
    ChargerOwnershipTransferred,
    ChargerRef,
    ChargerTransferredToUser,
    InvitationRevoked,
    Person,
    UserAccessChanged,
    UserAccessRemoved,
    UserInvited,
)
from events.envelope import EventEnvelope
from events.text import Locale
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, Renderer

LOCALES: tuple[Locale, ...] = ("nb", "fr", "en")
LINKS = LinkSettings("https://app.example.com", b"example-token-secret")
WHEN = datetime(2026, 3, 12, 14, 30, tzinfo=UTC)

GARAGE = ChargerRef(charger_id=UUID(int=1), name="Garasjen", serial_number="WB-200-0001")
CABIN = ChargerRef(charger_id=UUID(int=2), name="Hytta på Geilo", serial_number="WB-200-0002")
NAMELESS = ChargerRef(charger_id=UUID(int=3), serial_number="WB-200-0003")
KARI = Person(user_id=UUID(int=10), email="kari.nordmann@example.no", name="Kari Nordmann")
OLA = Person(user_id=UUID(int=11), email="ola.hansen@example.no", name="Ola Hansen")


def _events(locale: Locale) -> list[AccessEvent]:
    ola = OLA.model_copy(update={"locale": locale})
    return [
        UserInvited(
            invitation_id=UUID(int=20),
            email="invitee@example.com",
            chargers=[GARAGE, CABIN],
            level="charge",
            locale=locale,
            inviter=KARI,
            expires_at=WHEN,
            token_salt="0" * 32,
        ),
        InvitationRevoked(invitation_id=UUID(int=20), email="invitee@example.com", locale=locale),
        UserAccessChanged(user=ola, changed_by=KARI, chargers=[GARAGE, NAMELESS], level="manage"),
        UserAccessRemoved(user=ola, removed_by=KARI, chargers=[CABIN]),
        ChargerTransferredToUser(
            charger_id=GARAGE.charger_id,
            charger=GARAGE,
            from_owner=KARI.model_copy(update={"locale": locale}),
            to_user=ola,
            from_group_id=UUID(int=10),
            to_group_id=UUID(int=11),
            connected=True,
        ),
        ChargerOwnershipTransferred(
            charger_id=CABIN.charger_id,
            charger=CABIN,
            from_owner_id=UUID(int=10),
            to_owner=ola,
            from_owner=KARI,
        ),
    ]


def examples() -> dict[str, str]:
    """File name (relative to docs/emails) → content, for every kind and locale."""
    renderer = Renderer(LINKS)
    files: dict[str, str] = {}
    for locale in LOCALES:
        for number, event in enumerate(_events(locale)):
            envelope = EventEnvelope(
                id=UUID(int=100 + number),
                type=type(event).__name__,
                subject="example",
                sequence=number + 1,
                time=WHEN,
                data=event.model_dump(mode="json"),
            )
            for notification in notifications_for(envelope):
                rendered = renderer.render(notification)
                stem = f"{locale}/{notification.kind}"
                files[f"{stem}.txt"] = f"Subject: {rendered.subject}\n\n{rendered.text}"
                files[f"{stem}.html"] = rendered.html
    return files


def write(directory: Path) -> None:
    for name, content in examples().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/emails"))
