"""Invitation, reminder and access-changed e-mails state a time-bound share's window in
the reader's language, in both parts; a permanent share's e-mails say nothing of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from charger_access_client.access_events import (
    AccessEvent,
    ChargerRef,
    InvitationResent,
    Person,
    UserAccessChanged,
    UserInvited,
)
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Locale
from charger_access_client.windows import Schedule
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, RenderedEmail, Renderer

LOCALES: tuple[Locale, ...] = ("nb", "fr", "en")
GARAGE = ChargerRef(charger_id=uuid4(), name="Garasjen", serial_number="WB-1")
KARI = Person(user_id=uuid4(), email="kari@example.no", name="Kari Nordmann")
WEEKEND = Schedule.model_validate({
    "time_zone": "Europe/Oslo",
    "windows": [{"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}],
})
# 17:00 and 19:00 UTC in December: 18:00 and 20:00 on an Oslo wall clock
WINDOW: dict[str, Any] = {
    "valid_from": datetime(2026, 12, 6, 17, 0, tzinfo=UTC),
    "valid_until": datetime(2026, 12, 8, 19, 0, tzinfo=UTC),
    "schedule": WEEKEND,
}
SENTENCE = {
    "en": "Your access will be valid from Sunday, December 6, 2026 at 6:00\u202fPM until "
          "Tuesday, December 8, 2026 at 8:00\u202fPM, every Saturday and Sunday "
          "8:00\u202fAM\u20138:00\u202fPM (Europe/Oslo).",
    "nb": "Tilgangen gjelder fra søndag 6. desember 2026 kl. 18:00 til tirsdag 8. desember "
          "2026 kl. 20:00, hver lørdag og søndag kl. 08:00\u201320:00 (Europe/Oslo).",
    "fr": "Cet accès sera valable du dimanche 6 décembre 2026 à 18:00 au mardi 8 décembre "
          "2026 à 20:00, le samedi et le dimanche de 08:00 à 20:00 (Europe/Oslo).",
}
CHANGED = {
    "en": "This access is valid until Sunday, December 6, 2026 at 8:00\u202fPM (UTC+01:00).",
    "nb": "Tilgangen gjelder til søndag 6. desember 2026 kl. 20:00 (UTC+01:00).",
    "fr": "Cet accès est valable jusqu\u2019au dimanche 6 décembre 2026 à 20:00 (UTC+01:00).",
}
VALIDITY_WORDS = ("valid", "gjelder", "valable")


def render(event: AccessEvent) -> RenderedEmail:
    envelope = EventEnvelope(id=uuid4(), type=type(event).__name__, subject="s", sequence=1,
                             time=datetime.now(UTC), data=event.model_dump(mode="json"))
    [notification] = notifications_for(envelope)
    return Renderer(LinkSettings("https://app.example.com", b"secret")).render(notification)


def invitation(
    locale: Locale, *, cls: type[UserInvited] = UserInvited, **window: Any
) -> UserInvited:
    return cls(invitation_id=uuid4(), email="invitee@example.com", chargers=[GARAGE],
               level="charge", locale=locale, inviter=KARI,
               expires_at=datetime(2026, 12, 1, tzinfo=UTC), token_salt="0" * 32, **window)


def changed(locale: Locale, **window: Any) -> UserAccessChanged:
    ola = Person(user_id=uuid4(), email="ola@example.no", name="Ola", locale=locale)
    return UserAccessChanged(user=ola, changed_by=KARI, chargers=[GARAGE], level="charge",
                             **window)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("cls", [UserInvited, InvitationResent])
def test_invitation_and_reminder_state_the_window(locale: Locale, cls: type[UserInvited]) -> None:
    mail = render(invitation(locale, cls=cls, **WINDOW))
    assert f"\n\n{SENTENCE[locale]}\n\n" in mail.text  # a paragraph of its own
    assert f"<p>{SENTENCE[locale]}</p>" in mail.html


@pytest.mark.parametrize("locale", LOCALES)
def test_access_changed_states_the_window(locale: Locale) -> None:
    until = datetime(2026, 12, 6, 20, 0, tzinfo=timezone(timedelta(hours=1)))
    mail = render(changed(locale, valid_until=until))
    assert f"\n\n{CHANGED[locale]}\n\n" in mail.text
    assert f"<p>{CHANGED[locale]}</p>" in mail.html


@pytest.mark.parametrize("locale", LOCALES)
def test_a_permanent_share_reads_as_before(locale: Locale) -> None:
    """The same e-mails without window fields: no sentence about one, no blank-line debris."""
    for timed, permanent in (
        (render(invitation(locale, **WINDOW)), render(invitation(locale))),
        (render(changed(locale, **WINDOW)), render(changed(locale))),
    ):
        for part in (permanent.text, permanent.html):
            assert not any(word in part for word in VALIDITY_WORDS)
            assert "Europe/Oslo" not in part
            assert "\n\n\n" not in part
        assert permanent.subject == timed.subject
        assert len(timed.text.splitlines()) == len(permanent.text.splitlines()) + 2

