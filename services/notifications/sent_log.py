"""The sent-log: one row per (event id, recipient), and the queue of e-mails still to send.

A row is inserted (`pending`) when the event is consumed, before the Kafka offset is
committed, and holds what is needed to send the e-mail again later: the event's
envelope as it came from `access.events`, the kind and the Message-ID. It never holds
the rendered e-mail (an invitation's text contains its token): that is derived again at
send time from the envelope and `TOKEN_SECRET`.

Whoever sends a row holds a **lease** on it first: `next_attempt_at` moved into the
future. The consumer leases the rows it inserts (its fast path sends them at once); the
retry loop leases rows whose time has come (`FOR UPDATE SKIP LOCKED`, so several
instances never take the same row). A row ends `sent` or `failed`; a transient failure
puts it back `pending` with a later `next_attempt_at` (exponential backoff). A process
that dies holding a lease leaves the row to be sent again when the lease runs out, with
the same Message-ID (receivers can tell the duplicate): the only way to send twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

Status = Literal["pending", "sent", "failed"]

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS notifications;
CREATE TABLE IF NOT EXISTS notifications.sent_log (
    event_id        uuid        NOT NULL,
    recipient       text        NOT NULL,
    kind            text        NOT NULL,
    event_type      text        NOT NULL,
    message_id      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    error           text,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient)
);
ALTER TABLE notifications.sent_log
    ADD COLUMN IF NOT EXISTS envelope text,
    ADD COLUMN IF NOT EXISTS sequence bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now();
DROP INDEX IF EXISTS notifications.sent_log_unfinished;
CREATE INDEX IF NOT EXISTS sent_log_due
    ON notifications.sent_log (next_attempt_at) WHERE status = 'pending';
-- Rows from before the queue kept envelopes cannot be sent again: close them visibly.
UPDATE notifications.sent_log
   SET status = 'failed', error = 'no envelope kept (claimed by an older version)'
 WHERE status = 'pending' AND envelope IS NULL;
"""


@dataclass(frozen=True)
class Claim:
    """One e-mail to account for: the sent-log's key plus what identifies it."""

    event_id: UUID
    recipient: str
    kind: str
    event_type: str
    message_id: str
    envelope: str = "{}"
    """The event's envelope as JSON, to derive the e-mail again on a retry."""
    sequence: int = 0
    """The event's global position: e-mails to one person go out in this order."""


@dataclass(frozen=True)
class DueRow:
    """A leased row the retry loop is to send."""

    event_id: UUID
    recipient: str
    envelope: str
    attempts: int
    claimed_at: datetime


Outcome = Literal["sent", "failed", "retry"]


@dataclass(frozen=True)
class Finished:
    """What became of one leased row: `retry` puts it back with a delay."""

    event_id: UUID
    recipient: str
    outcome: Outcome
    error: str | None = None
    retry_in_seconds: float = 0.0
    attempted: bool = True
    """False when the row was not tried at all (SMTP known down): attempts stay."""


@dataclass(frozen=True)
class QueueDepth:
    pending: int
    due: int


class SentLog:
    """The PostgreSQL sent-log (schema `notifications`), over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_schema(self) -> None:
        async with self._pool.acquire() as conn:
            # Two instances starting at once may race on CREATE ... IF NOT EXISTS.
            await conn.execute("SELECT pg_advisory_lock(hashtext('notifications.sent_log'))")
            try:
                await conn.execute(SCHEMA)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext('notifications.sent_log'))")

    async def claim(self, claims: Sequence[Claim], lease_seconds: float) -> set[tuple[UUID, str]]:
        """Insert the rows in one round trip; returns the keys that were new, leased to the
        caller for `lease_seconds` (0: due at once, for the retry loop). Keys already
        there (redelivered events) are someone else's business and are not returned."""
        if not claims:
            return set()
        rows = await self._pool.fetch(
            """
            INSERT INTO notifications.sent_log
                (event_id, recipient, kind, event_type, message_id, envelope, sequence,
                 next_attempt_at)
            SELECT w.event_id, w.recipient, w.kind, w.event_type, w.message_id,
                   w.envelope, w.sequence, now() + make_interval(secs => $8)
              FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::bigint[])
                   AS w(event_id, recipient, kind, event_type, message_id, envelope, sequence)
            ON CONFLICT (event_id, recipient) DO NOTHING
            RETURNING event_id, recipient
            """,
            [c.event_id for c in claims],
            [c.recipient for c in claims],
            [c.kind for c in claims],
            [c.event_type for c in claims],
            [c.message_id for c in claims],
            [c.envelope for c in claims],
            [c.sequence for c in claims],
            float(lease_seconds),
        )
        return {(row["event_id"], row["recipient"]) for row in rows}

    async def lease_due(self, limit: int, lease_seconds: float) -> list[DueRow]:
        """Lease up to `limit` pending rows whose time has come, oldest first."""
        rows = await self._pool.fetch(
            """
            UPDATE notifications.sent_log s
               SET next_attempt_at = now() + make_interval(secs => $2)
              FROM (SELECT event_id, recipient FROM notifications.sent_log
                     WHERE status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at, sequence
                     LIMIT $1
                       FOR UPDATE SKIP LOCKED) due
             WHERE s.event_id = due.event_id AND s.recipient = due.recipient
            RETURNING s.event_id, s.recipient, s.envelope, s.attempts,
                      s.claimed_at
            """,
            limit,
            float(lease_seconds),
        )
        return [
            DueRow(r["event_id"], r["recipient"], r["envelope"], r["attempts"], r["claimed_at"])
            for r in rows
        ]

    async def finish(self, results: Sequence[Finished]) -> None:
        """Record the outcomes of leased rows in one round trip."""
        if not results:
            return
        await self._pool.execute(
            """
            UPDATE notifications.sent_log s
               SET status = CASE WHEN u.outcome = 'retry' THEN 'pending' ELSE u.outcome END,
                   attempts = s.attempts + u.attempted::int,
                   error = COALESCE(u.error, s.error),
                   next_attempt_at = CASE WHEN u.outcome = 'retry'
                       THEN now() + make_interval(secs => u.delay) ELSE s.next_attempt_at END,
                   updated_at = now()
              FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[],
                          $6::bool[]) AS u(event_id, recipient, outcome, error, delay, attempted)
             WHERE s.event_id = u.event_id AND s.recipient = u.recipient
               AND s.status = 'pending'
            """,
            [r.event_id for r in results],
            [r.recipient for r in results],
            [r.outcome for r in results],
            [r.error for r in results],
            [r.retry_in_seconds for r in results],
            [r.attempted for r in results],
        )

    async def depth(self) -> QueueDepth:
        row = await self._pool.fetchrow(
            """
            SELECT count(*) AS pending, count(*) FILTER (WHERE next_attempt_at <= now()) AS due
              FROM notifications.sent_log WHERE status = 'pending'
            """
        )
        assert row is not None
        return QueueDepth(row["pending"], row["due"])

    async def status(self, event_id: UUID, recipient: str) -> Status | None:
        value: Status | None = await self._pool.fetchval(
            "SELECT status FROM notifications.sent_log WHERE event_id = $1 AND recipient = $2",
            event_id,
            recipient,
        )
        return value
