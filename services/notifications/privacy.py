"""Personal data in the sent-log: keyed recipient hashes, and forgetting a person.

The sent-log's dedupe key is not the address but a keyed hash of it (`RecipientKeys`):
a row that was sent keeps only the event id and that hash. Its envelope (the names and
addresses the e-mail was built from) is kept only while the e-mail is still to send.

When `UserForgotten` arrives, rows addressed to the person are closed (`forgotten` when
still pending) and lose their envelope and error, and the envelopes of e-mails still to
send to others that mention the person are rewritten with the pseudonyms the event
carries (`pseudonymise`): the same names every reader of the log now sees.

Everything here is pure: the sent-log and the deliverer do the I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from charger_access_client.text import normalise_email

KEY_PREFIX = "k1:"
"""Marks a recipient column value as a keyed hash (version 1), never an address."""

PERSON_FIELDS = frozenset({"user_id", "email", "name", "phone", "locale"})
"""The fields of a JSON object that is a person (`Person`, `UserRegistered`'s data)."""

UNDELIVERABLE_SUFFIX = ".invalid"
"""RFC 2606's reserved top-level domain: the pseudonyms of forgotten people live there."""


def undeliverable(address: str) -> bool:
    """True for an address no e-mail is ever sent to (a forgotten person's pseudonym)."""
    return normalise_email(address).endswith(UNDELIVERABLE_SUFFIX)


class RecipientKeys:
    """HMAC-SHA256 of the normalised address under a key derived from `TOKEN_SECRET`.

    Keyed, so the sent-log alone does not let anyone confirm a guessed address.
    Rotating `TOKEN_SECRET` changes every key: events redelivered from before the
    rotation would then be sent again (as would their invitation links break)."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"charger-access/notifications/recipient", "sha256").digest()

    def __call__(self, address: str) -> str:
        digest = hmac.new(self._key, normalise_email(address).encode(), hashlib.sha256)
        return KEY_PREFIX + digest.hexdigest()


def is_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and "@" not in value


@dataclass(frozen=True)
class PersonSeen:
    """A person-shaped object found in an envelope."""

    user_id: UUID | None
    email: str | None
    name: str | None


@dataclass(frozen=True)
class Seen:
    """Every person-shaped object (with an `email`) and every string that looks like an
    address anywhere in a parsed JSON value, each in document order."""

    people: list[PersonSeen]
    addresses: list[str]


def seen_in(value: Any) -> Seen:
    """What `value` holds of people and addresses, in one walk without generators: a batch's
    intake walked each event three times with recursive generators (3 % of the service's
    CPU in P5)."""
    people: list[PersonSeen] = []
    addresses: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "@" in item:
                addresses.append(item)
        elif isinstance(item, dict):
            if _is_person(item):
                people.append(_seen(item))
            stack.extend(reversed(item.values()))  # popped in order: document order
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return Seen(people, addresses)


@dataclass(frozen=True)
class Forgetting:
    """Who is forgotten and how they are to read from now on."""

    user_id: UUID
    pseudonym_email: str
    pseudonym_name: str
    recipient_keys: frozenset[str] = frozenset()
    """Keys of the person's known addresses."""
    emails: frozenset[str] = frozenset()
    """Normalised plaintext addresses of the person found in envelopes."""
    names: frozenset[str] = frozenset()

    def owns(self, person: PersonSeen, keys: RecipientKeys) -> bool:
        if person.user_id == self.user_id:
            return True
        if person.email is None:
            return False
        address = normalise_email(person.email)
        return address in self.emails or keys(address) in self.recipient_keys

    def learn(self, value: Any, keys: RecipientKeys) -> Forgetting:
        """The person's plaintext address(es) and name(s) as they appear in `value`."""
        emails, names = set(self.emails), set(self.names)
        found = seen_in(value)
        for person in found.people:
            if self.owns(person, keys):
                if person.email is not None:
                    emails.add(normalise_email(person.email))
                if person.name is not None:
                    names.add(person.name)
        for address in found.addresses:
            if keys(address) in self.recipient_keys:
                emails.add(normalise_email(address))
        return Forgetting(
            self.user_id,
            self.pseudonym_email,
            self.pseudonym_name,
            self.recipient_keys,
            frozenset(emails),
            frozenset(names),
        )


def pseudonymise(value: Any, forgetting: Forgetting, keys: RecipientKeys) -> Any:
    """`value` (parsed JSON) with every trace of the person replaced by their pseudonyms:
    person objects that are theirs, and any string equal to one of their addresses or
    names. Returns a new value; `value` is not changed."""
    if isinstance(value, dict):
        if _is_person(value) and forgetting.owns(_seen(value), keys):
            replaced = dict(value)
            replaced["email"] = forgetting.pseudonym_email
            if replaced.get("name") is not None:
                replaced["name"] = forgetting.pseudonym_name
            if replaced.get("phone") is not None:
                replaced["phone"] = None
            return {k: pseudonymise(v, forgetting, keys) for k, v in replaced.items()}
        return {k: pseudonymise(v, forgetting, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [pseudonymise(item, forgetting, keys) for item in value]
    if isinstance(value, str):
        if "@" in value and (
            normalise_email(value) in forgetting.emails
            or keys(value) in forgetting.recipient_keys
        ):
            return forgetting.pseudonym_email
        if value in forgetting.names:
            return forgetting.pseudonym_name
    return value


def _is_person(value: dict[str, Any]) -> bool:
    return "email" in value and value.keys() <= PERSON_FIELDS


def _seen(value: dict[str, Any]) -> PersonSeen:
    return PersonSeen(
        _uuid(value.get("user_id")), _str(value.get("email")), _str(value.get("name"))
    )


def _uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
