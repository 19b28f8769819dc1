"""Writing a folded batch into the read models: every table's writer, in dependency order.

Rows first (users, groups, chargers, shares, invitations), then the history that joins
invitations, then the access rows recomputed from the tables just written, and last the
scrubbing of anyone the batch forgot.

A rebuild writes into fresh staging tables, each position once, so the rows a batch
creates (a user, group, charger or invitation is created by its aggregate's first event,
which the store holds once) are new to their table: they go in by COPY, under a
savepoint. Should one exist after all, the savepoint is rolled back and the batch's
created rows go in by upsert instead, as the live projection writes them.
"""

from __future__ import annotations

import logging

import asyncpg

from services.access.projection.forgetting import scrub_forgotten
from services.access.projection.rows import BatchChanges
from services.access.projection.sql import Connection
from services.access.projection.tables.access import Marks, recompute_access
from services.access.projection.tables.charge_keys import write_charge_keys
from services.access.projection.tables.chargers import (
    copy_new_chargers,
    patch_chargers,
    write_chargers,
)
from services.access.projection.tables.groups import copy_groups, write_groups, write_members
from services.access.projection.tables.history import copy_history, write_history
from services.access.projection.tables.invitations import (
    copy_new_invitations,
    patch_invitations,
    write_invitations,
)
from services.access.projection.tables.shares import write_shares
from services.access.projection.tables.users import copy_users, write_users

log = logging.getLogger(__name__)


async def write_changes(
    conn: Connection, changes: BatchChanges, schema: str, *, defer_access: bool = False,
    marks: Marks | None = None,
) -> None:
    """Apply the net row changes; the caller holds the transaction.

    `defer_access` is a rebuild's mode: created rows and history rows are copied in
    rather than upserted (the staging tables start empty and each position is applied
    once). The access rows are still recomputed as they change, since `access_history`
    records each change where it happened; the rebuild checks the whole table at the end.
    """
    s = schema
    if defer_access:
        await _write_rebuilt_rows(conn, s, changes)
        await copy_history(conn, s, changes)
    else:
        await _write_rows(conn, s, changes)
        await write_history(conn, s, changes)
    await recompute_access(conn, s, changes, marks)
    for forgotten in changes.forgotten:
        await scrub_forgotten(conn, s, forgotten)


async def _write_rows(conn: Connection, s: str, c: BatchChanges) -> None:
    await write_users(conn, s, c)
    await write_groups(conn, s, c)
    await write_chargers(conn, s, c)
    await write_shares(conn, s, c)
    await write_invitations(conn, s, c)
    await write_charge_keys(conn, s, c)


async def _write_rebuilt_rows(conn: Connection, s: str, c: BatchChanges) -> None:
    try:
        async with conn.transaction():  # a savepoint inside the batch's transaction
            await copy_users(conn, s, c)
            await copy_groups(conn, s, c)
            await copy_new_chargers(conn, s, c)
            await copy_new_invitations(conn, s, c)
    except asyncpg.UniqueViolationError as error:
        log.warning("rebuild: a created row already existed (%s); upserting this batch", error)
        await _write_rows(conn, s, c)
        return
    await write_members(conn, s, c)
    await patch_chargers(conn, s, c)
    await write_shares(conn, s, c)
    await patch_invitations(conn, s, c)
    await write_charge_keys(conn, s, c)
