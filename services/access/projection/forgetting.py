"""Dropping a forgotten person's data from the read models.

The log itself already reads them as a pseudonym (their key is gone), so a rebuild
produces clean tables; this is for the rows written while their data was readable. Their
old values are replaced wherever a row may hold them: their user row, their personal
group's name, invitations to their address, names or addresses quoted in history, the
timeline's index of their address (`email_positions`: a rebuild reads those events'
addresses as pseudonyms, which are not indexed), and any charge key still listed for them.
"""

from __future__ import annotations

import json

from charger_access_client.access_events import UserForgotten
from services.access.projection.sql import Connection, render
from services.access.projection.tables.positions import email_digest


def _quoted(value: str) -> str:
    """How jsonb prints a string value (with its quotes), to replace whole values only."""
    return json.dumps(value, ensure_ascii=False)


_UNINDEX_EMAIL = """
    DELETE FROM {s}.email_positions
    WHERE email_digest = $1 AND position < (
        SELECT max(i.position) FROM {s}.id_positions i JOIN {s}.log_positions l USING (position)
        WHERE i.id = $2 AND l.type = 'UserForgotten')"""
"""Only the rows before the forgetting (indexed with its batch, before this runs): a later
event may name the address again, sealed under a fresh subject."""


async def scrub_forgotten(conn: Connection, schema: str, event: UserForgotten) -> None:
    old = await conn.fetchrow(
        render("SELECT email, name, phone FROM {s}.users WHERE user_id = $1", schema),
        event.user_id)
    if old is not None:
        replacements = [(old["email"], event.pseudonym_email), (old["name"], event.pseudonym_name),
                        (old["phone"], None)]
        await conn.execute(render(
            "UPDATE {s}.invitations SET email = $2 WHERE lower(email) = lower($1)", schema),
            old["email"], event.pseudonym_email)
        await conn.execute(render(_UNINDEX_EMAIL, schema), email_digest(old["email"]),
                           str(event.user_id))
        for value, stand_in in replacements:
            # Unequal only for rows written while the data was readable: a rebuild reads
            # the forgotten as their pseudonyms already, and each statement is a scan.
            if value and value != stand_in:
                await conn.execute(render(
                    "UPDATE {s}.charger_history SET details = "
                    "replace(details::text, $1, $2)::jsonb WHERE strpos(details::text, $1) > 0",
                    schema), _quoted(value), _quoted(stand_in) if stand_in else "null")
    await conn.execute(render("DELETE FROM {s}.charge_keys WHERE user_id = $1", schema),
                       event.user_id)
    await conn.execute(render(
        "UPDATE {s}.groups SET name = $2 WHERE personal AND owner_id = $1", schema),
        event.user_id, event.pseudonym_name)
    await conn.execute(render(
        "UPDATE {s}.users SET email = $2, name = $3, phone = NULL WHERE user_id = $1", schema),
        event.user_id, event.pseudonym_email, event.pseudonym_name)
