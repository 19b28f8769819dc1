"""Rewrapping the person keys under the current KEK while the services run.

Keys are walked in subject order, a batch per short transaction: a batch's rows are
locked only until its commit (a `ForgetUser` that deletes one of them waits that long),
and readers never wait, since PostgreSQL readers do not block on row locks. The plaintext
keys stay the same, so nothing sealed under them changes and no cache goes stale. Keys
stored in plaintext before wrapping existed are wrapped on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.access.store.personal.wrapping import KeyEncryptionKeys, WrappedKey

if TYPE_CHECKING:
    import asyncpg

_BATCH = (
    "SELECT subject, key, kek FROM person_keys WHERE subject > $1 AND kek IS DISTINCT FROM $2"
    " ORDER BY subject LIMIT $3 FOR UPDATE"
)
_REWRAP = (
    "UPDATE person_keys p SET key = u.key, kek = $3"
    " FROM unnest($1::uuid[], $2::bytea[]) AS u(subject, key) WHERE p.subject = u.subject"
)
_COUNTS = "SELECT kek, count(*) AS keys FROM person_keys GROUP BY kek ORDER BY kek NULLS FIRST"
_FIRST = UUID(int=0)


@dataclass(frozen=True)
class Rotated:
    current: str
    rewrapped: int
    by_kek: dict[str | None, int]
    """Keys per KEK id after the run (None: plaintext)."""

    @property
    def remaining(self) -> int:
        """Keys not under the current KEK (written meanwhile by an instance that does not
        know it yet): run again once every instance has the new KEK."""
        return sum(n for kek, n in self.by_kek.items() if kek != self.current)


async def key_counts(conn: asyncpg.Connection) -> dict[str | None, int]:
    """How many person keys each KEK id wraps (None: stored in plaintext)."""
    return {row["kek"]: row["keys"] for row in await conn.fetch(_COUNTS)}


async def rewrap_all(conn: asyncpg.Connection, keks: KeyEncryptionKeys, *, batch_size: int = 1000,
                     progress: Callable[[int], None] | None = None) -> Rotated:
    """Rewrap every key not under `keks.current`; returns what was done and what is left."""
    after, done = _FIRST, 0
    while True:
        async with conn.transaction():
            rows = await conn.fetch(_BATCH, after, keks.current, batch_size)
            if not rows:
                break
            await conn.execute(_REWRAP, *_rewrapped(keks, rows), keks.current)
        done += len(rows)
        after = rows[-1]["subject"]
        if progress is not None:
            progress(done)
    return Rotated(keks.current, done, await key_counts(conn))


def _rewrapped(keks: KeyEncryptionKeys, rows: list[Any]) -> tuple[list[UUID], list[bytes]]:
    subjects, keys = [], []
    for row in rows:
        key = keks.unwrap(row["subject"], WrappedKey(bytes(row["key"]), row["kek"]))
        subjects.append(row["subject"])
        keys.append(keks.wrap(row["subject"], key).data)
    return subjects, keys
