"""How a forgotten person is named from then on: stable per person, never the original."""

from __future__ import annotations

from uuid import UUID

_PSEUDONYM_DOMAIN = "@forgotten.invalid"


def pseudonymous_email(subject: UUID) -> str:
    return f"forgotten-{subject.hex[:12]}{_PSEUDONYM_DOMAIN}"


def is_pseudonymous_email(value: str) -> bool:
    """Whether an address is a forgotten person's stand-in (no one's real address)."""
    return value.strip().lower().endswith(_PSEUDONYM_DOMAIN)


def pseudonymous_name(subject: UUID) -> str:
    return f"Forgotten person {subject.hex[:12]}"


def pseudonym(subject: UUID, field: str) -> str | None:
    """The stand-in for a sealed `field` whose key is gone (a phone or a key's label just
    disappears)."""
    if field in {"email", "key"}:
        return pseudonymous_email(subject)
    if field == "name":
        return pseudonymous_name(subject)
    if field == "id_token":
        return pseudonymous_id_token(subject)
    return None


def pseudonymous_id_token(subject: UUID) -> str:
    """A forgotten key's token: still a valid token (20 characters), never a real card's
    (no card reads as this), so a key's history stays well-formed."""
    return f"FORGOTTEN-{subject.hex[:10].upper()}"
