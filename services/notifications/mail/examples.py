"""Rendered examples of every e-mail in every locale, for reviewers (`docs/emails/`).

`python -m services.notifications.mail.examples docs/emails` writes them; a unit test renders
them again and fails when the committed files drift from the templates.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

from charger_access_client.access_events import (
    AccessEvent,
    ChargerOwnershipTransferred,
    ChargerRef,
    ChargerTransferredToUser,
    InvitationRevoked,
    Person,
    ShareEnding,
    UserAccessChanged,
    UserAccessRemoved,
    UserInvited,
)
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Locale
from charger_access_client.windows import Schedule
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
OSLO_WINTER = timezone(timedelta(hours=1))
WEEKDAYS = Schedule.model_validate({
    "time_zone": "Europe/Oslo",
    "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "until": "17:00"}],
})
WEEKEND_ENDS = datetime(2026, 12, 6, 20, 0, tzinfo=OSLO_WINTER)


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
        ShareEnding(
            charger_id=GARAGE.charger_id,
            user_id=ola.user_id,
            level="charge",
            valid_until=WEEKEND_ENDS,
            at=WEEKEND_ENDS - timedelta(hours=24),
            user=ola,
            charger=GARAGE,
        ),
    ]


def _time_bound(locale: Locale) -> list[AccessEvent]:
    """The e-mails that state a window; a permanent share's read as the ones above."""
    ola = OLA.model_copy(update={"locale": locale})
    return [
        UserInvited(  # a tradesman, on weekdays for one week
            invitation_id=UUID(int=21),
            email="invitee@example.com",
            chargers=[GARAGE],
            level="charge",
            locale=locale,
            inviter=KARI,
            expires_at=WHEN,
            token_salt="1" * 32,
            valid_from=datetime(2026, 3, 16, 7, 0, tzinfo=OSLO_WINTER),
            valid_until=datetime(2026, 3, 20, 17, 0, tzinfo=OSLO_WINTER),
            schedule=WEEKDAYS,
        ),
        UserAccessChanged(  # a neighbour, for a weekend
            user=ola,
            changed_by=KARI,
            chargers=[GARAGE],
            level="charge",
            valid_from=datetime(2026, 12, 4, 18, 0, tzinfo=OSLO_WINTER),
            valid_until=WEEKEND_ENDS,
        ),
    ]


def examples() -> dict[str, str]:
    """File name (relative to docs/emails) → content, for every kind and locale, and
    `<kind>_time_bound` for the kinds that state a share's window."""
    renderer = Renderer(LINKS)
    files: dict[str, str] = {}
    for locale in LOCALES:
        events = [("", e) for e in _events(locale)]
        events += [("_time_bound", e) for e in _time_bound(locale)]
        for number, (variant, event) in enumerate(events):
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
                stem = f"{locale}/{notification.kind}{variant}"
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
