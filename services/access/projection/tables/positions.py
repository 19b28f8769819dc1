"""The log's indexes for auditors: when each position happened, and which ids it names.

`log_positions` (position → time, type) answers "the last position at or before T" and
"was this charger or user registered by T" without reading the log; `id_positions`
(id → positions) lists the events that name an id (any of the fields the timeline
reads, and the actor), so an auditor reads those events only; `name_positions` (id → the
positions of the events that give its name, `NAME_SUBJECTS`); `email_positions` (the
SHA-256 of a normalised address → positions) the events naming an e-mail address, which
is how a user's timeline finds the invitations sent to their address. A forgotten
person's pseudonymous address is not indexed (it only ever stands in events that name
the person's id), and their address's rows go with their data (`forgetting.py`), so a
rebuild, which reads the pseudonyms, writes the same rows. Each is written once per
batch, all four in one statement, and re-applied batches change nothing (ON CONFLICT).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from charger_access_client.text import normalise_email
from services.access.domain.pseudonyms import is_pseudonymous_email
from services.access.eventlog.unsealing import BatchKeys, sealed_subject_hex
from services.access.projection.changes import Foldable
from services.access.projection.sql import Connection, render
from services.access.projection.tables.arrays import columns

ID_KEYS = frozenset({"charger_id", "charger_ids", "user_id", "owner_id", "from_owner_id",
                     "group_id", "from_group_id", "to_group_id", "invitation_id"})
"""The data fields that name an id (the timeline's `_KEYS`, checked equal by a unit test)."""

_INSERT = """
    WITH times AS (
        INSERT INTO {s}.log_positions (position, time, type)
        SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[])
        ON CONFLICT (position) DO NOTHING
    ), ids AS (
        INSERT INTO {s}.id_positions (id, position)
        SELECT * FROM unnest($4::text[], $5::bigint[])
        ON CONFLICT (id, position) DO NOTHING
    ), names AS (
        INSERT INTO {s}.name_positions (id, position)
        SELECT * FROM unnest($6::text[], $7::bigint[])
        ON CONFLICT (id, position) DO NOTHING
    )
    INSERT INTO {s}.email_positions (email_digest, position)
    SELECT * FROM unnest($8::text[], $9::bigint[])
    ON CONFLICT (email_digest, position) DO NOTHING"""
"""The four indexes in one statement: one round trip a batch, not four (each waited on a
busy event loop, 2-8 ms apiece at P2's load)."""

NAME_SUBJECTS = {
    "UserRegistered": "user_id", "UserForgotten": "user_id", "GroupCreated": "group_id",
    "ChargerRegistered": "charger_id", "UserInvited": "invitation_id",
    "InvitationResent": "invitation_id", "ChargeKeyAdded": "user_id",
}
"""The events the timeline's directory takes a name from (`sentences.NAMING_TYPES`,
checked equal by a unit test), by the field naming whose name it is: `name_positions`
keeps only those, so the timeline finds what names its page's ids without reading every
event an id's owner ever acted in (`id_positions` also holds actors)."""

def email_digest(email: str) -> str:
    """The index's key for an address: its normalised form's SHA-256 (hex)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def named_emails(data: Any, found: set[str] | None = None) -> set[str]:
    """Every value of an `email` field at any depth (the timeline's rule), as it stands
    (the projection's reader leaves most of them sealed, `records.KEPT_PERSONAL`), but
    for those beside a `user_id`: that is the person's own address (a registration, a
    `Person` with an account), and the event names their id, which finds it."""
    found = set() if found is None else found
    if isinstance(data, list):
        for item in data:
            named_emails(item, found)
    elif isinstance(data, dict):
        has_user = data.get("user_id") is not None
        for key, item in data.items():
            if key in ID_KEYS:
                continue
            if key == "email" and isinstance(item, str):
                if not has_user:
                    found.add(item)
            else:
                named_emails(item, found)
    return found


def named_ids(data: Any, found: set[str] | None = None) -> set[str]:
    """Every id the event's data names in an id field, at any depth."""
    found = set() if found is None else found
    if isinstance(data, list):
        for item in data:
            named_ids(item, found)
    elif isinstance(data, dict):
        for key, item in data.items():
            if key in ID_KEYS and item is not None:
                found.update(str(one) for one in (item if isinstance(item, list) else [item]))
            else:
                named_ids(item, found)
    return found


def _id_rows(events: Iterable[Foldable]) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for e in events:
        ids = named_ids(e.data)
        if e.head.actor:
            ids.add(e.head.actor)
        rows.extend((one, e.position) for one in ids)
    return rows


def _name_rows(events: Iterable[Foldable]) -> list[tuple[str, int]]:
    return [(str(e.data[field]), e.position) for e in events
            if (field := NAME_SUBJECTS.get(e.head.type)) is not None
            and e.data.get(field) is not None]


async def _email_rows(conn: Connection, events: Sequence[Foldable]) -> list[tuple[str, int]]:
    """(digest, position) of each address an event names, read as the log reads it now
    (sealed ones opened: the live projection's reader and a rebuild's differ in which
    they open), so the rows are the same however the events were read."""
    named = [(e.position, named_emails(e.data)) for e in events]
    keys = await BatchKeys.fetch(conn, {subject for _, values in named for value in values
                                        if (subject := sealed_subject_hex(value)) is not None})
    rows: set[tuple[str, int]] = set()
    for position, values in named:
        for value in values:
            email = keys.open(value, "email")
            if email is not None and not is_pseudonymous_email(email):
                rows.add((email_digest(email), position))
    return sorted(rows)


async def write_positions(conn: Connection, s: str, events: Sequence[Foldable]) -> None:
    """Index a batch's events: their times and types, the ids and the addresses each names."""
    if not events:
        return
    emails = await _email_rows(conn, events)
    await conn.execute(
        render(_INSERT, s),
        *columns([(e.position, e.head.time, e.head.type) for e in events], 3),
        *columns(_id_rows(events), 2), *columns(_name_rows(events), 2), *columns(emails, 2))
