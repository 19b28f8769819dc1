"""`share_ending`: one e-mail to the share's holder, in their language, naming the
charger and when the access ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from babel.dates import format_date, format_time

from charger_access_client.access_events import ChargerRef, Person, ShareEnding
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Locale
from services.notifications.mail.message import HeaderHazardError, address, build_message
from services.notifications.mail.recipients import (
    MAILING_TYPES,
    UnknownEventError,
    notifications_for,
)
from services.notifications.mail.render import LinkSettings, RenderedEmail, Renderer

LOCALES: tuple[Locale, ...] = ("nb", "fr", "en")
ENDS = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)  # 20:00 in Oslo (summer, +02:00)
SUBJECT = {
    "nb": "Tilgangen din til Hytta slutter snart",
    "fr": "Votre accès à la borne Hytta prend bientôt fin",
    "en": "Your access to Hytta ends soon",
}


def ending(locale: Locale = "en", **changes: Any) -> ShareEnding:
    holder = Person(user_id=uuid4(), email="ola@example.no", name="Ola Hansen", locale=locale)
    fields: dict[str, Any] = {
        "charger_id": uuid4(),
        "user_id": holder.user_id,
        "level": "charge",
        "valid_until": ENDS,
        "at": ENDS - timedelta(hours=24),
        "user": holder,
        "charger": ChargerRef(charger_id=uuid4(), name="Hytta", serial_number="WB-9"),
    }
    fields.update(changes)
    return ShareEnding(**fields)


def envelope(event: ShareEnding, type_name: str = "ShareEnding") -> EventEnvelope:
    return EventEnvelope(id=uuid4(), type=type_name, subject="s", sequence=1,
                         time=datetime.now(UTC), data=event.model_dump(mode="json"))


def render(event: ShareEnding) -> RenderedEmail:
    [notification] = notifications_for(envelope(event))
    return Renderer(LinkSettings("https://app.example.com", b"secret")).render(notification)


def test_goes_once_to_the_holder_as_share_ending() -> None:
    event = ending("fr")
    [notification] = notifications_for(envelope(event))
    assert notification.kind == "share_ending"
    assert notification.to == event.user
    assert notification.recipient == "ola@example.no"
    assert "ShareEnding" in MAILING_TYPES


def test_a_forgotten_holder_is_not_mailed() -> None:
    event = ending()
    pseudonym = event.user.model_copy(update={"email": f"{uuid4()}@forgotten.invalid"})
    assert notifications_for(envelope(event.model_copy(update={"user": pseudonym}))) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_names_the_charger_and_the_end_in_the_holders_language(locale: Locale) -> None:
    """Without the schedule's zone, the end is shown in the offset it carries (UTC here);
    with it, on that zone's wall clock (summer time: two hours later)."""
    plain = render(ending(locale))
    assert plain.subject == SUBJECT[locale]
    for part in (plain.text, plain.html):
        assert "Hytta" in part
        assert format_date(ENDS, "full", locale=locale) in part
        assert f"{format_time(ENDS, 'short', locale=locale)} (UTC)" in part
    zoned = render(ending(locale, time_zone="Europe/Oslo"))
    oslo = ENDS.astimezone(timezone(timedelta(hours=2)))
    for part in (zoned.text, zoned.html):
        assert f"{format_time(oslo, 'short', locale=locale)} (Europe/Oslo)" in part
    assert zoned.text.startswith({"nb": "Hei Ola Hansen,", "fr": "Bonjour Ola Hansen,",
                                  "en": "Hi Ola Hansen,"}[locale])


def test_literal_english_text() -> None:
    mail = render(ending("en", time_zone="Europe/Oslo", level="manage"))
    assert ("Your access to the charger Hytta ends on Saturday, July 4, 2026 at 8:00\u202fPM "
            "(Europe/Oslo). After that, you can no longer charge with it or manage it.") in mail.text
    assert "<strong>Hytta</strong>" in mail.html


def test_a_nameless_charger_is_named_by_its_serial_number() -> None:
    mail = render(ending("nb", charger=ChargerRef(charger_id=uuid4(), serial_number="WB-9")))
    assert mail.subject == "Tilgangen din til WB-9 slutter snart"


@pytest.mark.parametrize("name", ["Hytta\r\nBcc: evil@attacker.example", "=?utf-8?q?Hytta?="])
def test_a_hostile_charger_name_cannot_reach_the_subject_header(name: str) -> None:
    mail = render(ending(charger=ChargerRef(charger_id=uuid4(), name=name, serial_number="S")))
    with pytest.raises(HeaderHazardError):
        build_message(mail, sender=address("no-reply@example.com"), to=address("ola@example.no"),
                      msg_id="<x@charger-access>", date=datetime.now(UTC), locale="en")


def test_an_event_type_this_version_does_not_know_is_refused_not_guessed() -> None:
    """What an older version does with ShareEnding: skip it as unknown (the deliverer
    counts and logs it), never crash on it."""
    with pytest.raises(UnknownEventError):
        notifications_for(envelope(ending(), type_name="ShareEndingSoonV9"))
