"""The eventsourcing PostgreSQL recorder, extended to store command results atomically.

A batch's events and the results of its commands (accepted *and* rejected) commit in one
transaction. A redelivered command then finds its result and is never applied again, and
a crash can never leave events without a result or a result without its events.

The table lock the base class takes for each insert keeps notification ids in commit
order, so log readers never skip an event that commits late.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.access.ports import Forgetting, PendingResult
from services.access.store.chain import CHAIN_TABLE, GENESIS, link
from services.access.store.personal.keyring import SCHEMA_LOCK_KEY, PostgresKeyRing

RESULTS_TABLE = "command_results"
_BEGIN = SQL("BEGIN")
_COMMIT = SQL("COMMIT")


class ResultRecordingRecorder(PostgresApplicationRecorder):
    keyring: PostgresKeyRing | None = None
    """Set by the application: new personal-data keys are inserted with their events."""

    def create_table(self) -> None:
        """One creator at a time (`SCHEMA_LOCK`), across both of the library's steps (its
        composite types, each in a transaction of its own, then the tables): the lock is
        held by a connection of its own for the whole of it."""
        with self.datastore.get_connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
            try:
                super().create_table()
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = Identifier(self.datastore.schema or "public", RESULTS_TABLE)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "command_id text PRIMARY KEY, "
                "outcome jsonb NOT NULL, "
                "recorded_at timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        self._insert_results = SQL(
            "INSERT INTO {} (command_id, outcome) "
            "SELECT * FROM unnest(%b::text[], %b::text[]::jsonb[])"
        ).format(table)
        self._select_results = SQL(
            "SELECT command_id, outcome FROM {} WHERE command_id = ANY(%s::text[])"
        ).format(table)
        # Each id's events past a version (0: all of them), one index range each. As a
        # plain join, the generic plan psycopg prepares after five runs (the arrays' sizes
        # unknown) is a hash join over a scan of the whole table: 120 ms a batch on the 1 M
        # fleet's log. `OFFSET 0` keeps the lateral subquery from being flattened into it.
        self._select_events_past = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, after) CROSS JOIN LATERAL ("
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = w.id AND originator_version > w.after OFFSET 0) e "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(Identifier(self.datastore.schema or "public", self.events_table_name))
        self._count_forgotten = SQL("SELECT committed AS n FROM {}").format(
            Identifier(self.datastore.schema or "public", "forgettings"))
        chain = Identifier(self.datastore.schema or "public", CHAIN_TABLE)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "notification_id bigint PRIMARY KEY, "
                "hash bytea NOT NULL)"
            ).format(chain)
        )
        self._last_link = SQL(
            "SELECT hash FROM {} ORDER BY notification_id DESC LIMIT 1"
        ).format(chain)
        self._insert_links = SQL(
            "INSERT INTO {} (notification_id, hash) SELECT * FROM unnest(%b::bigint[], %b::bytea[])"
        ).format(chain)
        # Binary parallel arrays: psycopg dumps a composite array as text, in Python, with a
        # regex per bytea value (~10x slower); unnest keeps the given order, like the base's.
        self._insert_events_sql = SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(Identifier(self.datastore.schema or "public", self.events_table_name))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """One transaction in two round trips (psycopg pipeline mode): everything up to
        the insert that hands out notification ids, then the chain links and results
        (which need those ids) with the commit.

        The transaction is opened and closed by statements in the pipeline, not by
        psycopg's `transaction()`: that one syncs on entering (a round trip for BEGIN
        alone) and again after COMMIT, which made a lone command's commit five round
        trips instead of two."""
        results: list[PendingResult] = kwargs.get("command_results") or []
        forgetting: Forgetting | None = kwargs.get("forgetting")
        notification_ids: list[int] = []
        error: Exception | None = None
        with self.datastore.get_connection() as conn:  # (which maps psycopg's errors)
            try:
                with conn.pipeline() as pipeline, conn.cursor() as curs, \
                        conn.cursor() as ins, conn.cursor() as last:
                    curs.execute(_BEGIN)
                    if self.keyring:
                        self.keyring.store_new(curs)
                    if stored_events:
                        self._lock_table(curs)
                        self._notify_channel(curs)
                        ins.execute(self._insert_events_sql, (
                            [e.originator_id for e in stored_events],
                            [e.originator_version for e in stored_events],
                            [e.topic for e in stored_events],
                            [e.state for e in stored_events]))
                        last.execute(self._last_link)
                        # The first round trip; a version conflict raises here.
                        pipeline.sync()
                        notification_ids = [r["notification_id"] for r in ins.fetchall()]
                        self._chain(curs, last.fetchone(), stored_events, notification_ids)
                    if results:
                        self._store_results(curs, results, notification_ids)
                    if forgetting and self.keyring:
                        self.keyring.forget_in(curs, forgetting)
                    curs.execute(_COMMIT)
                # The second round trip is the pipeline's closing sync, which carries the
                # commit; a duplicate result raises there.
            except Exception as exc:  # raised outside the pipeline, as psycopg prefers
                error = exc
            if error is not None:
                # Raised inside the connection's block: psycopg rolls the aborted
                # transaction back as the error leaves it, before the pool has it again.
                raise error
        return notification_ids

    def _chain(
        self, curs: Cursor[DictRow], row: DictRow | None, stored_events: Sequence[StoredEvent],
        notification_ids: list[int],
    ) -> None:
        """Link the new events to the chain (`row`: its last link, read under the table
        lock after the insert, so no one interleaves)."""
        previous = bytes(row["hash"]) if row else GENESIS
        hashes: list[bytes] = []
        for event, notification_id in zip(stored_events, notification_ids, strict=True):
            previous = link(previous, notification_id, event.originator_id,
                            event.originator_version, event.topic, event.state)
            hashes.append(previous)
        curs.execute(self._insert_links, (notification_ids, hashes))

    def _store_results(
        self, curs: Cursor[DictRow], results: list[PendingResult], notification_ids: list[int]
    ) -> None:
        ids = [result.command_id for result in results]
        outcomes = [
            json.dumps({**result.outcome, "position": result.position(notification_ids)})
            for result in results
        ]
        curs.execute(self._insert_results, (ids, outcomes))

    def select_batch(
        self, command_ids: Sequence[str], aggregate_ids: Sequence[UUID],
        after: Sequence[int] | None = None,
    ) -> tuple[dict[str, dict[str, Any]], dict[UUID, list[StoredEvent]], int | None]:
        """A batch's reads in one round trip (psycopg pipeline mode): the stored outcomes
        of those of `command_ids` seen before, the events of `aggregate_ids` (each in
        version order; with `after`, a store's kept versions, only those past each id's
        version there, and then how many forgettings have been committed, which only a
        store keeping aggregates asks: `cache.AggregateCache.forgotten`), and, into the
        keyring, the keys of those ids as subjects. The rows are read once the pipeline
        is closed: fetching inside it asks the server for them (a flush) before the
        closing sync, a second round trip."""
        seen: dict[str, dict[str, Any]] = {}
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as results, \
                conn.cursor() as events, conn.cursor() as keys, conn.cursor() as forgotten:
            with conn.pipeline():
                if command_ids:
                    results.execute(self._select_results, (list(command_ids),))
                if aggregate_ids:
                    events.execute(self._select_events_past, (
                        list(aggregate_ids), [0] * len(aggregate_ids) if after is None
                        else list(after)))
                if after is not None:
                    forgotten.execute(self._count_forgotten)
                asked = self.keyring.ask(keys, aggregate_ids) if self.keyring else []
            if command_ids:
                seen = {row["command_id"]: row["outcome"] for row in results.fetchall()}
            if aggregate_ids:
                for row in events.fetchall():
                    found.setdefault(row["originator_id"], []).append(StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"], state=bytes(row["state"])))
            if asked and self.keyring:
                self.keyring.absorb(asked, keys.fetchall())
            counted = forgotten.fetchone() if after is not None else None
        return seen, found, None if counted is None else int(counted["n"])
