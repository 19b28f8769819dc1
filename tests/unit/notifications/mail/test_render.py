from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import uuid4

import pytest

from charger_access_client.access_events import ChargerOwnershipTransferred, InvitationResent
from charger_access_client.text import Locale
from services.common.tokens import invitation_token
from services.notifications.mail import examples
from services.notifications.mail.recipients import KINDS, Notification, notifications_for
from services.notifications.mail.render import LinkSettings, RenderedEmail, Renderer
from tests.unit.notifications.factories import charger, envelope, invited, person

LINKS = LinkSettings("https://app.example.com", b"unit-test-secret")
LOCALES: tuple[Locale, ...] = ("nb", "fr", "en")
WORD_FOR_CHARGER = {"nb": "lader", "fr": "borne", "en": "charger"}
EXPIRY_DATE = {"nb": "12. mars 2026", "fr": "12 mars 2026", "en": "March 12, 2026"}
EXPIRY_TIME = {"nb": "kl. 15:30", "fr": "à 15:30", "en": "2:30"}


def render_all(locale: Locale) -> dict[str, tuple[Notification, RenderedEmail]]:
    renderer = Renderer(LINKS)
    result: dict[str, tuple[Notification, RenderedEmail]] = {}
    for event in examples._events(locale):
        for notification in notifications_for(envelope(event)):
            result[notification.kind] = (notification, renderer.render(notification))
    return result


@pytest.mark.parametrize("locale", LOCALES)
def test_every_kind_renders_in_the_recipients_language(locale: Locale) -> None:
    rendered = render_all(locale)
    assert set(rendered) == set(KINDS)
    for kind, (_, mail) in rendered.items():
        assert mail.subject, kind
        assert "\n" not in mail.subject, kind
        assert WORD_FOR_CHARGER[locale] in (mail.subject + mail.text).lower(), kind
        for part in (mail.subject, mail.text, mail.html):
            for leftover in ("{{", "{%", "None"):
                assert leftover not in part, kind
        assert f'<html lang="{locale}">' in mail.html
        assert mail.subject.replace("&", "&amp;") in mail.html


@pytest.mark.parametrize("locale", LOCALES)
def test_invitation_names_chargers_inviter_expiry_and_a_working_link(locale: Locale) -> None:
    event = invited(
        locale=locale,
        chargers=[charger("Garasjen", "S1"), charger(None, "SERIAL-2")],
        inviter=person(name="Kari Nordmann"),
        expires_at=datetime(2026, 3, 12, 14, 30, tzinfo=UTC),
    )
    [notification] = notifications_for(envelope(event))
    mail = Renderer(LINKS).render(notification)
    for part in (mail.text, mail.html):
        assert "Garasjen" in part
        assert "SERIAL-2" in part
        assert "Kari Nordmann" in part
        assert EXPIRY_DATE[locale] in part
        assert EXPIRY_TIME[locale] in part
    assert "Kari Nordmann" in mail.subject
    assert "2" in mail.subject
    link = next(w for w in mail.text.split() if w.startswith("https://"))
    url = urlparse(link)
    assert url.netloc == "app.example.com"
    assert url.path == f"/invitations/{event.invitation_id}/accept"
    token = invitation_token(LINKS.token_secret, event.invitation_id, event.token_salt)
    assert parse_qs(url.query) == {"token": [token]}
    assert f'href="{link}"' in mail.html


@pytest.mark.parametrize(
    ("locale", "one", "many"),
    [
        ("nb", "en lader", "2 ladere"),
        ("fr", "une borne", "2 bornes"),
        ("en", "a charger", "2 chargers"),
    ],
)
def test_invitation_subject_uses_the_right_plural(locale: Locale, one: str, many: str) -> None:
    renderer = Renderer(LINKS)
    single = invited(locale=locale, chargers=[charger()])
    double = invited(locale=locale, chargers=[charger(), charger("B", "S2")])
    [n1] = notifications_for(envelope(single))
    [n2] = notifications_for(envelope(double))
    assert one in renderer.render(n1).subject
    assert many in renderer.render(n2).subject


@pytest.mark.parametrize("locale", LOCALES)
def test_resent_invitation_says_the_old_link_is_dead(locale: Locale) -> None:
    event = InvitationResent(**invited(locale=locale).model_dump())
    [notification] = notifications_for(envelope(event))
    mail = Renderer(LINKS).render(notification)
    assert mail.subject.startswith({"nb": "Påminnelse", "fr": "Rappel", "en": "Reminder"}[locale])


def test_access_changed_lists_the_new_chargers() -> None:
    rendered = render_all("fr")
    _, mail = rendered["access_changed"]
    assert "Garasjen" in mail.text
    assert "WB-200-0003" in mail.text
    assert "Hytta på Geilo" not in mail.text


def test_names_are_escaped_in_html_but_not_in_plain_text() -> None:
    event = invited(inviter=person(name="<script>alert(1)</script> & Co"))
    [notification] = notifications_for(envelope(event))
    mail = Renderer(LINKS).render(notification)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in mail.html
    assert "<script>alert(1)</script> & Co" in mail.text


def test_the_token_depends_on_the_secret() -> None:
    event = invited(invitation_id=uuid4())
    [notification] = notifications_for(envelope(event))
    one = Renderer(LINKS).render(notification).text
    other = Renderer(LinkSettings(LINKS.public_base_url, b"another-secret")).render(notification)
    assert one != other.text


def test_committed_examples_match_the_templates() -> None:
    """docs/emails/ is what reviewers read; regenerate with
    `python -m services.notifications.mail.examples docs/emails`."""
    from pathlib import Path

    docs = Path(__file__).resolve().parents[4] / "docs" / "emails"
    expected = examples.examples()
    every_kind = {f"{lo}/{k}.{x}" for lo in LOCALES for k in KINDS for x in ("txt", "html")}
    assert every_kind <= set(expected)  # and `<kind>_time_bound` for the windows
    committed = {
        str(p.relative_to(docs)): p.read_text("utf-8")
        for p in docs.rglob("*.*")
        if p.suffix in (".txt", ".html")
    }
    assert committed == expected


@pytest.mark.parametrize("locale", LOCALES)
def test_ownership_names_the_previous_owner_when_the_event_carries_them(locale: Locale) -> None:
    base: dict[str, Any] = {
        "charger_id": uuid4(),
        "charger": charger("Hytta", "S9"),
        "from_owner_id": uuid4(),
        "to_owner": person(email="ola@example.no", name="Ola", locale=locale),
    }
    renderer = Renderer(LINKS)
    with_name = ChargerOwnershipTransferred(**base, from_owner=person(name="Kari Nordmann"))
    older = ChargerOwnershipTransferred(**base)  # events from before the field existed
    [named] = notifications_for(envelope(with_name))
    [anonymous] = notifications_for(envelope(older))
    for mail in (renderer.render(named), renderer.render(anonymous)):
        assert "Hytta" in mail.text
        assert "Hytta" in mail.html
    assert "Kari Nordmann" in renderer.render(named).text
    assert "Kari Nordmann" in renderer.render(named).html
    assert "Kari Nordmann" not in renderer.render(anonymous).text
