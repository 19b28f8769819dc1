"""Where the per-person keys live: `person_keys`, outside the event log.

New keys are written in the same transaction as the first events sealed with them, so a
key never exists without its data or the other way round. Forgetting deletes a subject's
key in the transaction that stores `UserForgotten` and records the user in
`forgotten_subjects`, so no key is ever made for them again. The recorder runs these
statements on its own cursor, in its transaction; the SQL stays here.

Keys are stored wrapped by the configured key-encryption key (`wrapping`), with its id,
and unwrapped once per batch when read. They are cached for one batch of commands only:
a forgotten person stops being readable by every instance from its next batch on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, cast
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor

from services.access.ports import Forgetting
from services.access.store.personal.sealing import new_key
from services.access.store.personal.wrapping import KeyEncryptionKeys, WrappedKey

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS person_keys ("
    " subject uuid PRIMARY KEY, key bytea NOT NULL, created_at timestamptz DEFAULT now(),"
    " kek text)",
    "CREATE TABLE IF NOT EXISTS forgotten_subjects ("
    " subject uuid PRIMARY KEY, forgotten_at timestamptz DEFAULT now())",
    # Tables from before wrapping: add the column without taking a lock when it is there.
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM information_schema.columns WHERE"
    " table_schema = current_schema() AND table_name = 'person_keys' AND column_name = 'kek')"
    " THEN ALTER TABLE person_keys ADD COLUMN IF NOT EXISTS kek text; END IF; END $$",
)
INSERT_SQL = (
    "INSERT INTO person_keys (subject, key, kek)"
    " SELECT * FROM unnest(%b::uuid[], %b::bytea[], %b::text[])"
)
LOOKUP_SQL = (
    "SELECT subject, key, kek FROM person_keys WHERE subject = ANY(%s::uuid[]) "
    "UNION ALL SELECT subject, NULL, NULL FROM forgotten_subjects WHERE subject = ANY(%s::uuid[])"
)
FORGET_SQL = (
    "DELETE FROM person_keys WHERE subject = ANY(%s)",
    "INSERT INTO forgotten_subjects (subject) SELECT unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
)
_FORGOTTEN = b""


class PostgresKeyRing:
    def __init__(self, datastore: PostgresDatastore, keks: KeyEncryptionKeys) -> None:
        self._datastore = datastore
        self._keks = keks
        self._batch = threading.local()

    # A batch's keys belong to the thread running it: executors sharing one store (tests
    # racing commands, a second executor thread) must never decode with a key another
    # thread made for a transaction that then lost its race and was rolled back.
    @property
    def _known(self) -> dict[UUID, bytes]:
        """Keys of this batch; _FORGOTTEN marks a forgotten user."""
        return cast("dict[UUID, bytes]", self._state("known", dict))

    @property
    def _absent(self) -> set[UUID]:
        """Asked for in this batch: no key, not forgotten."""
        return cast("set[UUID]", self._state("absent", set))

    @property
    def _pending(self) -> dict[UUID, bytes]:
        return cast("dict[UUID, bytes]", self._state("pending", dict))

    @_pending.setter
    def _pending(self, value: dict[UUID, bytes]) -> None:
        self._batch.pending = value

    def _state(self, name: str, make: Callable[[], Any]) -> Any:
        value = getattr(self._batch, name, None)
        if value is None:
            value = make()
            setattr(self._batch, name, value)
        return value

    def create_tables(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            for statement in SCHEMA_SQL:
                curs.execute(statement)

    def begin(self) -> None:
        """Start a batch: forget what was cached, and any keys a failed batch made."""
        self._known.clear()
        self._absent.clear()
        self._pending.clear()

    def key_for(self, subject: UUID) -> bytes | None:
        if subject not in self._known and subject not in self._absent:
            self._load([subject])
        key = self._known.get(subject)
        if key is None:
            key = self._known[subject] = self._pending[subject] = new_key()
            self._absent.discard(subject)
        return key or None

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        wanted = set(subjects)
        self._load([s for s in wanted if s not in self._known and s not in self._absent])
        return {s: k for s in wanted if (k := self._known.get(s))}

    def ask(self, curs: Cursor[Any], subjects: Iterable[UUID]) -> list[UUID]:
        """Look up, on the caller's cursor (e.g. in the same round trip as the batch's
        other reads), those of `subjects` this batch has not looked up yet; give
        `absorb` what this returns and the cursor's rows."""
        asked = [s for s in set(subjects) if s not in self._known and s not in self._absent]
        if asked:
            curs.execute(LOOKUP_SQL, (asked, asked))
        return asked

    def absorb(self, asked: list[UUID], rows: Iterable[Any]) -> None:
        """Cache what a lookup of `asked` answered."""
        for row in rows:
            subject, key = row["subject"], row["key"]
            self._known[subject] = _FORGOTTEN if key is None else self._keks.unwrap(
                subject, WrappedKey(bytes(key), row["kek"]))
        self._absent.update(s for s in asked if s not in self._known)

    def _load(self, subjects: list[UUID]) -> None:
        if not subjects:
            return
        # One statement in autocommit: no BEGIN/ROLLBACK round trips around it.
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(LOOKUP_SQL, (subjects, subjects))
            rows: list[Any] = curs.fetchall()
        self.absorb(subjects, rows)

    def store_new(self, curs: Cursor[Any]) -> None:
        """Insert the keys made during this batch, in the transaction of its events."""
        pending, self._pending = self._pending, {}
        if pending:
            wrapped = [self._keks.wrap(subject, key) for subject, key in pending.items()]
            curs.execute(INSERT_SQL, (list(pending), [w.data for w in wrapped],
                                      [w.kek_id for w in wrapped]))

    def forget_in(self, curs: Cursor[Any], forgetting: Forgetting) -> None:
        """Delete the forgotten keys, in the transaction that stores `UserForgotten`."""
        curs.execute(FORGET_SQL[0], (forgetting.subjects,))
        curs.execute(FORGET_SQL[1], (forgetting.users,))

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        """After the commit: no cached key of `subjects` outlives it."""
        for subject in subjects:
            self._known.pop(subject, None)


class MemoryKeyRing:
    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}
        self.forgotten_subjects: set[UUID] = set()

    def begin(self) -> None:
        """Nothing is cached beyond the keys themselves."""

    def key_for(self, subject: UUID) -> bytes | None:
        if subject in self.forgotten_subjects:
            return None
        return self.keys.setdefault(subject, new_key())

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        return {s: self.keys[s] for s in subjects if s in self.keys}

    def forget(self, forgetting: Forgetting) -> None:
        for subject in forgetting.subjects:
            self.keys.pop(subject, None)
        self.forgotten_subjects.update(forgetting.users)

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        """Nothing cached here beyond the keys themselves."""
