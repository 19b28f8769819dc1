"""The sent-log's tables, and the one-time migration of rows written before recipients
were keyed by a hash of their address (see `queue` for what the rows mean)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from charger_access_client.text import normalise_email
from services.notifications.privacy import PersonSeen, RecipientKeys, seen_in

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection | PoolConnectionProxy[Any]

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS notifications;
CREATE TABLE IF NOT EXISTS notifications.sent_log (
    event_id        uuid        NOT NULL,
    recipient       text        NOT NULL,
    kind            text        NOT NULL,
    event_type      text        NOT NULL,
    message_id      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed', 'forgotten')),
    attempts        integer     NOT NULL DEFAULT 0,
    error           text,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient)
);
ALTER TABLE notifications.sent_log
    ADD COLUMN IF NOT EXISTS envelope text,
    ADD COLUMN IF NOT EXISTS sequence bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS user_id uuid,
    ADD COLUMN IF NOT EXISTS handed_over_at timestamptz,
    ADD COLUMN IF NOT EXISTS leased_by text;
COMMENT ON COLUMN notifications.sent_log.leased_by IS
    'the instance (NOTIFICATIONS_INSTANCE) holding the lease: its next incarnation takes '
    'the row over at once instead of waiting the lease out';
COMMENT ON COLUMN notifications.sent_log.handed_over_at IS
    'set the instant the e-mail''s last byte went to the SMTP server: a pending row with it '
    'was sent by a process that stopped before recording the answer, and is never sent again';
COMMENT ON COLUMN notifications.sent_log.recipient IS
    'keyed hash of the normalised address (k1:...), never the address';
COMMENT ON COLUMN notifications.sent_log.user_id IS
    'the recipient''s account when the event named it: how forgetting finds the row';
-- Tables from before forgetting: let the status take 'forgotten'.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint
                WHERE conrelid = 'notifications.sent_log'::regclass
                  AND conname = 'sent_log_status_check'
                  AND pg_get_constraintdef(oid) NOT LIKE '%forgotten%') THEN
        ALTER TABLE notifications.sent_log DROP CONSTRAINT sent_log_status_check;
        ALTER TABLE notifications.sent_log ADD CONSTRAINT sent_log_status_check
            CHECK (status IN ('pending', 'sent', 'failed', 'forgotten'));
    END IF;
END $$;
DROP INDEX IF EXISTS notifications.sent_log_unfinished;
CREATE INDEX IF NOT EXISTS sent_log_due
    ON notifications.sent_log (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS sent_log_handed_over
    ON notifications.sent_log (next_attempt_at)
    WHERE status = 'pending' AND handed_over_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS sent_log_recipient ON notifications.sent_log (recipient);
CREATE INDEX IF NOT EXISTS sent_log_user
    ON notifications.sent_log (user_id) WHERE user_id IS NOT NULL;
-- Which accounts an address key belongs to, learned from events (an invitation names
-- only the address; the registration later joins it to the account).
CREATE TABLE IF NOT EXISTS notifications.recipient_users (
    user_id         uuid        NOT NULL,
    recipient       text        NOT NULL,
    PRIMARY KEY (user_id, recipient)
);
-- Tombstones: people forgotten and their address keys, so events that arrive late
-- (another partition, a re-reading consumer group) neither mail nor store them.
CREATE TABLE IF NOT EXISTS notifications.forgotten_users (
    user_id         uuid        PRIMARY KEY,
    pseudonym_email text        NOT NULL,
    pseudonym_name  text        NOT NULL,
    forgotten_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS notifications.forgotten_recipients (
    recipient       text        PRIMARY KEY,
    user_id         uuid        NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications.migrations (
    name            text        PRIMARY KEY,
    done_at         timestamptz NOT NULL DEFAULT now()
);
-- Rows from before the queue kept envelopes cannot be sent again: close them visibly.
UPDATE notifications.sent_log
   SET status = 'failed', error = 'no envelope kept (claimed by an older version)'
 WHERE status = 'pending' AND envelope IS NULL;
"""


async def create_schema(pool: asyncpg.Pool, keys: RecipientKeys) -> None:
    async with pool.acquire() as conn:
        # Two instances starting at once may race on CREATE ... IF NOT EXISTS.
        await conn.execute("SELECT pg_advisory_lock(hashtext('notifications.sent_log'))")
        try:
            await conn.execute(SCHEMA)
            await _migrate_recipient_keys(conn, keys)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('notifications.sent_log'))")


async def _migrate_recipient_keys(conn: Connection, keys: RecipientKeys) -> None:
    """Once: replace plaintext recipients by their keys, note each row's account
    where its envelope names it, and drop the envelopes of finished rows."""
    async with conn.transaction():
        done = await conn.fetchval(
            "SELECT true FROM notifications.migrations WHERE name = 'recipient-keys'"
        )
        if done:
            return
        rows = await conn.fetch(
            """
            SELECT event_id, recipient, envelope FROM notifications.sent_log
             WHERE strpos(recipient, '@') > 0
            """
        )
        links: set[tuple[UUID, str]] = set()
        event_ids, olds, news, user_ids = [], [], [], []
        for row in rows:
            key = keys(row["recipient"])
            user_id = None
            for person in people_of(row["envelope"]):
                if person.user_id is None or person.email is None:
                    continue
                links.add((person.user_id, keys(person.email)))
                if normalise_email(person.email) == normalise_email(row["recipient"]):
                    user_id = person.user_id
            event_ids.append(row["event_id"])
            olds.append(row["recipient"])
            news.append(key)
            user_ids.append(user_id)
        await conn.execute(
            """
            UPDATE notifications.sent_log s
               SET recipient = m.key, user_id = COALESCE(m.user_id, s.user_id)
              FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[])
                   AS m(event_id, old, key, user_id)
             WHERE s.event_id = m.event_id AND s.recipient = m.old
            """,
            event_ids,
            olds,
            news,
            user_ids,
        )
        await learn(conn, links)
        await conn.execute(
            "UPDATE notifications.sent_log SET envelope = NULL"
            " WHERE status <> 'pending' AND envelope IS NOT NULL"
        )
        await conn.execute(
            "INSERT INTO notifications.migrations (name) VALUES ('recipient-keys')"
        )


async def learn(conn: Connection, links: set[tuple[UUID, str]]) -> None:
    if links:
        await conn.execute(
            """
            INSERT INTO notifications.recipient_users (user_id, recipient)
            SELECT * FROM unnest($1::uuid[], $2::text[])
            ON CONFLICT DO NOTHING
            """,
            [user_id for user_id, _ in links],
            [key for _, key in links],
        )


def parse_json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def people_of(text: str | None) -> list[PersonSeen]:
    return seen_in(parse_json(text)).people
