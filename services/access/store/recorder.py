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
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.access.store.chain import CHAIN_TABLE, GENESIS, link
from services.access.store.keyring import FORGET_SQL, INSERT_SQL, PostgresKeyRing

RESULTS_TABLE = "command_results"


@dataclass(frozen=True)
class PendingResult:
    """A command's outcome waiting to be stored with the batch's events.

    `position_index` is the index, in the batch's event list, of the command's last
    published event: its notification id is the position a client waits for.
    """

    command_id: str
    outcome: dict[str, Any]
    position_index: int | None = None

    def position(self, notification_ids: Sequence[int]) -> int | None:
        return None if self.position_index is None else notification_ids[self.position_index]


@dataclass(frozen=True)
class Forgetting:
    """Keys to delete with this commit (`subjects`), and users never to key again."""

    subjects: list[UUID]
    users: list[UUID]


class ResultRecordingRecorder(PostgresApplicationRecorder):
    keyring: PostgresKeyRing | None = None
    """Set by the application: new personal-data keys are inserted with their events."""

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
            "SELECT * FROM unnest(%s::text[], %s::jsonb[])"
        ).format(table)
        self._select_results = SQL(
            "SELECT command_id, outcome FROM {} WHERE command_id = ANY(%s)"
        ).format(table)
        self._select_events_of = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema or "public", self.events_table_name))
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
            "INSERT INTO {} (notification_id, hash) SELECT * FROM unnest(%s::bigint[], %s::bytea[])"
        ).format(chain)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        results: list[PendingResult] = kwargs.get("command_results") or []
        notification_ids: list[int] = []
        new_keys = self.keyring.take_pending() if self.keyring else {}
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if new_keys:
                curs.execute(INSERT_SQL, (list(new_keys), list(new_keys.values())))
            if stored_events:
                self._lock_table(curs)
                self._notify_channel(curs)
                super(PostgresApplicationRecorder, self)._insert_stored_events(
                    curs, stored_events
                )
                notification_ids = [row["notification_id"] for row in curs.fetchall()]
                self._chain(curs, stored_events, notification_ids)
            if results:
                self._store_results(curs, results, notification_ids)
            forgetting: Forgetting | None = kwargs.get("forgetting")
            if forgetting:
                curs.execute(FORGET_SQL[0], (forgetting.subjects,))
                curs.execute(FORGET_SQL[1], (forgetting.users,))
        return notification_ids

    def _chain(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
        notification_ids: list[int],
    ) -> None:
        """Link the new events to the chain; the table lock is held, so no one interleaves."""
        curs.execute(self._last_link)
        row = curs.fetchone()
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

    def select_events_of(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of several aggregates in one query, each in version order."""
        found: dict[UUID, list[StoredEvent]] = {}
        if not aggregate_ids:
            return found
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_events_of, (list(aggregate_ids),))
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"], state=bytes(row["state"])))
        return found

    def select_results(self, command_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored outcomes of those of `command_ids` that were seen before."""
        if not command_ids:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_results, (list(command_ids),))
            return {row["command_id"]: row["outcome"] for row in curs.fetchall()}
