"""Unsealing the personal data in a batch of stored events, for the log's readers.

A batch's keys are fetched in one query and never cached beyond it, so a forgotten
person stops being readable by every follower of the log at once. Within the batch each
person's cipher is made once. A value whose key is gone (or that does not authenticate)
reads as the person's pseudonym, exactly as `personal_data.unseal` gives.
"""

from __future__ import annotations

import json
import re
from binascii import a2b_base64
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.access.domain.pseudonyms import pseudonym
from services.access.store.personal_data import PREFIX

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

SEALED_MARK = PREFIX.encode()
"""Bytes every sealed value starts with; a state without them has nothing to unseal."""

_SUBJECT = re.compile(rb"pii:v1:([0-9a-f]{32}):")
_SEALED_VALUE = re.compile(rb'"(\w+)":"pii:v1:([0-9a-f]{32}):([A-Za-z0-9+/=]+)"')
_KEYS = "SELECT subject, key FROM person_keys WHERE subject = ANY($1::uuid[])"
_HEX = slice(len(PREFIX), len(PREFIX) + 32)
_DATA = len(PREFIX) + 33

Cipher = tuple[AESGCM, bytes]
"""A person's cipher and the associated data their values are sealed with (their id)."""


class BatchKeys:
    """The keys of the people a batch names, as ciphers by subject (hex id)."""

    def __init__(self, ciphers: dict[str, Cipher]) -> None:
        self._ciphers = ciphers

    @classmethod
    async def fetch(cls, conn: Connection, subjects: Iterable[str]) -> BatchKeys:
        """The keys of `subjects` (hex ids) that still exist; one query, none if no subjects."""
        wanted = list(set(subjects))
        if not wanted:
            return cls({})
        found = await conn.fetch(_KEYS, wanted)
        return cls({r["subject"].hex: (AESGCM(bytes(r["key"])), r["subject"].bytes)
                    for r in found})

    def open(self, value: str, field: str) -> str | None:
        """A sealed value's plain text (its pseudonym when forgotten); others as they are."""
        if not value.startswith(PREFIX):
            return value
        subject = value[_HEX]
        plain = _plain(self._ciphers.get(subject), value[_DATA:].encode())
        return plain if plain is not None else pseudonym(UUID(hex=subject), field)

    def unseal_state(self, state: bytes) -> bytes:
        """A stored JSON text with every sealed value replaced by its plain text (as JSON)."""

        def replace(match: re.Match[bytes]) -> bytes:
            field, subject = match[1], match[2].decode()
            value = _plain(self._ciphers.get(subject), match[3])
            if value is None:
                value = pseudonym(UUID(hex=subject), field.decode())
            return b'"' + field + b'":' + json.dumps(value).encode()

        return _SEALED_VALUE.sub(replace, state)


def sealed_subject_hex(value: Any) -> str | None:
    """The subject (hex id) of a sealed value; None for anything else."""
    if value.__class__ is str and value.startswith(PREFIX):
        return str(value[_HEX])
    return None


async def unsealed(conn: Connection, rows: list[Any]) -> list[Any]:
    """Rows with all personal data unsealed (pseudonyms where the person was forgotten).

    Rows without sealed values are returned as they are; the others as unsealed copies.
    """
    sealed = [i for i, row in enumerate(rows) if SEALED_MARK in row["state"]]
    if not sealed:
        return rows
    subjects = {m.decode() for i in sealed for m in _SUBJECT.findall(rows[i]["state"])}
    keys = await BatchKeys.fetch(conn, subjects)
    out = list(rows)
    for i in sealed:
        out[i] = {**dict(rows[i]), "state": keys.unseal_state(bytes(rows[i]["state"]))}
    return out


def _plain(cipher: Cipher | None, sealed: bytes) -> str | None:
    if cipher is None:
        return None
    raw = a2b_base64(sealed)
    try:
        return cipher[0].decrypt(raw[:12], raw[12:], cipher[1]).decode()
    except InvalidTag:
        return None
