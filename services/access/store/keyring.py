"""Where the per-person keys live: `person_keys`, outside the event log.

Forgetting deletes a subject's key in the same transaction that stores `UserForgotten`
(see the recorder) and records the user in `forgotten_subjects`, so no key is ever made
for them again and nothing new about them can be stored readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from services.access.store.personal_data import new_key

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS person_keys ("
    " subject uuid PRIMARY KEY, key bytea NOT NULL, created_at timestamptz DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS forgotten_subjects ("
    " subject uuid PRIMARY KEY, forgotten_at timestamptz DEFAULT now())",
)
FORGET_SQL = (
    "DELETE FROM person_keys WHERE subject = ANY(%s)",
    "INSERT INTO forgotten_subjects (subject) SELECT unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
)


class PostgresKeyRing:
    """Keys for sealing are cached (a key never changes); keys for reading are not, so a
    forgotten person stops being readable everywhere at once."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._sealing: dict[UUID, bytes] = {}

    def create_tables(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            for statement in SCHEMA_SQL:
                curs.execute(statement)

    def key_for(self, subject: UUID) -> bytes | None:
        if subject in self._sealing:
            return self._sealing[subject]
        with self._datastore.transaction(commit=True) as curs:
            curs.execute("SELECT 1 FROM forgotten_subjects WHERE subject = %s", (subject,))
            if curs.fetchone():
                return None
            curs.execute(
                "INSERT INTO person_keys (subject, key) VALUES (%s, %s) "
                "ON CONFLICT (subject) DO NOTHING", (subject, new_key()))
            curs.execute("SELECT key FROM person_keys WHERE subject = %s", (subject,))
            row: Any = curs.fetchone()
        key = bytes(row["key"])
        self._sealing[subject] = key
        return key

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        wanted = list(subjects)
        if not wanted:
            return {}
        with self._datastore.transaction(commit=False) as curs:
            curs.execute("SELECT subject, key FROM person_keys WHERE subject = ANY(%s)",
                         (wanted,))
            return {row["subject"]: bytes(row["key"]) for row in curs.fetchall()}

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        for subject in subjects:
            self._sealing.pop(subject, None)


class MemoryKeyRing:
    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}
        self.forgotten_subjects: set[UUID] = set()

    def key_for(self, subject: UUID) -> bytes | None:
        if subject in self.forgotten_subjects:
            return None
        return self.keys.setdefault(subject, new_key())

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        return {s: self.keys[s] for s in subjects if s in self.keys}

    def forget(self, subjects: Iterable[UUID], users: Iterable[UUID]) -> None:
        for subject in subjects:
            self.keys.pop(subject, None)
        self.forgotten_subjects.update(users)

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        """Nothing cached here beyond the keys themselves."""
