"""Turns a `Notification` into the subject, plain text and HTML a person reads.

Templates live in `templates/<locale>/<kind>.txt` (blocks `subject` and `body`) and
`templates/<locale>/<kind>.html` (extends `base.html`), so each e-mail kind is written
natively per language rather than translated phrase by phrase. HTML is autoescaped;
plain text is not. Dates and plurals come from Babel (CLDR), not from hand-made rules.

The invitation token is derived here, at render time, from the salt in the event and
`TOKEN_SECRET`: it exists only in the e-mail, never in a store or a log.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale as BabelLocale
from babel.dates import format_date, format_time
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from charger_access_client.access_events import (
    ChargerRef,
    InvitationResent,
    Person,
    ShareEnding,
    UserAccessChanged,
    UserInvited,
)
from charger_access_client.text import Locale
from services.common.tokens import invitation_token
from services.notifications.mail.recipients import Notification
from services.notifications.mail.windows import describe_moment, describe_window

TEMPLATES = Path(__file__).parent / "templates"

TIME_ZONES: dict[Locale, ZoneInfo] = {
    "nb": ZoneInfo("Europe/Oslo"),
    "fr": ZoneInfo("Europe/Paris"),
    "en": ZoneInfo("UTC"),
}
"""We know no recipient's time zone; each language shows times where most of its
readers live, and the templates say which zone it is."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class LinkSettings:
    """What links in e-mails need: where the app lives and the token key."""

    public_base_url: str
    token_secret: bytes


class Renderer:
    """Renders notifications; one instance (and one template cache) per process."""

    def __init__(self, links: LinkSettings, templates: Path = TEMPLATES) -> None:
        self._links = links
        self._env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # templates ship with the code: no stat() per render
        )
        self._cache: dict[tuple[str, str], tuple[Template, Template]] = {}

    def render(self, notification: Notification) -> RenderedEmail:
        locale = notification.to.locale
        context = self._context(notification, locale)
        text_template, html_template = self._templates(locale, notification.kind)
        text_context = text_template.new_context(context)
        subject = "".join(text_template.blocks["subject"](text_context)).strip()
        text = "".join(text_template.blocks["body"](text_context)).strip() + "\n"
        html = html_template.render(context, subject=subject)
        return RenderedEmail(subject=subject, text=text, html=html)

    def _templates(self, locale: Locale, kind: str) -> tuple[Template, Template]:
        """Looked up once per (locale, kind): Jinja's own lookup costs more than a dict."""
        key = (locale, kind)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = (
                self._env.get_template(f"{locale}/{kind}.txt"),
                self._env.get_template(f"{locale}/{kind}.html"),
            )
        return found

    def _context(self, notification: Notification, locale: Locale) -> dict[str, Any]:
        event = notification.event
        babel = _babel(locale)
        context: dict[str, Any] = {
            "event": event,
            "to": notification.to,
            "person": display_person,
            "charger": display_charger,
            "chargers": lambda refs: [display_charger(ref) for ref in refs],
            "join": lambda items: format_list(list(items), locale=babel),
            "plural": lambda n, one, other: one if _plural_form(n, locale) == "one" else other,
            "date": lambda value: _full_date(_local(value, locale).date(), locale),
            "time": lambda value: _short_time(*_hour_minute(_local(value, locale)), locale),
            "app_url": self._links.public_base_url,
            "resent": isinstance(event, InvitationResent),
        }
        if isinstance(event, UserInvited):
            context["accept_url"] = self.accept_url(event)
        if isinstance(event, UserInvited | UserAccessChanged):
            # None for a permanent share: its e-mails read exactly as before windows existed
            context["window"] = describe_window(
                event.valid_from, event.valid_until, event.schedule, locale
            )
        if isinstance(event, ShareEnding):
            context["ends"] = describe_moment(event.valid_until, event.time_zone, locale)
        return context

    def accept_url(self, event: UserInvited) -> str:
        token = invitation_token(self._links.token_secret, event.invitation_id, event.token_salt)
        base = self._links.public_base_url
        return f"{base}/invitations/{event.invitation_id}/accept?token={token}"


def display_person(person: Person) -> str:
    """A person as e-mails name them: their name, else their address."""
    return person.name or person.email


def display_charger(charger: ChargerRef) -> str:
    """A charger as e-mails name it: its name, else its serial number."""
    return charger.name or charger.serial_number


@functools.cache
def _babel(locale: Locale) -> BabelLocale:
    """Parsed once per process: `Locale.parse` per call was a third of the render time."""
    return BabelLocale.parse(locale)


def _plural_form(count: int | Sequence[object], locale: Locale) -> str:
    return _plural_category(count if isinstance(count, int) else len(count), locale)


@functools.lru_cache(maxsize=1024)
def _plural_category(number: int, locale: Locale) -> str:
    form: str = _babel(locale).plural_form(number)
    return form


@functools.lru_cache(maxsize=1024)
def _full_date(day: date, locale: Locale) -> str:
    """Babel's formatting costs tens of microseconds a call; e-mails sent together name
    the same few days."""
    return format_date(day, "full", locale=_babel(locale))


@functools.lru_cache(maxsize=4096)
def _short_time(hour: int, minute: int, locale: Locale) -> str:
    """The short time pattern shows hours and minutes only (and AM/PM), nothing else."""
    return format_time(time(hour, minute), "short", locale=_babel(locale))


def _hour_minute(value: datetime) -> tuple[int, int]:
    return value.hour, value.minute


def _local(value: datetime, locale: Locale) -> datetime:
    return value.astimezone(TIME_ZONES[locale])
