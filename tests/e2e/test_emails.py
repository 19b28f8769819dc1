"""Every e-mail kind through the real processes, in nb, fr and en, each arriving once.

Commands go in on Kafka as another service would send them; the access service stores
and relays the events; the notification service sends the e-mails to a real aiosmtpd
server; each received message is parsed (recipient, subject, Content-Language, the
bodies, the invitation link), not just counted. The three locales run side by side.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from charger_access_client.text import Locale
from tests.e2e.conftest import System
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e

BASE = "https://charge.example"


@dataclass(frozen=True)
class Cast:
    """The people and chargers of one locale's scenario (names with their own letters)."""

    owner: str
    guest: str
    admin: str
    recipient: str
    chargers: tuple[str, str]
    depot: str


CASTS: dict[Locale, Cast] = {
    "nb": Cast("Kari Nordmann", "Ørjan Æsøy", "Åse Berg", "Ola Hansen",
               ("Garasjen", "Hytta på Geilo"), "Depot Ørsta"),
    "fr": Cast("Élodie Dupont", "François Petit", "Chloé Bernard", "Jean Martin",
               ("Garage", "Chalet à Megève"), "Dépôt Lyon"),
    "en": Cast("Jane Smith", "Sam Green", "Ann Lee", "Tom Brown",
               ("Driveway", "Cabin"), "Depot 1"),
}

SUBJECTS: dict[Locale, dict[str, str]] = {
    "nb": {
        "invitation": "{owner} har delt 2 ladere med deg",
        "invitation_resent": "Påminnelse: {owner} har delt 2 ladere med deg",
        "invitation_revoked": "Invitasjonen til å bruke en lader er trukket tilbake",
        "access_changed": "{owner} har endret tilgangen din til ladere",
        "access_removed": "Tilgangen din til ladere er fjernet",
        "ownership_transferred": "Du er nå eier av laderen {depot}",
        "charger_transferred_to_you": "{owner} har overført laderen {first} til deg",
        "charger_transferred_from_you": "Laderen {first} er overført til {recipient}",
    },
    "fr": {
        "invitation": "{owner} partage 2 bornes de recharge avec vous",
        "invitation_resent": "Rappel : {owner} partage 2 bornes de recharge avec vous",
        "invitation_revoked": "Votre invitation à utiliser une borne de recharge a été annulée",
        "access_changed": "{owner} a modifié vos accès aux bornes de recharge",
        "access_removed": "Votre accès à des bornes de recharge a été retiré",
        "ownership_transferred": "Vous êtes désormais propriétaire de la borne {depot}",
        "charger_transferred_to_you": "{owner} vous a transféré la borne {first}",
        "charger_transferred_from_you": "La borne {first} a été transférée à {recipient}",
    },
    "en": {
        "invitation": "{owner} has shared 2 chargers with you",
        "invitation_resent": "Reminder: {owner} has shared 2 chargers with you",
        "invitation_revoked": "Your invitation to use a charger has been withdrawn",
        "access_changed": "{owner} has changed your access to chargers",
        "access_removed": "Your access to chargers has been removed",
        "ownership_transferred": "You are now the owner of the charger {depot}",
        "charger_transferred_to_you": "{owner} has transferred the charger {first} to you",
        "charger_transferred_from_you": "The charger {first} has been transferred to {recipient}",
    },
}


@dataclass
class Expected:
    """The e-mails one locale's scenario must produce, per address, in order."""

    locale: Locale
    cast: Cast
    mails: dict[str, list[str]] = field(default_factory=dict)
    invitation_id: uuid.UUID | None = None

    def expect(self, address: str, kind: str) -> None:
        self.mails.setdefault(address, []).append(kind)

    def subject(self, kind: str) -> str:
        c = self.cast
        return SUBJECTS[self.locale][kind].format(
            owner=c.owner, depot=c.depot, first=c.chargers[0], recipient=c.recipient
        )


def header(message: Message, name: str) -> str:
    """A header as a person reads it (RFC 2047 encoded words decoded)."""
    return str(make_header(decode_header(message[name])))


def part(message: Message, subtype: str) -> str:
    for piece in message.walk():
        if piece.get_content_type() == f"text/{subtype}":
            payload = piece.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(piece.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


def mails_to(system: System, address: str) -> list[Message]:
    return [m for m in system.sink.messages if parseaddr(m["To"])[1] == address]


async def accepted(commands: CommandClient, type_: str, actor: uuid.UUID, **data: Any) -> None:
    clean = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}
    result = await commands.run(type_, clean, actor)
    assert result["status"] == "accepted", (type_, result)


async def person(commands: CommandClient, name: str, locale: Locale) -> tuple[uuid.UUID, str]:
    user = uuid.uuid4()
    address = f"e2e-{user.hex[:12]}@example.com"
    await accepted(commands, "RegisterUser", user, user_id=user, email=address, name=name,
                   locale=locale)
    return user, address


async def charger(commands: CommandClient, owner: uuid.UUID, name: str, **extra: Any) -> uuid.UUID:
    charger_id = uuid.uuid4()
    await accepted(commands, "RegisterCharger", owner, charger_id=charger_id,
                   serial_number=f"E2E-{charger_id.hex[:12]}", name=name, **extra)
    return charger_id


async def scenario(commands: CommandClient, locale: Locale) -> Expected:
    """Drive every e-mail kind for people who read `locale`."""
    cast = CASTS[locale]
    expected = Expected(locale, cast)
    owner, owner_email = await person(commands, cast.owner, locale)
    guest, guest_email = await person(commands, cast.guest, locale)
    admin, admin_email = await person(commands, cast.admin, locale)
    _, recipient_email = await person(commands, cast.recipient, locale)
    first, second = [await charger(commands, owner, name) for name in cast.chargers]

    # An invitation to someone without an account: in the invitation's locale; sent
    # again (new link), then withdrawn.
    invitee = f"e2e-invitee-{uuid.uuid4().hex[:12]}@example.com"
    expected.invitation_id = uuid.uuid4()
    await accepted(commands, "InviteUser", owner, invitation_id=expected.invitation_id,
                   email=invitee, charger_ids=[str(first), str(second)], locale=locale)
    expected.expect(invitee, "invitation")
    await accepted(commands, "ResendInvitation", owner, invitation_id=expected.invitation_id)
    expected.expect(invitee, "invitation_resent")
    await accepted(commands, "RevokeInvitation", owner, invitation_id=expected.invitation_id)
    expected.expect(invitee, "invitation_revoked")

    # Access given directly, then all of it removed.
    await accepted(commands, "UpdateUserAccess", owner, user_id=guest,
                   charger_ids=[str(first), str(second)])
    expected.expect(guest_email, "access_changed")
    await accepted(commands, "RemoveUser", owner, user_id=guest)
    expected.expect(guest_email, "access_removed")

    # Ownership handed to an admin of the fleet group the charger is in.
    fleet = uuid.uuid4()
    await accepted(commands, "CreateGroup", owner, group_id=fleet, name=f"Fleet {locale}")
    await accepted(commands, "AddGroupMember", owner, group_id=fleet, user_id=admin, role="admin")
    depot = await charger(commands, owner, cast.depot, group_id=fleet)
    await accepted(commands, "TransferChargerOwnership", owner, charger_id=depot,
                   new_owner_id=admin)
    expected.expect(admin_email, "ownership_transferred")

    # A charger given to another user by e-mail: both sides are told.
    await accepted(commands, "TransferChargerToUser", owner, charger_id=first,
                   recipient_email=recipient_email, keep_connection=True)
    expected.expect(recipient_email, "charger_transferred_to_you")
    expected.expect(owner_email, "charger_transferred_from_you")
    return expected


async def arrived(system: System, expected: list[Expected], seconds: float = 60) -> None:
    wanted = {address: len(kinds) for e in expected for address, kinds in e.mails.items()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while any(len(mails_to(system, a)) < n for a, n in wanted.items()):
        if loop.time() > deadline:
            missing = {a: (len(mails_to(system, a)), n) for a, n in wanted.items()
                       if len(mails_to(system, a)) < n}
            raise TimeoutError(f"e-mails missing (got, wanted): {missing}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # time enough for a duplicate to show up


@pytest.fixture(scope="module")
async def scenarios(system: System, commands: CommandClient) -> list[Expected]:
    expected = list(await asyncio.gather(*(scenario(commands, loc) for loc in ("nb", "fr", "en"))))
    await arrived(system, expected)
    return expected


@pytest.mark.parametrize("index", [0, 1, 2], ids=["nb", "fr", "en"])
async def test_each_email_kind_arrives_once_in_the_recipients_language(
    system: System, scenarios: list[Expected], index: int
) -> None:
    expected = scenarios[index]
    for address, kinds in expected.mails.items():
        received = mails_to(system, address)
        # Exactly the e-mails expected (no duplicate, no stray), in the order caused.
        assert [header(m, "Subject") for m in received] == [expected.subject(k) for k in kinds]
        for message, kind in zip(received, kinds, strict=True):
            assert message["Content-Language"] == expected.locale, kind
            assert parseaddr(message["To"])[1] == address
            assert message["X-Envelope-To"] == address
            assert message["Auto-Submitted"] == "auto-generated"
            text, html = part(message, "plain"), part(message, "html")
            assert f'<html lang="{expected.locale}">' in html
            check_body(expected, kind, text, html)


def check_body(expected: Expected, kind: str, text: str, html: str) -> None:
    cast = expected.cast
    mentions: list[str] = {
        "invitation": [cast.owner, *cast.chargers],
        "invitation_resent": [cast.owner, *cast.chargers],
        "invitation_revoked": [],
        "access_changed": [cast.owner, *cast.chargers],
        "access_removed": [cast.owner, *cast.chargers],
        "ownership_transferred": [cast.depot],
        "charger_transferred_to_you": [cast.owner, cast.chargers[0]],
        "charger_transferred_from_you": [cast.recipient, cast.chargers[0]],
    }[kind]
    for name in mentions:
        assert name in text, (kind, name)
        assert name in html, (kind, name)
    if kind.startswith("invitation") and kind != "invitation_revoked":
        link = re.search(rf"{re.escape(BASE)}/invitations/\S+", text)
        assert link is not None, text
        url = urlparse(link.group(0))
        assert url.path == f"/invitations/{expected.invitation_id}/accept"
        [token] = parse_qs(url.query)["token"]
        assert len(token) >= 22  # >= 128 bits, base64url
        assert f'href="{link.group(0)}"' in html


def test_a_resent_invitation_carries_a_new_link(system: System, scenarios: list[Expected]) -> None:
    for expected in scenarios:
        [invitee] = [a for a, kinds in expected.mails.items() if kinds[0] == "invitation"]
        first, resent, _ = mails_to(system, invitee)
        links = [re.search(rf"{re.escape(BASE)}/invitations/\S+", part(m, "plain")) for m in (first, resent)]
        assert links[0] is not None
        assert links[1] is not None
        assert links[0].group(0) != links[1].group(0)


def test_every_message_id_is_unique(system: System, scenarios: list[Expected]) -> None:
    ours = {a for e in scenarios for a in e.mails}
    ids = Counter(m["Message-ID"] for m in system.sink.messages if parseaddr(m["To"])[1] in ours)
    assert sum(ids.values()) == sum(len(k) for e in scenarios for k in e.mails.values())
    assert set(ids.values()) == {1}
