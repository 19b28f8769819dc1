"""Personal data in the immutable log, sealed per person (crypto-shredding).

E-mail addresses, phone numbers and names are stored encrypted (AES-GCM) under a key
per *subject*: a registered user's id, or for an address without an account, the id of
that e-mail's uniqueness claim. Keys live in `person_keys`, outside the log. Forgetting a
person deletes their keys, after which every sealed value reads as a pseudonym; the rest
of the history stays intact and auditable.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.access.domain.ids import email_index_id
from services.access.domain.pseudonyms import pseudonym

PREFIX = "pii:v1:"
SUBJECT_PATTERN = re.compile(rb"pii:v1:([0-9a-f]{32}):")

KeyFor = Callable[[UUID], bytes | None]
"""The key to seal a subject's data with (created on first use); None: forgotten."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, subject: UUID, value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), subject.bytes)
    return f"{PREFIX}{subject.hex}:{base64.b64encode(nonce + sealed).decode()}"


def sealed_subject(value: object) -> UUID | None:
    if isinstance(value, str) and value.startswith(PREFIX):
        return UUID(hex=value[len(PREFIX):len(PREFIX) + 32])
    return None


def unseal(keys: dict[UUID, bytes], value: str, field: str) -> str | None:
    subject = sealed_subject(value)
    if subject is None:
        return value
    key = keys.get(subject)
    if key is not None:
        raw = base64.b64decode(value[len(PREFIX) + 33:])
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], subject.bytes).decode()
        except InvalidTag:
            pass
    return pseudonym(subject, field)


def subjects_in(stored_states: Iterable[bytes]) -> set[UUID]:
    return {UUID(hex=m.decode()) for s in stored_states for m in SUBJECT_PATTERN.findall(s)}


# Which fields of which events are personal, and whose they are.

def _person_subject(person: dict[str, Any]) -> UUID | None:
    if person.get("user_id"):
        return UUID(str(person["user_id"]))
    return email_index_id(person["email"]) if person.get("email") else None


def _fields(event_name: str, state: dict[str, Any],
            originator_id: UUID) -> list[tuple[dict[str, Any], str, UUID]]:
    """(container, field, subject) for every personal value in an event's state."""
    found: list[tuple[dict[str, Any], str, UUID]] = []
    if event_name == "User.UserRegistered":
        found += [(state, f, originator_id) for f in ("email", "phone", "name")]
    elif event_name == "Group.GroupCreated" and state.get("personal"):
        found.append((state, "name", UUID(str(state["owner_id"]))))  # named after its user
    elif event_name == "Claim.Opened" and state.get("kind") == "email":
        found.append((state, "key", originator_id))
    elif event_name == "Claim.Opened" and state.get("kind") == "phone" and state.get("owner_id"):
        found.append((state, "key", UUID(str(state["owner_id"]))))
    elif event_name.startswith("Invitation.") and isinstance(state.get("email"), str):
        email = state["email"]
        subject = sealed_subject(email) or email_index_id(email)
        found.append((state, "email", subject))
    for value in state.values():
        if isinstance(value, dict) and "email" in value and "user_id" in value:
            person = _person_subject(value)
            if person is not None:
                found += [(value, f, person) for f in ("email", "name")]
    return found


def protect(event_name: str, state: dict[str, Any], originator_id: UUID,
            key_for: KeyFor) -> dict[str, Any]:
    """A copy of `state` with personal values sealed (pseudonymised if forgotten)."""
    copied = {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}
    for container, field, subject in _fields(event_name, copied, originator_id):
        value = container.get(field)
        if not isinstance(value, str) or sealed_subject(value):
            continue
        key = key_for(subject)
        container[field] = seal(key, subject, value) if key else pseudonym(subject, field)
    return copied


def reveal(event_name: str, state: dict[str, Any], keys: dict[UUID, bytes]) -> None:
    """Unseal personal values in place; forgotten ones become pseudonyms."""
    for container in [state, *[v for v in state.values() if isinstance(v, dict)]]:
        for field, value in list(container.items()):
            if sealed_subject(value) is not None:
                container[field] = unseal(keys, value, field)


_SEALED_JSON = re.compile(rb'"(\w+)":"pii:v1:([0-9a-f]{32}):([A-Za-z0-9+/=]+)"')


def unseal_json(state: bytes, keys: dict[UUID, bytes]) -> bytes:
    """Unseal personal values inside a stored event's JSON text, before any decoding.

    Readers that decode stored JSON their own way (the event log's fast path) call this
    first, so they never see sealed values and need no knowledge of them.
    """
    if b"pii:v1:" not in state:
        return state

    def replace(match: re.Match[bytes]) -> bytes:
        field = match[1].decode()
        value = unseal(keys, f"{PREFIX}{match[2].decode()}:{match[3].decode()}", field)
        return b'"' + match[1] + b'":' + json.dumps(value).encode()

    return _SEALED_JSON.sub(replace, state)
