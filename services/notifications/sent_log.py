"""The sent-log: at most one e-mail per (event id, recipient), even when redelivered.

Each e-mail is claimed (`pending`) before it is sent and marked `sent` (or `failed` on a
permanent SMTP refusal) right after, so a redelivered event finds its rows and sends
nothing new. A row still `pending` means the sender stopped between the send and the
mark: it is sent again with the same Message-ID (receivers can tell the duplicate).
The row never holds the e-mail itself: an invitation's text contains its token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import asyncpg

Status = Literal["pending", "sent", "failed"]

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS notifications;
CREATE TABLE IF NOT EXISTS notifications.sent_log (
    event_id    uuid        NOT NULL,
    recipient   text        NOT NULL,
    kind        text        NOT NULL,
    event_type  text        NOT NULL,
    message_id  text        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    error       text,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient)
);
CREATE INDEX IF NOT EXISTS sent_log_unfinished
    ON notifications.sent_log (claimed_at) WHERE status <> 'sent';
"""


@dataclass(frozen=True)
class Claim:
    """One e-mail to account for: the sent-log's key plus what identifies it."""

    event_id: UUID
    recipient: str
    kind: str
    event_type: str
    message_id: str


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

    async def claim(self, claims: Sequence[Claim]) -> set[tuple[UUID, str]]:
        """Claim the e-mails in one round trip; returns the keys still to send (new or
        left `pending` by a crash). `sent` and `failed` ones are done for good."""
        if not claims:
            return set()
        rows = await self._pool.fetch(
            """
            WITH wanted AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                    AS w(event_id, recipient, kind, event_type, message_id)
            ), inserted AS (
                INSERT INTO notifications.sent_log
                    (event_id, recipient, kind, event_type, message_id)
                SELECT * FROM wanted
                ON CONFLICT (event_id, recipient) DO NOTHING
                RETURNING event_id, recipient
            )
            SELECT event_id, recipient FROM inserted
            UNION
            SELECT s.event_id, s.recipient FROM notifications.sent_log s
            JOIN wanted w USING (event_id, recipient) WHERE s.status = 'pending'
            """,
            [c.event_id for c in claims],
            [c.recipient for c in claims],
            [c.kind for c in claims],
            [c.event_type for c in claims],
            [c.message_id for c in claims],
        )
        return {(row["event_id"], row["recipient"]) for row in rows}

    async def mark_sent(self, event_id: UUID, recipient: str, attempts: int) -> None:
        await self._mark(event_id, recipient, "sent", attempts, None)

    async def mark_failed(self, event_id: UUID, recipient: str, attempts: int, error: str) -> None:
        await self._mark(event_id, recipient, "failed", attempts, error)

    async def _mark(
        self, event_id: UUID, recipient: str, status: Status, attempts: int, error: str | None
    ) -> None:
        await self._pool.execute(
            """
            UPDATE notifications.sent_log
               SET status = $3, attempts = attempts + $4, error = $5, updated_at = now()
             WHERE event_id = $1 AND recipient = $2
            """,
            event_id,
            recipient,
            status,
            attempts,
            error,
        )

    async def status(self, event_id: UUID, recipient: str) -> Status | None:
        value: Status | None = await self._pool.fetchval(
            "SELECT status FROM notifications.sent_log WHERE event_id = $1 AND recipient = $2",
            event_id,
            recipient,
        )
        return value
