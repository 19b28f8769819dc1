"""An event's state on its way into the log and out: which of its values are personal
and whose they are (sealed under that person's key), and opening them again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from services.access.domain.ids import email_index_id
from services.access.domain.pseudonyms import pseudonym
from services.access.store.personal.sealing import Ciphers, seal, sealed_subject

KeyFor = Callable[[UUID], tuple[UUID, bytes] | None]
"""The subject to seal a subject's data under (itself, unless retired) and its key (created
on first use); None: forgotten."""


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
    elif (event_name == "Claim.Opened" and state.get("kind") in ("phone", "charge_key")
          and state.get("owner_id")):
        found.append((state, "key", UUID(str(state["owner_id"]))))
    elif event_name == "ChargeKey.ChargeKeyAdded":
        found += [(state, f, UUID(str(state["user_id"]))) for f in ("id_token", "label")]
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
        sealing = key_for(subject)
        container[field] = (seal(sealing[1], sealing[0], value) if sealing
                            else pseudonym(subject, field))
    return copied


def reveal(state: dict[str, Any], keys: Mapping[UUID, bytes]) -> None:
    """Open sealed values in place (at the top level and one level down); forgotten ones
    become pseudonyms."""
    ciphers = Ciphers.of(keys)
    for container in [state, *[v for v in state.values() if isinstance(v, dict)]]:
        for field, value in list(container.items()):
            if sealed_subject(value) is not None:
                container[field] = ciphers.open(value, field)
