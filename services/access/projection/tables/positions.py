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
from uuid import UUID

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
"""The events the timeline's directory takes a name from (`directory.NAMING_TYPES`,
checked equal by a unit test), by the field naming whose name it is: `name_positions`
keeps only those, so the timeline finds what names its page's ids without reading every
event an id's owner ever acted in (`id_positions` also holds actors)."""

def email_digest(email: str) -> str:
    """The index's key for an address: its normalised form's SHA-256 (hex)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def named_emails(data: Any) -> set[str]:
    """Every value of an `email` field at any depth (the timeline's rule), as it stands
    (the projection's reader leaves most of them sealed, `records.KEPT_PERSONAL`), but
    for those beside a `user_id`: that is the person's own address (a registration, a
    `Person` with an account), and the event names their id, which finds it."""
    emails: set[str] = set()
    _walk(data, set(), emails)
    return emails


def named_ids(data: Any) -> set[str]:
    """Every id the event's data names in an id field, at any depth."""
    ids: set[str] = set()
    _walk(data, ids, set())
    return ids


def _walk(data: Any, ids: set[str], emails: set[str]) -> None:
    """`named_ids` and `named_emails` in one walk of the data: they were two walks of
    every event, a fifth of the projection's Python in a rebuild (py-spy, 6 Dec)."""
    if isinstance(data, list):
        for item in data:
            _walk(item, ids, emails)
    elif isinstance(data, dict):
        has_user: bool | None = None
        for key, item in data.items():
            if key in ID_KEYS:
                if item is not None:
                    if isinstance(item, list):
                        ids.update(_text(one) for one in item)
                    else:
                        ids.add(_text(item))
            elif key == "email" and isinstance(item, str):
                if has_user is None:
                    has_user = data.get("user_id") is not None
                if not has_user:
                    emails.add(item)
            elif isinstance(item, dict | list):
                _walk(item, ids, emails)


_UUID_TEXT: dict[int, str] = {}
_UUID_TEXT_MAX = 10_000
"""Ids as text, by their number: a batch names the same chargers, groups and actors
many times, and `str(UUID)` formats in Python each time (8 % of the projection's Python
in a rebuild went to it for these rows). Bounded to a few batches' ids (~2 MB: the
projection's process keeps it for good), cleared when full."""


def _text(value: Any) -> str:
    if value.__class__ is UUID:
        text = _UUID_TEXT.get(value.int)
        if text is None:
            if len(_UUID_TEXT) >= _UUID_TEXT_MAX:
                _UUID_TEXT.clear()
            text = _UUID_TEXT[value.int] = str(value)
        return text
    return str(value)


def _id_rows(events: Iterable[Foldable], named: Sequence[set[str]]) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for e, ids in zip(events, named, strict=True):
        if e.head.actor:
            ids.add(e.head.actor)
        rows.extend((one, e.position) for one in ids)
    return rows


def _name_rows(events: Iterable[Foldable]) -> list[tuple[str, int]]:
    return [(_text(e.data[field]), e.position) for e in events
            if (field := NAME_SUBJECTS.get(e.head.type)) is not None
            and e.data.get(field) is not None]


async def _email_rows(
    conn: Connection, named: Sequence[tuple[int, set[str]]]
) -> list[tuple[str, int]]:
    """(digest, position) of each address an event names (`named`: position, addresses),
    read as the log reads it now (sealed ones opened: the live projection's reader and a
    rebuild's differ in which they open), so the rows are the same however the events
    were read."""
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
    ids: list[set[str]] = []
    addresses: list[tuple[int, set[str]]] = []
    for e in events:
        ids.append(set())
        addresses.append((e.position, set()))
        _walk(e.data, ids[-1], addresses[-1][1])
    emails = await _email_rows(conn, addresses)
    await conn.execute(
        render(_INSERT, s),
        *columns([(e.position, e.head.time, e.head.type) for e in events], 3),
        *columns(_id_rows(events, ids), 2), *columns(_name_rows(events), 2),
        *columns(emails, 2))
