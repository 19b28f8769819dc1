"""Unsealing the personal data in a batch of stored events, for the log's readers.

A batch's keys are fetched in one query and never cached beyond it, so a forgotten
person stops being readable by every follower of the log at once. Within the batch each
person's cipher is made once. Opening is the store's own (`store/personal/sealing.py`):
a value whose key is gone (or that does not authenticate) reads as the person's
pseudonym, exactly as the store's mapper gives it. Keys are stored wrapped: each is
unwrapped once per batch, with the KEKs of the environment (`store/personal/wrapping.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.access.store.personal.sealing import (
    SEALED_MARK,
    SUBJECT_PATTERN,
    Cipher,
    Ciphers,
    sealed_subject_hex,
)
from services.access.store.personal.wrapping import (
    KeyEncryptionKeys,
    WrappedKey,
    configured_keks,
)

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

__all__ = ["SEALED_MARK", "BatchKeys", "Cipher", "sealed_subject_hex", "unsealed"]

_KEYS = "SELECT subject, key, kek FROM person_keys WHERE subject = ANY($1::uuid[])"


class BatchKeys(Ciphers):
    """The keys of the people a batch names, as ciphers by subject (hex id)."""

    @classmethod
    async def fetch(cls, conn: Connection, subjects: Iterable[str],
                    keks: KeyEncryptionKeys | None = None) -> BatchKeys:
        """The keys of `subjects` (hex ids) that still exist; one query, none if no subjects."""
        wanted = list(set(subjects))
        if not wanted:
            return cls({})
        found = await conn.fetch(_KEYS, wanted)
        keks = keks or configured_keks()
        return cls({r["subject"].hex: _cipher(keks, r) for r in found})


def _cipher(keks: KeyEncryptionKeys, row: Any) -> Cipher:
    subject = row["subject"]
    key = keks.unwrap(subject, WrappedKey(bytes(row["key"]), row["kek"]))
    return AESGCM(key), subject.bytes


async def unsealed(conn: Connection, rows: list[Any]) -> list[Any]:
    """Rows with all personal data unsealed (pseudonyms where the person was forgotten).

    Rows without sealed values are returned as they are; the others as unsealed copies.
    """
    sealed = [i for i, row in enumerate(rows) if SEALED_MARK in row["state"]]
    if not sealed:
        return rows
    subjects = {m.decode() for i in sealed for m in SUBJECT_PATTERN.findall(rows[i]["state"])}
    keys = await BatchKeys.fetch(conn, subjects)
    out = list(rows)
    for i in sealed:
        out[i] = {**dict(rows[i]), "state": keys.unseal_state(bytes(rows[i]["state"]))}
    return out
