"""The sent-log's part in forgetting a person (`UserForgotten`): what it stores of them is
emptied or pseudonymised, and tombstones keep late events from bringing them back.
`queue.SentLog` hands these two operations to it; the queue's own are there."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from typing import Any
from uuid import UUID

import asyncpg

from services.notifications.ports import Forgotten
from services.notifications.privacy import Forgetting, RecipientKeys, pseudonymise
from services.notifications.sent_log.schema import parse_json


class SentLogForgetting:
    """Forgetting people in the sent-log's tables (schema `notifications`)."""

    def __init__(self, pool: asyncpg.Pool, keys: RecipientKeys) -> None:
        self._pool = pool
        self._keys = keys

    async def forgotten_among(
        self, user_ids: Collection[UUID], recipients: Collection[str]
    ) -> list[Forgetting]:
        """The forgotten people among these accounts and address keys, each with every
        address key known to be theirs."""
        if not user_ids and not recipients:
            return []
        rows = await self._pool.fetch(
            """
            SELECT f.user_id, f.pseudonym_email, f.pseudonym_name,
                   array_remove(array_agg(r.recipient), NULL) AS recipients
              FROM notifications.forgotten_users f
              LEFT JOIN notifications.forgotten_recipients r USING (user_id)
             WHERE f.user_id = ANY($1::uuid[])
                OR f.user_id IN (SELECT user_id FROM notifications.forgotten_recipients
                                  WHERE recipient = ANY($2::text[]))
             GROUP BY f.user_id
            """,
            list(user_ids),
            list(recipients),
        )
        return [
            Forgetting(
                r["user_id"], r["pseudonym_email"], r["pseudonym_name"], frozenset(r["recipients"])
            )
            for r in rows
        ]

    async def forget(self, forgetting: Forgetting) -> Forgotten:
        """Remove the person's personal data from every row, in one transaction.

        Rows addressed to them (by account, or by any key known to be theirs) keep only
        what dedupe needs: envelope and error go, and an e-mail still to send is dropped
        (`forgotten`). Envelopes of e-mails still to send to others that name them get
        their pseudonyms. A tombstone keeps later copies of their events out."""
        keys = self._keys
        async with self._pool.acquire() as conn, conn.transaction():
            # Claims in flight commit first, and later ones see the tombstone.
            await conn.execute("LOCK TABLE notifications.sent_log IN SHARE ROW EXCLUSIVE MODE")
            user_id = forgetting.user_id
            await conn.execute(
                """
                INSERT INTO notifications.forgotten_users (user_id, pseudonym_email, pseudonym_name)
                VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING
                """,
                user_id,
                forgetting.pseudonym_email,
                forgetting.pseudonym_name,
            )
            known = await conn.fetch(
                """
                SELECT recipient FROM notifications.recipient_users WHERE user_id = $1
                UNION SELECT recipient FROM notifications.sent_log WHERE user_id = $1
                UNION SELECT recipient FROM notifications.forgotten_recipients WHERE user_id = $1
                """,
                user_id,
            )
            forgetting = replace(
                forgetting,
                recipient_keys=forgetting.recipient_keys | {r["recipient"] for r in known},
            )
            recipients = sorted(forgetting.recipient_keys)
            await conn.execute(
                """
                INSERT INTO notifications.forgotten_recipients (recipient, user_id)
                SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING
                """,
                recipients,
                user_id,
            )
            await conn.execute(
                "DELETE FROM notifications.recipient_users WHERE user_id = $1", user_id
            )
            # Envelopes naming them: by account or key first; what those show of their
            # address and name then finds the envelopes that name them only by those.
            found = {
                (r["event_id"], r["recipient"]): r["envelope"]
                for r in await conn.fetch(
                    """
                    SELECT event_id, recipient, envelope FROM notifications.sent_log
                     WHERE envelope IS NOT NULL
                       AND (user_id = $1 OR recipient = ANY($2::text[])
                            OR strpos(envelope, $3) > 0)
                    """,
                    user_id,
                    recipients,
                    str(user_id),
                )
            }
            for text in found.values():
                forgetting = forgetting.learn(parse_json(text), keys)
            needles = sorted(forgetting.emails | {n.lower() for n in forgetting.names})
            if needles:
                for r in await conn.fetch(
                    """
                    SELECT event_id, recipient, envelope FROM notifications.sent_log s
                     WHERE envelope IS NOT NULL
                       AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(needle)
                                    WHERE strpos(lower(s.envelope), n.needle) > 0)
                    """,
                    needles,
                ):
                    found[(r["event_id"], r["recipient"])] = r["envelope"]
            closed = await conn.fetch(
                """
                WITH theirs AS (
                    SELECT event_id, recipient, status FROM notifications.sent_log
                     WHERE user_id = $1 OR recipient = ANY($2::text[])
                       FOR UPDATE
                )
                UPDATE notifications.sent_log s
                   SET status = CASE WHEN s.status = 'pending' THEN 'forgotten' ELSE s.status END,
                       envelope = NULL, error = NULL, user_id = $1, updated_at = now()
                  FROM theirs
                 WHERE s.event_id = theirs.event_id AND s.recipient = theirs.recipient
                RETURNING s.event_id, s.recipient, theirs.status AS was
                """,
                user_id,
                recipients,
            )
            gone = {(r["event_id"], r["recipient"]) for r in closed}
            rewrites = []
            for key, text in found.items():
                if key in gone:
                    continue
                before = parse_json(text)
                after = pseudonymise(before, forgetting, keys)
                if after != before:
                    rewrites.append((key, _dump(after)))
            if rewrites:
                await conn.execute(
                    """
                    UPDATE notifications.sent_log s SET envelope = u.envelope, updated_at = now()
                      FROM unnest($1::uuid[], $2::text[], $3::text[])
                           AS u(event_id, recipient, envelope)
                     WHERE s.event_id = u.event_id AND s.recipient = u.recipient
                    """,
                    [key[0] for key, _ in rewrites],
                    [key[1] for key, _ in rewrites],
                    [text for _, text in rewrites],
                )
        return Forgotten(
            closed=len(closed),
            dropped=sum(r["was"] == "pending" for r in closed),
            rewritten=len(rewrites),
        )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


