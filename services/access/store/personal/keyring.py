"""Where the per-person keys live: `person_keys`, outside the event log.

New keys are written in the same transaction as the first events sealed with them, so a
key never exists without its data or the other way round. Forgetting deletes a subject's
key in the transaction that stores `UserForgotten` and records the user in
`forgotten_subjects`, so no key is ever made for them again. The recorder runs these
statements on its own cursor, in its transaction; the SQL stays here.

A subject that outlives a person (an e-mail address's claim, which a new person may use
after the old one was forgotten) is *retired* when its key is deleted: new values for it
are sealed under a fresh sealing subject (`retired_subjects.current`), never again under
the old id. A value carries the subject it was sealed under, so one whose key is gone
reads as forgotten and one sealed since reads in full; a new key made under the old id
would instead make every old value fail to authenticate, i.e. read as corrupt.

Keys are stored wrapped by the configured key-encryption key (`wrapping`), with its id,
and unwrapped once per batch when read. They are cached for one batch of commands only:
a forgotten person stops being readable by every instance from its next batch on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor

from services.access.ports import Forgetting
from services.access.store.personal.sealing import new_key
from services.access.store.personal.wrapping import KeyEncryptionKeys, WrappedKey

SCHEMA_LOCK_KEY = "hashtext('charger-access.store-schema')"
SCHEMA_LOCK = f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})"
"""Held while the store's tables are created: processes opening the store at the same time
(instances starting together, the fleet generator's workers) otherwise race on the catalogue
("tuple concurrently updated"), even with IF NOT EXISTS."""

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS person_keys ("
    " subject uuid PRIMARY KEY, key bytea NOT NULL, created_at timestamptz DEFAULT now(),"
    " kek text, base uuid)",
    "CREATE TABLE IF NOT EXISTS forgotten_subjects ("
    " subject uuid PRIMARY KEY, forgotten_at timestamptz DEFAULT now())",
    # One row counting the forgettings committed: a reader that sees it change knows
    # someone was forgotten since it last looked (`store/cache.py` empties itself), in
    # one row's read, however many people have been forgotten. The row lock orders the
    # forgettings, and the new count is seen exactly when its keys are gone.
    "CREATE TABLE IF NOT EXISTS forgettings (one boolean PRIMARY KEY DEFAULT true"
    " CHECK (one), committed bigint NOT NULL)",
    "INSERT INTO forgettings (committed) VALUES (0) ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS retired_subjects ("
    " subject uuid PRIMARY KEY, current uuid NOT NULL, retired_at timestamptz DEFAULT now())",
    # Tables from before wrapping and retiring: add the columns without taking a lock when
    # they are there.
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM information_schema.columns WHERE"
    " table_schema = current_schema() AND table_name = 'person_keys' AND column_name = 'kek')"
    " THEN ALTER TABLE person_keys ADD COLUMN IF NOT EXISTS kek text; END IF; END $$",
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM information_schema.columns WHERE"
    " table_schema = current_schema() AND table_name = 'person_keys' AND column_name = 'base')"
    " THEN ALTER TABLE person_keys ADD COLUMN IF NOT EXISTS base uuid; END IF; END $$",
    "CREATE INDEX IF NOT EXISTS person_keys_base ON person_keys (base) WHERE base IS NOT NULL",
)
INSERT_SQL = (
    "INSERT INTO person_keys (subject, key, kek, base)"
    " SELECT * FROM unnest(%b::uuid[], %b::bytea[], %b::text[], %b::uuid[])"
)
LOOKUP_SQL = (
    # One row per subject asked: its sealing subject if retired, the key values sealed
    # under that are opened with (none: a key never made, or deleted), and whether it is
    # a forgotten user.
    "SELECT s.subject, r.current, k.key, k.kek, f.subject IS NOT NULL AS forgotten"
    " FROM unnest(%s::uuid[]) AS s(subject)"
    " LEFT JOIN retired_subjects r ON r.subject = s.subject"
    " LEFT JOIN person_keys k ON k.subject = coalesce(r.current, s.subject)"
    " LEFT JOIN forgotten_subjects f ON f.subject = s.subject"
)
FORGET_SQL = (
    # Every key ever made for the subjects: their own and their sealing subjects'.
    "DELETE FROM person_keys WHERE subject = ANY(%s::uuid[]) OR base = ANY(%s::uuid[])",
    "INSERT INTO retired_subjects (subject, current)"
    " SELECT s, gen_random_uuid() FROM unnest(%s::uuid[]) AS s"
    " ON CONFLICT (subject) DO UPDATE SET current = excluded.current, retired_at = now()",
    "INSERT INTO forgotten_subjects (subject) SELECT unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
    "UPDATE forgettings SET committed = committed + 1",
)
_FORGOTTEN = b""


Sealing = tuple[UUID, bytes]
"""The subject a value is sealed under (its own, or the current one of a retired subject)
and its key."""


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
        """Keys of this batch, by the subject values are sealed under; _FORGOTTEN marks a
        forgotten user."""
        return cast("dict[UUID, bytes]", self._state("known", dict))

    @property
    def _absent(self) -> set[UUID]:
        """Asked for in this batch: no key, not forgotten, not retired."""
        return cast("set[UUID]", self._state("absent", set))

    @property
    def _current(self) -> dict[UUID, UUID]:
        """Retired subjects asked for in this batch, and the subjects to seal under now."""
        return cast("dict[UUID, UUID]", self._state("current", dict))

    @property
    def _pending(self) -> dict[UUID, tuple[bytes, UUID | None]]:
        """Keys made in this batch (by sealing subject), each with its retired subject."""
        return cast("dict[UUID, tuple[bytes, UUID | None]]", self._state("pending", dict))

    @_pending.setter
    def _pending(self, value: dict[UUID, tuple[bytes, UUID | None]]) -> None:
        self._batch.pending = value

    def _state(self, name: str, make: Callable[[], Any]) -> Any:
        value = getattr(self._batch, name, None)
        if value is None:
            value = make()
            setattr(self._batch, name, value)
        return value

    def create_tables(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(SCHEMA_LOCK)
            for statement in SCHEMA_SQL:
                curs.execute(statement)

    def begin(self) -> None:
        """Start a batch: forget what was cached, and any keys a failed batch made."""
        self._known.clear()
        self._absent.clear()
        self._current.clear()
        self._pending.clear()

    def _asked(self, subject: UUID) -> bool:
        return subject in self._known or subject in self._absent or subject in self._current

    def key_for(self, subject: UUID) -> Sealing | None:
        if not self._asked(subject):
            self._load([subject])
        if self._known.get(subject) == _FORGOTTEN:
            return None
        sealing = self._current.get(subject, subject)
        key = self._known.get(sealing)
        if key is None:
            key = self._known[sealing] = new_key()
            self._pending[sealing] = (key, subject if sealing != subject else None)
            self._absent.discard(sealing)
        return sealing, key

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        wanted = set(subjects)
        self._load([s for s in wanted if not self._asked(s)])
        return {s: k for s in wanted if (k := self._known.get(s))}

    def ask(self, curs: Cursor[Any], subjects: Iterable[UUID]) -> list[UUID]:
        """Look up, on the caller's cursor (e.g. in the same round trip as the batch's
        other reads), those of `subjects` this batch has not looked up yet; give
        `absorb` what this returns and the cursor's rows."""
        asked = [s for s in set(subjects) if not self._asked(s)]
        if asked:
            curs.execute(LOOKUP_SQL, (asked,))
        return asked

    def absorb(self, asked: list[UUID], rows: Iterable[Any]) -> None:
        """Cache what a lookup of `asked` answered."""
        for row in rows:
            subject: UUID = row["subject"]
            if row["forgotten"]:
                self._known[subject] = _FORGOTTEN
                continue
            sealing: UUID = row["current"] or subject
            if sealing != subject:
                self._current[subject] = sealing
            if row["key"] is not None:
                self._known[sealing] = self._keks.unwrap(
                    sealing, WrappedKey(bytes(row["key"]), row["kek"]))
            else:
                self._absent.add(sealing)

    def _load(self, subjects: list[UUID]) -> None:
        if not subjects:
            return
        # One statement in autocommit: no BEGIN/ROLLBACK round trips around it.
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(LOOKUP_SQL, (subjects,))
            rows: list[Any] = curs.fetchall()
        self.absorb(subjects, rows)

    def store_new(self, curs: Cursor[Any]) -> None:
        """Insert the keys made during this batch, in the transaction of its events."""
        pending, self._pending = self._pending, {}
        if pending:
            wrapped = [self._keks.wrap(subject, key) for subject, (key, _) in pending.items()]
            curs.execute(INSERT_SQL, (list(pending), [w.data for w in wrapped],
                                      [w.kek_id for w in wrapped],
                                      [base for _, base in pending.values()]))

    def forget_in(self, curs: Cursor[Any], forgetting: Forgetting) -> None:
        """Delete the forgotten keys and retire their subjects, in the transaction that
        stores `UserForgotten`."""
        users = set(forgetting.users)
        retired = [s for s in dict.fromkeys(forgetting.subjects) if s not in users]
        curs.execute(FORGET_SQL[0], (forgetting.subjects, forgetting.subjects))
        if retired:
            curs.execute(FORGET_SQL[1], (retired,))
        curs.execute(FORGET_SQL[2], (forgetting.users,))
        curs.execute(FORGET_SQL[3])

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        """After the commit: no cached key of `subjects` outlives it."""
        for subject in subjects:
            self._known.pop(self._current.pop(subject, subject), None)
            self._known.pop(subject, None)
            self._absent.discard(subject)


class MemoryKeyRing:
    """The same rules in memory: keys by sealing subject, retired subjects' current one."""

    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}
        self.bases: dict[UUID, UUID] = {}
        self.current: dict[UUID, UUID] = {}
        self.forgotten_subjects: set[UUID] = set()
        self.forgettings = 0
        """Forgettings committed (`forgettings` in PostgreSQL)."""

    def begin(self) -> None:
        """Nothing is cached beyond the keys themselves."""

    def key_for(self, subject: UUID) -> Sealing | None:
        if subject in self.forgotten_subjects:
            return None
        sealing = self.current.get(subject, subject)
        if sealing != subject:
            self.bases[sealing] = subject
        return sealing, self.keys.setdefault(sealing, new_key())

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]:
        return {s: self.keys[s] for s in subjects if s in self.keys}

    def forget(self, forgetting: Forgetting) -> None:
        gone = set(forgetting.subjects)
        for sealing in [s for s in self.keys if s in gone or self.bases.get(s) in gone]:
            del self.keys[sealing]
        for subject in gone - set(forgetting.users):
            self.current[subject] = uuid4()
        self.forgotten_subjects.update(forgetting.users)
        self.forgettings += 1

    def forgotten(self, subjects: Iterable[UUID]) -> None:
        """Nothing cached here beyond the keys themselves."""
