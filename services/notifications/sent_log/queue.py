"""The sent-log: one row per (event id, recipient), and the queue of e-mails still to send.

The recipient column holds a keyed hash of the address (`privacy.RecipientKeys`), and
`user_id` the recipient's account when the event names it: that is how `forget` finds a
forgotten person's rows. Only a pending row keeps its envelope; a finished one keeps what
dedupe needs (event id, recipient key) and its outcome.

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
the same Message-ID, unless the row says it was **handed over** (`sent_log.hand_over`): the
e-mail's last byte reached the SMTP server before the process stopped, so it counts as
sent (`settle_handed_over`) and never goes out twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal
from uuid import UUID

import asyncpg

from services.notifications.ports import Claim, DueRow, Finished, Forgotten, QueueDepth
from services.notifications.privacy import Forgetting, RecipientKeys
from services.notifications.sent_log.forgetting import SentLogForgetting
from services.notifications.sent_log.hand_over import HandOverMarks
from services.notifications.sent_log.schema import create_schema

Status = Literal["pending", "sent", "failed", "forgotten"]


class SentLog:
    """The PostgreSQL sent-log (schema `notifications`), over an asyncpg pool: the queue's
    operations here, forgetting a person handed to `SentLogForgetting`."""

    def __init__(self, pool: asyncpg.Pool, keys: RecipientKeys, owner: str | None = None,
                 database_url: str | None = None) -> None:
        self._pool = pool
        self._database_url = database_url
        """Where the senders' mark connections go (`hand_over_marks`): `pool`'s database."""
        self._keys = keys
        self._forgetting = SentLogForgetting(pool, keys)
        self.owner = owner
        """This instance's name (`incarnation`), recorded with each lease it takes."""

    async def forgotten_among(
        self, user_ids: Collection[UUID], recipients: Collection[str]
    ) -> list[Forgetting]:
        return await self._forgetting.forgotten_among(user_ids, recipients)

    async def forget(self, forgetting: Forgetting) -> Forgotten:
        return await self._forgetting.forget(forgetting)

    def hand_over_marks(self) -> HandOverMarks:
        """A sender's own connection for marking its e-mails handed over."""
        if self._database_url is None:
            raise RuntimeError("this sent-log was made without its database's URL")
        return HandOverMarks(self._database_url)

    async def create_schema(self) -> None:
        await create_schema(self._pool, self._keys)

    async def claim(
        self,
        claims: Sequence[Claim],
        lease_seconds: float,
        links: Collection[tuple[UUID, str]] = (),
    ) -> set[tuple[UUID, str]]:
        """Insert the rows in one round trip; returns the keys that were new, leased to the
        caller for `lease_seconds` (0: due at once, for the retry loop). Keys already
        there (redelivered events) are someone else's business and are not returned,
        nor are e-mails to people forgotten already. `links` are (account, address key)
        pairs the events showed, remembered so forgetting the account finds the key."""
        if not claims and not links:
            return set()
        rows = await self._pool.fetch(
            """
            WITH learned AS (
                INSERT INTO notifications.recipient_users (user_id, recipient)
                SELECT l.user_id, l.recipient
                  FROM unnest($10::uuid[], $11::text[]) AS l(user_id, recipient)
                 WHERE NOT EXISTS (SELECT 1 FROM notifications.forgotten_users f
                                    WHERE f.user_id = l.user_id)
                ON CONFLICT DO NOTHING
            )
            INSERT INTO notifications.sent_log
                (event_id, recipient, kind, event_type, message_id, envelope, sequence,
                 user_id, next_attempt_at, leased_by)
            SELECT w.event_id, w.recipient, w.kind, w.event_type, w.message_id,
                   w.envelope, w.sequence, w.user_id, now() + make_interval(secs => $8),
                   CASE WHEN $8 > 0 THEN $12::text END
              FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::bigint[], $9::uuid[])
                   AS w(event_id, recipient, kind, event_type, message_id, envelope, sequence,
                        user_id)
             WHERE NOT EXISTS (SELECT 1 FROM notifications.forgotten_recipients r
                                WHERE r.recipient = w.recipient)
               AND NOT EXISTS (SELECT 1 FROM notifications.forgotten_users f
                                WHERE f.user_id = w.user_id)
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
            [c.user_id for c in claims],
            [user_id for user_id, _ in links],
            [key for _, key in links],
            self.owner,
        )
        return {(row["event_id"], row["recipient"]) for row in rows}

    async def lease_due(self, limit: int, lease_seconds: float) -> list[DueRow]:
        """Lease up to `limit` pending rows whose time has come, oldest first."""
        rows = await self._pool.fetch(
            """
            UPDATE notifications.sent_log s
               SET next_attempt_at = now() + make_interval(secs => $2), leased_by = $3
              FROM (SELECT event_id, recipient FROM notifications.sent_log
                     WHERE status = 'pending' AND next_attempt_at <= now()
                       AND handed_over_at IS NULL
                     ORDER BY next_attempt_at, sequence
                     LIMIT $1
                       FOR UPDATE SKIP LOCKED) due
             WHERE s.event_id = due.event_id AND s.recipient = due.recipient
            RETURNING s.event_id, s.recipient, s.envelope, s.attempts,
                      s.claimed_at
            """,
            limit,
            float(lease_seconds),
            self.owner,
        )
        return [
            DueRow(r["event_id"], r["recipient"], r["envelope"], r["attempts"], r["claimed_at"])
            for r in rows
        ]

    async def release(self, keys: Collection[tuple[UUID, str]]) -> None:
        """Give up the lease on rows still pending: the retry loop takes them at once."""
        if not keys:
            return
        await self._pool.execute(
            """
            UPDATE notifications.sent_log s SET next_attempt_at = now()
              FROM unnest($1::uuid[], $2::text[]) AS k(event_id, recipient)
             WHERE s.event_id = k.event_id AND s.recipient = k.recipient
               AND s.status = 'pending'
            """,
            [event_id for event_id, _ in keys],
            [recipient for _, recipient in keys],
        )

    async def finish(self, results: Sequence[Finished]) -> None:
        """Record the outcomes of leased rows in one round trip. A finished row keeps no
        envelope: nothing derives its e-mail again (data minimisation)."""
        if not results:
            return
        await self._pool.execute(
            """
            UPDATE notifications.sent_log s
               SET status = CASE WHEN u.outcome = 'retry' THEN 'pending' ELSE u.outcome END,
                   attempts = s.attempts + u.attempted::int,
                   error = COALESCE(u.error, s.error),
                   envelope = CASE WHEN u.outcome = 'retry' THEN s.envelope END,
                   handed_over_at = CASE WHEN u.outcome = 'retry' THEN NULL
                       ELSE s.handed_over_at END,
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

    async def take_over(self, owner: str) -> int:
        """Make the rows a previous incarnation of `owner` still leased due at once; returns
        how many. Call it holding `owner`'s name (`incarnation`), before leasing anything:
        the predecessor is gone, so waiting its leases out would only delay its e-mails
        (those it handed over are then settled as sent, the rest sent)."""
        status = await self._pool.execute(
            """
            UPDATE notifications.sent_log SET next_attempt_at = now()
             WHERE status = 'pending' AND leased_by = $1 AND next_attempt_at > now()
            """,
            owner,
        )
        return int(status.rsplit(" ", 1)[-1])

    async def settle_handed_over(self) -> int:
        """Record as sent the e-mails a stopped process handed to the SMTP server without
        recording the answer (their lease has run out; it may not have heard it, or held
        its "sent" for the round's end); returns how many. The server had
        the whole message, so it delivered it: sending it again would double it."""
        status = await self._pool.execute(
            """
            UPDATE notifications.sent_log
               SET status = 'sent', attempts = attempts + 1, envelope = NULL,
                   error = 'handed to the SMTP server by a process that stopped before'
                           ' recording its answer: counted as sent, not sent again',
                   updated_at = now()
             WHERE status = 'pending' AND handed_over_at IS NOT NULL
               AND next_attempt_at <= now()
            """
        )
        return int(status.rsplit(" ", 1)[-1])

    async def depth(self) -> QueueDepth:
        row = await self._pool.fetchrow(
            """
            SELECT count(*) AS pending, count(*) FILTER (WHERE next_attempt_at <= now()) AS due
              FROM notifications.sent_log WHERE status = 'pending'
            """
        )
        assert row is not None
        return QueueDepth(row["pending"], row["due"])

    async def status(self, event_id: UUID, address: str) -> Status | None:
        value: Status | None = await self._pool.fetchval(
            "SELECT status FROM notifications.sent_log WHERE event_id = $1 AND recipient = $2",
            event_id,
            self._keys(address),
        )
        return value
